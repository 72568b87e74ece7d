"""Agent versions: every behaviour change is an immutable snapshot; list, get, restore."""

import pytest

from accounts.tests.factories import UserFactory
from agents.models import AgentVersion, LLMProvider
from agents.services import agent_version_record
from agents.tests.factories import AgentFactory
from morpheus.services import model_save_changed
from tenants.tests.cross_tenant import Action, ResourceMatrix
from testsupport.api import assert_error, assert_only_row, assert_success

pytestmark = pytest.mark.django_db

URL = "/api/v1/agents"


def versions_url(agent_id) -> str:
    return f"{URL}/{agent_id}/versions"


@pytest.fixture
def agent_id(alice_client):
    body = {"name": "Support", "systemPrompt": "Be kind.", "firstMessage": "Hello!"}
    return assert_success(alice_client.post(URL, body, format="json"), 201)["id"]


def test_creating_an_agent_records_version_1_by_its_author(alice_client, alice, agent_id):
    listed = alice_client.get(versions_url(agent_id))
    version = assert_only_row(listed, "Agent versions retrieved successfully", "versions")
    assert version["number"] == 1 and version["agentId"] == agent_id
    assert version["createdBy"] == {"id": str(alice.id), "name": "Alice", "email": "alice@example.com"}
    assert (version["restoredFrom"], version["testVerdict"]) == (None, "")

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


class TestAgentVersionsMatrix(ResourceMatrix):
    """An agent's versions. The agent is the tenant's row: another tenant's agent is the
    agent's 404 for its list, each version and restore alike."""

    list_key = "versions"
    not_found_label = "Agent"
    actions = {
        "list": Action("get", on="list", message="Agent versions retrieved successfully"),
        # The same list, addressed through the agent, for the cross-tenant checks.
        "agent_list": Action("get", suffix="/versions", message="Agent versions retrieved successfully"),
        "retrieve": Action("get", suffix="/versions/1", message="Agent version retrieved successfully"),
        "restore": Action(
            "post", suffix="/versions/1/restore", status=201, message="Agent version restored successfully"
        ),
    }
    # Every role restores a version, as every role edits agents.

    def make_object(self, customer):
        AgentFactory(customer=customer)  # a sibling, whose versions the list must not show
        agents = self.__dict__.setdefault("_agents", {})
        agents[customer.pk] = AgentFactory(customer=customer)
        return agents[customer.pk]

    def detail_url(self, agent) -> str:
        return f"{URL}/{agent.pk}"

    def list_path(self, customer) -> str:
        return versions_url(self._agents[customer.pk].pk)

    def list_id(self, obj):
        return (obj.agent_id, obj.number) if isinstance(obj, AgentVersion) else (obj.pk, 1)

    def row_id(self, row: dict):
        return (row["agentId"], row["number"])

    def make_row(self, customer, index):
        """Version 1 of a new agent, then versions of it by alternating authors."""
        if index == 0:
            return self.make_object(customer).versions.get(number=1)
        agent = self._agents[customer.pk]
        agent.system_prompt = f"Prompt {index}"
        model_save_changed(agent, ["system_prompt"])
        author = UserFactory(customer=customer) if index % 2 else None
        return agent_version_record(agent=agent, actor=author)

    def tenant_rows(self, obj, customer) -> list[dict]:
        versions = AgentVersion.objects.filter(customer=customer).order_by("pk").values()
        return [*super().tenant_rows(obj, customer), *versions]

    def check_data(self, name, data, obj, customer) -> None:
        super().check_data(name, data, obj, customer)
        if name in ("list", "agent_list"):
            assert {row["agentId"] for row in data["versions"]} == {obj.pk}, data
        if name == "restore":
            assert (data["agentId"], data["number"], data["restoredFrom"]) == (obj.pk, 2, 1), data
