"""Test cases: CRUD under the agent, validation that refuses what could never be evaluated,
tenant isolation and constant-query lists."""

import pytest

from agents.selectors import agent_version_current
from agents.services import agent_version_record
from agents.tests.factories import AgentFactory
from evaluations import services
from evaluations.models import TestCase, TestRun
from morpheus.services import model_save_changed
from tenants.tests.cross_tenant import Action, CrossTenantMatrix, ResourceMatrix, crud_actions
from testsupport.api import assert_error, assert_success

pytestmark = pytest.mark.django_db

CASE = {
    "name": "Order status",
    "turns": [
        {
            "user": "Where is order A1?",
            "expect": {
                "toolCall": {"name": "lookup_order", "arguments": {"orderId": "A1"}},
                "contains": ["shipped"],
                "notContains": ["sorry"],
                "regex": r"ship+ed",
                "judge": "Says the order shipped",
            },
        }
    ],
    "toolMocks": [{"tool": "lookup_order", "match": {"orderId": "A1"}, "result": {"status": "shipped"}}],
    "variables": {"customer_name": "Grace"},
}


def cases_url(agent) -> str:
    return f"/api/v1/agents/{agent.pk}/test-cases"


def test_it_creates_reads_updates_and_deletes_a_case(alice_client, agent):
    created = assert_success(
        alice_client.post(cases_url(agent), CASE, format="json"), 201, "Test case created successfully"
    )
    case = TestCase.objects.get()
    assert created == {
        "id": case.pk,
        "agentId": agent.pk,
        "name": "Order status",
        "kind": "scripted",
        "turns": CASE["turns"],
        "toolMocks": CASE["toolMocks"],
        "variables": {"customer_name": "Grace"},
        "simulatedCaller": None,
        "createdAt": created["createdAt"],
        "updatedAt": created["updatedAt"],
    }
    got = assert_success(alice_client.get(f"/api/v1/test-cases/{case.pk}"), 200, "Test case retrieved successfully")
    assert got == created

    caller = {"persona": "A hurried parent", "goal": "Book a cleaning for Monday", "maxTurns": 4}
    updated = assert_success(
        alice_client.patch(
            f"/api/v1/test-cases/{case.pk}", {"name": "Booking", "simulatedCaller": caller}, format="json"
        ),
        200,
        "Test case updated successfully",
    )
    assert (updated["name"], updated["kind"], updated["turns"]) == ("Booking", "simulated", [])
    assert updated["simulatedCaller"] == caller

    listed = assert_success(alice_client.get(cases_url(agent)), 200, "Test cases retrieved successfully")
    assert [c["id"] for c in listed["testCases"]] == [case.pk]

    assert_success(alice_client.delete(f"/api/v1/test-cases/{case.pk}"), 200, "Test case deleted successfully")
    assert not TestCase.objects.exists()


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"turns": []}, "turns", "Add at least one turn: {user, expect}"),
        ({"turns": [{"user": " "}]}, "turns.0.user", "This field may not be blank."),
        ({"turns": [{"user": "hi", "expect": {"regex": "(unclosed"}}]}, "turns.0.expect.regex", None),
        (
            {"turns": [{"user": "hi", "expect": {"judge": "  "}}]},
            "turns.0.expect.judge",
            "Describe what the reply must achieve for the judge to evaluate it",
        ),
        ({"turns": [{"user": "hi", "expect": {"toolCall": {"name": "refund"}}}]}, "turns.0.expect.toolCall.name", None),
        ({"turns": [{"user": "hi", "expect": {"sounds": "nice"}}]}, "turns.0.expect", None),
        ({"turns": [{"user": "hi", "expect": {"contains": []}}]}, "turns.0.expect.contains", None),
        ({"toolMocks": [{"tool": "refund", "result": 1}]}, "toolMocks.0.tool", None),
        ({"toolMocks": [{"tool": "end_call", "result": 1}]}, "toolMocks.0.tool", None),
        ({"toolMocks": [{"tool": "lookup_order"}]}, "toolMocks.0.result", "This field is required."),
        ({"variables": {"1bad": "x"}}, "variables.1bad", None),
        ({"simulatedCaller": {"persona": "x", "goal": "", "maxTurns": 3}}, "simulatedCaller.goal", None),
        ({"simulatedCaller": {"persona": "x", "goal": "y", "maxTurns": 99}}, "simulatedCaller.maxTurns", None),
    ],
)
def test_cases_that_cannot_be_evaluated_are_refused(alice_client, agent, change, field, message):
    body = assert_error(
        alice_client.post(cases_url(agent), {**CASE, **change}, format="json"), 400, "Validation failed"
    )
    errors = {e["field"]: e["message"] for e in body["errors"]}
    assert field in errors, errors
    if message:
        assert errors[field] == message
    assert not TestCase.objects.exists()


