"""Agent versions: every behaviour change is an immutable snapshot; list, get, restore."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import AgentVersion, LLMProvider
from agents.tests.factories import AgentFactory
from tenants.tests.cross_tenant import CrossTenantMatrix
from testsupport.api import assert_error, assert_success

pytestmark = pytest.mark.django_db

URL = "/api/v1/agents"


def versions_url(agent_id) -> str:
    return f"{URL}/{agent_id}/versions"


@pytest.fixture
def agent_id(alice_client):
    body = {"name": "Support", "systemPrompt": "Be kind.", "firstMessage": "Hello!"}
    return assert_success(alice_client.post(URL, body, format="json"), 201)["id"]


def test_creating_an_agent_records_version_1_by_its_author(alice_client, alice, agent_id):
    data = assert_success(alice_client.get(versions_url(agent_id)), 200, "Agent versions retrieved successfully")
    [version] = data["versions"]
    assert version["number"] == 1 and version["agentId"] == agent_id
    assert version["createdBy"] == {"id": str(alice.id), "name": "Alice", "email": "alice@example.com"}
    assert (version["restoredFrom"], version["testVerdict"]) == (None, "")
    assert data["pagination"] == {"page": 1, "limit": 10, "total": 1, "totalPages": 1}

    detail = assert_success(
        alice_client.get(f"{versions_url(agent_id)}/1"), 200, "Agent version retrieved successfully"
    )
    assert detail["snapshot"]["systemPrompt"] == "Be kind."
    assert detail["snapshot"]["firstMessage"] == "Hello!"
    assert detail["snapshot"]["llmProviderId"] == LLMProvider.objects.order_by("id").first().pk
    assert "name" not in detail["snapshot"] and "status" not in detail["snapshot"]


def test_only_behaviour_changes_make_a_new_version(alice_client, agent_id):
    assert_success(alice_client.patch(f"{URL}/{agent_id}", {"name": "Renamed", "description": "x"}, format="json"))
    assert AgentVersion.objects.filter(agent_id=agent_id).count() == 1

    assert_success(alice_client.patch(f"{URL}/{agent_id}", {"systemPrompt": "Be brief."}, format="json"))
    assert_success(alice_client.patch(f"{URL}/{agent_id}", {"systemPrompt": "Be brief."}, format="json"))  # no-op
    assert_success(alice_client.patch(f"{URL}/{agent_id}", {"functions": []}, format="json"))  # unchanged

    data = assert_success(alice_client.get(versions_url(agent_id)), 200)
    assert [v["number"] for v in data["versions"]] == [2, 1]
    assert AgentVersion.objects.get(agent_id=agent_id, number=2).snapshot["system_prompt"] == "Be brief."
    # Version 1 is unchanged: versions are immutable.
    assert AgentVersion.objects.get(agent_id=agent_id, number=1).snapshot["system_prompt"] == "Be kind."


def test_restoring_a_version_makes_a_new_one_equal_to_it(alice_client, agent_id):
    body = {"systemPrompt": "Be rude.", "llmTemperature": 1.5}
    assert_success(alice_client.patch(f"{URL}/{agent_id}", body, format="json"))

    data = assert_success(
        alice_client.post(f"{versions_url(agent_id)}/1/restore"), 201, "Agent version restored successfully"
    )

    assert (data["number"], data["restoredFrom"]) == (3, 1)
    v1, v3 = (AgentVersion.objects.get(agent_id=agent_id, number=n) for n in (1, 3))
    assert v3.snapshot == v1.snapshot
    agent = assert_success(alice_client.get(f"{URL}/{agent_id}"))
    assert (agent["systemPrompt"], agent["llmTemperature"]) == ("Be kind.", 0.7)


def test_restoring_an_unknown_version_is_a_404_and_changes_nothing(alice_client, agent_id):
    assert_error(
        alice_client.post(f"{versions_url(agent_id)}/9/restore"), 404, f"Version 9 of agent {agent_id} does not exist"
    )
    assert_error(alice_client.get(f"{versions_url(agent_id)}/9"), 404, f"Version 9 of agent {agent_id} does not exist")
    assert AgentVersion.objects.filter(agent_id=agent_id).count() == 1


def test_restoring_a_version_whose_provider_was_disabled_is_a_400(alice_client, agent_id):
    other = LLMProvider.objects.create(name="Old LLM", vendor="openai", default_model="m1")
    assert_success(alice_client.patch(f"{URL}/{agent_id}", {"llmProviderId": other.pk}, format="json"))
    assert_success(alice_client.patch(f"{URL}/{agent_id}", {"llmProviderId": 1}, format="json"))
    other.is_active = False
    other.save()

    body = assert_error(alice_client.post(f"{versions_url(agent_id)}/2/restore"), 400, "Validation failed")

    assert body["errors"][0]["field"] == "llmProviderId"
    assert AgentVersion.objects.filter(agent_id=agent_id).count() == 3


def test_an_admin_edit_is_a_version_too(agent_id):
    from agents.models import Agent
    from agents.services import agent_version_record

    agent = Agent.objects.get(pk=agent_id)
    agent.first_message = "Edited in the admin"
    agent.save()
    assert agent_version_record(agent=agent).number == 2


def test_the_list_costs_the_same_queries_however_many_versions(alice_client, agent_id):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert_success(alice_client.get(versions_url(agent_id)))
        return len(queries)

    few = count()
    for n in range(5):
        alice_client.patch(f"{URL}/{agent_id}", {"systemPrompt": f"Prompt {n}"}, format="json")
    assert count() == few


class TestAgentVersionsCrossTenant(CrossTenantMatrix):
    # The agent is the tenant's object here: its versions answer exactly like the agent.
    list_url = URL
    not_found_label = "Agent"
    detail_requests = {"get": None}

    def make_object(self, customer):
        return AgentFactory(customer=customer)

    def detail_url(self, obj, agent_id=None) -> str:
        return f"{versions_url(agent_id or obj.pk)}/1"

    def test_an_unknown_id_gets_the_same_404(self, method, bob_client, alice, customer_a):
        victim = self.make_object(customer_a)
        missing = self.missing_id(victim)
        response = self.send(bob_client, method, self.detail_url(victim, agent_id=missing))
        assert_error(response, 404, f"Agent with ID {missing} does not exist")


class TestAgentVersionListCrossTenant(TestAgentVersionsCrossTenant):
    def detail_url(self, obj, agent_id=None) -> str:
        return versions_url(agent_id or obj.pk)


class TestAgentVersionRestoreCrossTenant(TestAgentVersionsCrossTenant):
    detail_requests = {"post": None}
    owner_statuses = {"post": 201}

    def detail_url(self, obj, agent_id=None) -> str:
        return f"{versions_url(agent_id or obj.pk)}/1/restore"

    def tenant_rows(self, obj, customer):
        return [*super().tenant_rows(obj, customer), AgentVersion.objects.filter(customer=customer).count()]


def test_calls_record_the_version_they_ran(alice_client, agent_id, livekit_server, customer_a):
    from calls.services import call_start_inbound
    from telephony.tests.factories import PhoneNumberFactory

    assert_success(alice_client.patch(f"{URL}/{agent_id}", {"systemPrompt": "v2"}, format="json"))
    number = PhoneNumberFactory(customer=customer_a, agent_id=agent_id)

    call, created = call_start_inbound(
        phone_number=number, carrier="twilio", carrier_call_id="CA1", from_number="+15550001", to_number="+15550002"
    )

    assert created and call.agent_version.number == 2
    assert assert_success(alice_client.get(f"/api/v1/calls/{call.pk}"))["agentVersion"] == 2
