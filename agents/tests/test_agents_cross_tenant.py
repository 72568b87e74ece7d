"""The cross-tenant matrix for /agents: another tenant's agent is a 404 on every
route, exactly like a missing one, and nothing of it changes or leaks."""

import pytest

from agents.models import Agent, STTProvider, TTSProvider
from agents.tests.factories import AgentFactory
from telephony.tests.factories import PhoneNumberFactory
from tenants.tests.cross_tenant import Action, ResourceMatrix
from testsupport.api import assert_error, assert_success

pytestmark = pytest.mark.django_db

URL = "/api/v1/agents"


class TestAgentsMatrix(ResourceMatrix):
    list_url = URL
    list_key = "agents"
    not_found_label = "Agent"
    actions = {
        "list": Action("get", on="list", message="Agents retrieved successfully"),
        "create": Action(
            "post", on="list", payload={"name": "Built"}, status=201, message="Agent created successfully"
        ),
        "retrieve": Action("get", message="Agent retrieved successfully"),
        "update": Action(
            "patch", payload={"name": "Hijacked", "status": "paused"}, message="Agent updated successfully"
        ),
        "delete": Action("delete", message="Agent deleted successfully"),
    }
    # Every role builds agents (detaching phone numbers is managers' only: test_agents_api).

    def make_object(self, customer):
        return AgentFactory(customer=customer, name="Secret agent")

    def make_row(self, customer, index):
        # Two providers of each kind: the list joins each agent's provider names.
        pick = 1 + index % 2
        return AgentFactory(
            customer=customer,
            stt_provider=STTProvider.objects.get(pk=pick),
            tts_provider=TTSProvider.objects.get(pk=pick),
        )

    def check_data(self, name, data, obj, customer):
        super().check_data(name, data, obj, customer)
        if name == "update":
            assert (data["name"], data["status"]) == ("Hijacked", "paused")
        if name == "delete":
            assert not Agent.objects.filter(pk=obj.pk).exists()


@pytest.fixture
def alices_agent(customer_a, alice):
    agent = AgentFactory(customer=customer_a, name="Alice's secret agent")
    PhoneNumberFactory(customer=customer_a, agent=agent)
    return agent


def test_detaching_numbers_of_another_tenants_agent_is_a_404(bob_client, alices_agent):
    before = Agent.objects.filter(pk=alices_agent.pk).values().get()
    response = bob_client.delete(f"{URL}/{alices_agent.id}?detachNumbers=true")
    assert_error(response, 404, f"Agent with ID {alices_agent.id} does not exist")
    assert Agent.objects.filter(pk=alices_agent.pk).values().get() == before
    assert alices_agent.phone_numbers.count() == 1


def test_searching_never_finds_another_tenants_agent(bob_client, alices_agent):
    assert assert_success(bob_client.get(f"{URL}?search=secret"))["agents"] == []


def test_an_agent_is_always_created_in_the_callers_tenant(alice_client, customer_a, customer_b):
    body = {"name": "Mine", "customerId": str(customer_b.id), "customer": str(customer_b.id)}
    data = assert_success(alice_client.post(URL, body, format="json"), 201)
    assert data["customerId"] == str(customer_a.id)
    assert Agent.objects.get(pk=data["id"]).customer_id == customer_a.id


def test_an_update_cannot_move_an_agent_to_another_tenant(alice_client, alices_agent, customer_a, customer_b):
    assert_success(alice_client.patch(f"{URL}/{alices_agent.id}", {"customerId": str(customer_b.id)}, format="json"))
    alices_agent.refresh_from_db()
    assert alices_agent.customer_id == customer_a.id