def test_a_bad_regex_names_the_problem(alice_client, agent):
    turn = {"user": "hi", "expect": {"regex": "(unclosed"}}
    body = assert_error(alice_client.post(cases_url(agent), {"name": "x", "turns": [turn]}, format="json"), 400)
    assert body["errors"][0]["message"].startswith("Invalid regular expression: missing ), unterminated subpattern")


def test_a_mock_for_a_tool_the_agent_does_not_have_names_its_tools(alice_client, customer_a):
    bare = AgentFactory(customer=customer_a)
    body = {"name": "x", "turns": [{"user": "hi"}], "toolMocks": [{"tool": "lookup_order", "result": {}}]}
    response = assert_error(alice_client.post(cases_url(bare), body, format="json"), 400)
    assert response["errors"] == [
        {
            "field": "toolMocks.0.tool",
            "message": "The agent has no tool 'lookup_order' to mock; mockable tools: none (it has no custom "
            "functions or transfers)",
        }
    ]


def test_a_failed_update_changes_nothing(alice_client, agent):
    case_id = assert_success(alice_client.post(cases_url(agent), CASE, format="json"), 201)["id"]
    before = services.test_case_definition(TestCase.objects.get(pk=case_id))
    body = {"name": "Renamed", "turns": [{"user": "hi", "expect": {"regex": "["}}]}
    assert_error(alice_client.patch(f"/api/v1/test-cases/{case_id}", body, format="json"), 400)
    case = TestCase.objects.get(pk=case_id)
    assert (case.name, services.test_case_definition(case)) == ("Order status", before)


def test_an_unknown_agent_is_a_404(alice_client):
    assert_error(alice_client.get("/api/v1/agents/999999/test-cases"), 404, "Agent with ID 999999 does not exist")
    assert_error(alice_client.post("/api/v1/agents/999999/test-runs", {}, format="json"), 404)


def make_agent_with_tools(customer):
    return AgentFactory(
        customer=customer,
        functions=[{"name": "lookup_order", "parameters": {"type": "object"}, "url": "https://x.example.com/f"}],
    )


class TestTestCasesMatrix(ResourceMatrix):
    """Cases are listed and created under their agent, read and changed by their own id."""

    list_key = "testCases"
    not_found_label = "Test case"
    actions = crud_actions("Test case", create=CASE, update={"name": "Hijacked"})
    # Every role writes and runs an agent's tests, as it builds agents.

    def agent_of(self, customer):
        if not hasattr(self, "_agents"):
            self._agents = {}
        if customer.pk not in self._agents:
            self._agents[customer.pk] = make_agent_with_tools(customer)
        return self._agents[customer.pk]

    def list_path(self, customer):
        return cases_url(self.agent_of(customer))

    def detail_url(self, obj):
        return f"/api/v1/test-cases/{obj.pk}"

    def make_object(self, customer):
        return services.test_case_create(
            agent=self.agent_of(customer), data={"name": "Secret", "turns": [{"user": "hi"}]}
        )

    def make_row(self, customer, index):
        return services.test_case_create(agent=self.agent_of(customer), data={**CASE, "name": f"case {index}"})

    def check_data(self, name, data, obj, customer):
        super().check_data(name, data, obj, customer)
        if name == "update":
            assert data["name"] == "Hijacked"


