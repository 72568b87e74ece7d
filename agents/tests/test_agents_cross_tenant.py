"""The cross-tenant matrix for /agents: another tenant's agent is a 404 on every
route, exactly like a missing one, and nothing of it changes or leaks."""

import pytest

from agents.models import Agent
from agents.tests.factories import AgentFactory
from morpheus.testing import assert_error, assert_success
from telephony.tests.factories import PhoneNumberFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/agents"

ROUTES = [
    ("get", "{url}/{id}", None),
    ("patch", "{url}/{id}", {"name": "Hijacked", "status": "paused"}),
    ("patch", "{url}/{id}", {}),
    ("delete", "{url}/{id}", None),
    ("delete", "{url}/{id}?detachNumbers=true", None),
]


@pytest.fixture
def alices_agent(customer_a, alice):
    agent = AgentFactory(customer=customer_a, name="Alice's secret agent")
    PhoneNumberFactory(customer=customer_a, agent=agent)
    return agent


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_another_tenants_agent_is_a_404(bob_client, alices_agent, method, path, body):
    before = Agent.objects.filter(pk=alices_agent.pk).values().get()
    url = path.format(url=URL, id=alices_agent.id)
    response = (
        getattr(bob_client, method)(url, body, format="json") if body is not None else getattr(bob_client, method)(url)
    )
    assert_error(response, 404, f"Agent with ID {alices_agent.id} does not exist")
    assert Agent.objects.filter(pk=alices_agent.pk).values().get() == before
    assert alices_agent.phone_numbers.count() == 1


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_the_404_is_the_same_as_for_a_missing_agent(bob_client, alices_agent, method, path, body):
    missing = alices_agent.id + 1000
    url = path.format(url=URL, id=missing)
    response = (
        getattr(bob_client, method)(url, body, format="json") if body is not None else getattr(bob_client, method)(url)
    )
    assert_error(response, 404, f"Agent with ID {missing} does not exist")


def test_lists_never_leak(bob_client, alice_client, alices_agent, customer_b):
    bobs = AgentFactory(customer=customer_b, name="Bob's agent")
    data = assert_success(bob_client.get(URL))
    assert [a["id"] for a in data["agents"]] == [bobs.id]
    assert data["pagination"]["total"] == 1
    assert assert_success(bob_client.get(f"{URL}?search=secret"))["agents"] == []
    assert [a["id"] for a in assert_success(alice_client.get(URL))["agents"]] == [alices_agent.id]


def test_an_agent_is_always_created_in_the_callers_tenant(alice_client, customer_a, customer_b):
    body = {"name": "Mine", "customerId": str(customer_b.id), "customer": str(customer_b.id)}
    data = assert_success(alice_client.post(URL, body, format="json"), 201)
    assert data["customerId"] == str(customer_a.id)
    assert Agent.objects.get(pk=data["id"]).customer_id == customer_a.id


def test_an_update_cannot_move_an_agent_to_another_tenant(alice_client, alices_agent, customer_a, customer_b):
    assert_success(alice_client.patch(f"{URL}/{alices_agent.id}", {"customerId": str(customer_b.id)}, format="json"))
    alices_agent.refresh_from_db()
    assert alices_agent.customer_id == customer_a.id