class TestTestRunsMatrix(ResourceMatrix):
    """Runs are listed under their agent (newest first) and read by their own id; starting
    one needs a language model, so test_runs.py sends that."""

    list_key = "testRuns"
    not_found_label = "Test run"
    actions = {
        "list": Action("get", on="list", message="Test runs retrieved successfully"),
        "retrieve": Action("get", message="Test run retrieved successfully"),
    }

    def agent_of(self, customer):
        agents = self.__dict__.setdefault("_agents", {})
        if customer.pk not in agents:
            sibling = make_agent_with_tools(customer)  # its runs must not be listed
            TestRun.objects.create(customer=customer, agent=sibling, version=agent_version_current(agent_id=sibling.pk))
            agents[customer.pk] = make_agent_with_tools(customer)
        return agents[customer.pk]

    def list_path(self, customer):
        return f"/api/v1/agents/{self.agent_of(customer).pk}/test-runs"

    def detail_url(self, obj):
        return f"/api/v1/test-runs/{obj.pk}"

    def make_object(self, customer):
        agent = self.agent_of(customer)
        return TestRun.objects.create(customer=customer, agent=agent, version=agent_version_current(agent_id=agent.pk))

    def make_row(self, customer, index):
        """Runs of a new version every other row (the list shows each run's version)."""
        agent = self.agent_of(customer)
        if index % 2:
            agent.system_prompt = f"Prompt {index}"
            model_save_changed(agent, ["system_prompt"])
            agent_version_record(agent=agent)
        return self.make_object(customer)

    def check_data(self, name, data, obj, customer):
        super().check_data(name, data, obj, customer)
        if name == "list":
            ids = [row["id"] for row in data["testRuns"]]
            assert ids == sorted(ids, reverse=True), ids
            assert {row["agentId"] for row in data["testRuns"]} == {obj.agent_id}, data


class TestAgentTestCasesCrossTenant(CrossTenantMatrix):
    """The agent-nested routes: another tenant's agent is 'Agent with ID n does not exist'."""

    list_url = "/api/v1/agents"
    not_found_label = "Agent"
    detail_requests = {"get": None, "post": {"name": "Injected", "turns": [{"user": "hi"}]}}
    owner_statuses = {"get": 200, "post": 201}

    def make_object(self, customer):
        return make_agent_with_tools(customer)

    def detail_url(self, obj) -> str:
        return f"/api/v1/agents/{obj.pk}/test-cases"

    def tenant_rows(self, obj, customer):
        return [*super().tenant_rows(obj, customer), TestCase.objects.filter(customer=customer).count()]


class TestAgentTestRunsCrossTenant(TestAgentTestCasesCrossTenant):
    detail_requests = {"get": None}
    owner_statuses = {"get": 200}

    def detail_url(self, obj) -> str:
        return f"/api/v1/agents/{obj.pk}/test-runs"


def test_lists_never_show_another_tenants_cases_or_runs(alice_client, bob_client, customer_a, customer_b):
    from evaluations.services import test_case_create

    mine = test_case_create(agent=make_agent_with_tools(customer_a), data={"name": "a", "turns": [{"user": "hi"}]})
    theirs = test_case_create(agent=make_agent_with_tools(customer_b), data={"name": "b", "turns": [{"user": "hi"}]})
    assert_error(bob_client.get(f"/api/v1/agents/{mine.agent_id}/test-cases"), 404)
    listed = assert_success(bob_client.get(f"/api/v1/agents/{theirs.agent_id}/test-cases"))["testCases"]
    assert [c["id"] for c in listed] == [theirs.pk]
    assert_error(alice_client.get(f"/api/v1/agents/{theirs.agent_id}/test-runs"), 404)
