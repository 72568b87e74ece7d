"""Test runs end to end: POST a run, Celery (eager) executes it on livekit-agents' testing
API against the OpenAI-compatible stand-in, GET the verdicts. Each expectation kind is
shown to really fail."""

import pytest

from agents.models import AgentVersion
from evaluations import services
from evaluations.models import TestRun
from testsupport.api import assert_error, assert_success
from voice_worker.tests.servers import ChatReply

from .conftest import last_user, tool_results, verdict

pytestmark = pytest.mark.django_db

ORDER_TURN = {
    "user": "Where is my order A1?",
    "expect": {
        "toolCall": {"name": "lookup_order", "arguments": {"orderId": "A1"}},
        "contains": ["shipped"],
        "notContains": ["sorry"],
        "regex": r"ship+ed on \w+day",
        "judge": "Tells the caller their order has shipped",
    },
}
ORDER_MOCK = {"tool": "lookup_order", "match": {"orderId": "A1"}, "result": {"status": "shipped", "day": "Monday"}}


def order_agent(request):
    """The agent's model: looks the order up, then answers from the tool's result."""
    results = tool_results(request)
    if not results:
        return ChatReply(tool_calls=[("lookup_order", {"orderId": "A1", "verbose": True})])
    if "shipped" in results[-1]:
        return ChatReply(text="Good news: it shipped on Monday.")
    return ChatReply(text="I'm sorry, I could not find that order.")


def run_case(client, agent, captured, definition, *, name="Order status") -> dict:
    case = services.test_case_create(agent=agent, data={"name": name, **definition})
    with captured(execute=True):
        started = assert_success(
            client.post(f"/api/v1/agents/{agent.pk}/test-runs", {"testCaseIds": [case.pk]}, format="json"),
            202,
            "Test run started",
        )
    assert started["status"] == "queued"
    run = assert_success(client.get(f"/api/v1/test-runs/{started['id']}"), 200, "Test run retrieved successfully")
    [result] = run["results"]
    return run, result


def test_a_passing_case(alice_client, agent, llm_server, script, django_capture_on_commit_callbacks):
    script.agent = order_agent
    definition = {"turns": [ORDER_TURN], "toolMocks": [ORDER_MOCK], "variables": {"customer_name": "Grace"}}

    run, result = run_case(alice_client, agent, django_capture_on_commit_callbacks, definition)

    assert (run["status"], run["passed"], run["failed"], run["errors"]) == ("passed", 1, 0, 0)
    assert run["version"] == 1 and run["trigger"] == "api"
    assert result["verdict"] == "pass", result
    assert result["failure"] is None and result["unmockedTools"] == []
    assert result["judgments"] == [
        {
            "turn": 1,
            "criteria": "Tells the caller their order has shipped",
            "verdict": "pass",
            "reasoning": "Looks right.",
        }
    ]
    roles = [(t["role"], t["toolName"]) for t in result["transcript"]]
    assert roles == [("assistant", ""), ("user", ""), ("tool", "lookup_order"), ("assistant", "")]
    assert result["transcript"][0]["content"] == "Hi Grace, Ada's shop here."  # variables filled
    reply = result["transcript"][-1]
    assert reply["content"] == "Good news: it shipped on Monday."
    assert reply["latency"]["llmTtftMs"] >= 0 and reply["usage"]["promptTokens"] == 24  # two model requests
    # The agent's model saw the real prompt with the variable, and the mock's result.
    first = script.seen["agent"][0]
    assert first["messages"][0]["content"].startswith("You are Ada's shop assistant. The customer is Grace.")
    assert {"lookup_order", "transfer_call", "end_call"} <= {t["function"]["name"] for t in first["tools"]}
    assert '"status": "shipped"' in tool_results(script.seen["agent"][1])[0]
    # The judge saw the conversation and the criteria.
    [judged] = script.seen["judge"]
    assert "Tells the caller their order has shipped" in last_user(judged)
    assert "Good news: it shipped on Monday." in last_user(judged)


@pytest.mark.parametrize(
    "expect, expectation, expected, actual",
    [
        (
            {"toolCall": {"name": "lookup_order", "arguments": {"orderId": "B2"}}},
            "toolCall",
            {"name": "lookup_order", "arguments": {"orderId": "B2"}},
            [{"name": "lookup_order", "arguments": {"orderId": "A1", "verbose": True}}],
        ),
        ({"toolCall": {"name": "transfer_call"}}, "toolCall", {"name": "transfer_call", "arguments": {}}, None),
        ({"contains": ["shipped", "tracking number"]}, "contains", "tracking number", None),
        ({"notContains": ["monday"]}, "notContains", "monday", None),
        ({"regex": r"arriv(es|ing)"}, "regex", r"arriv(es|ing)", None),
    ],
)
def test_each_exact_expectation_really_fails(
    alice_client, agent, llm_server, script, django_capture_on_commit_callbacks, expect, expectation, expected, actual
):
    script.agent = order_agent
    turn = {"user": "Where is my order A1?", "expect": expect}

    run, result = run_case(
        alice_client, agent, django_capture_on_commit_callbacks, {"turns": [turn], "toolMocks": [ORDER_MOCK]}
    )

    assert (run["status"], run["failed"]) == ("failed", 1)
    assert result["verdict"] == "fail"
    failure = result["failure"]
    assert (failure["turn"], failure["expectation"], failure["expected"]) == (1, expectation, expected)
    if actual is not None:
        assert failure["actual"] == actual
    elif expectation == "toolCall":
        assert failure["actual"] == [{"name": "lookup_order", "arguments": {"orderId": "A1", "verbose": True}}]
    else:
        assert failure["actual"] == "Good news: it shipped on Monday."
    assert failure["message"].startswith("Turn 1: ")


def test_a_judge_that_disagrees_fails_the_case_with_its_reasoning(
    alice_client, agent, llm_server, script, django_capture_on_commit_callbacks
):
    script.agent = order_agent
    script.judge = lambda request: verdict("fail", "The reply never gives a delivery date.")
    turn = {"user": "When will order A1 arrive?", "expect": {"judge": "Gives the delivery date"}}

    run, result = run_case(
        alice_client, agent, django_capture_on_commit_callbacks, {"turns": [turn], "toolMocks": [ORDER_MOCK]}
    )

    assert result["verdict"] == "fail"
    assert result["failure"]["expectation"] == "judge"
    assert result["failure"]["reasoning"] == "The reply never gives a delivery date."
    assert result["failure"]["actual"] == "Good news: it shipped on Monday."
    assert result["judgments"][0]["verdict"] == "fail"


def test_an_uncertain_judge_is_not_a_pass(alice_client, agent, llm_server, script, django_capture_on_commit_callbacks):
    script.agent = lambda request: ChatReply(text="Maybe.")
    script.judge = lambda request: verdict("maybe", "Hard to tell.")
    turn = {"user": "Hi", "expect": {"judge": "Greets the caller"}}
    _, result = run_case(alice_client, agent, django_capture_on_commit_callbacks, {"turns": [turn]})
    assert result["verdict"] == "fail" and result["failure"]["reasoning"] == "Hard to tell."


def test_an_unmocked_custom_function_is_not_called_and_is_reported(
    alice_client, agent, llm_server, script, django_capture_on_commit_callbacks
):
    script.agent = order_agent
    mock = {**ORDER_MOCK, "match": {"orderId": "ZZZ"}}  # does not match A1
    turn = {"user": "Where is my order A1?", "expect": {"notContains": ["shipped"]}}

    _, result = run_case(
        alice_client, agent, django_capture_on_commit_callbacks, {"turns": [turn], "toolMocks": [mock]}
    )

    assert result["verdict"] == "pass"
    assert result["unmockedTools"] == ["lookup_order"]
    tool_turn = next(t for t in result["transcript"] if t["role"] == "tool")
    assert tool_turn["toolPayload"]["isError"] is True
    assert "not available in this test" in tool_results(script.seen["agent"][1])[0]


def test_a_transfer_is_recorded_not_dialled_and_ends_the_conversation(
    alice_client, agent, llm_server, script, django_capture_on_commit_callbacks
):
    script.agent = lambda request: ChatReply(tool_calls=[("transfer_call", {"destination": "Billing"})])
    turns = [
        {
            "user": "Billing please",
            "expect": {"toolCall": {"name": "transfer_call", "arguments": {"destination": "Billing"}}},
        },
        {"user": "Hello?"},
    ]
    _, result = run_case(alice_client, agent, django_capture_on_commit_callbacks, {"turns": turns})
    assert result["verdict"] == "fail"
    assert result["failure"]["expectation"] == "conversation"
    assert "transferred" in result["failure"]["actual"]


def test_a_judge_timeout_marks_the_case_error_without_hanging(
    alice_client, agent, llm_server, script, settings, django_capture_on_commit_callbacks
):
    settings.EVALUATIONS_JUDGE_TIMEOUT_SECONDS = 0.5
    script.agent = lambda request: ChatReply(text="Hello!")
    script.judge = lambda request: verdict("pass", "late", delay=3)
    turn = {"user": "Hi", "expect": {"judge": "Greets the caller"}}

    run, result = run_case(alice_client, agent, django_capture_on_commit_callbacks, {"turns": [turn]})

    assert (run["status"], result["verdict"]) == ("error", "error")
    assert result["errorMessage"] == "The judge did not answer within 0.5s"


def test_an_agent_model_timeout_marks_the_case_error(
    alice_client, agent, llm_server, script, settings, django_capture_on_commit_callbacks
):
    settings.EVALUATIONS_TURN_TIMEOUT_SECONDS = 0.5
    script.agent = lambda request: ChatReply(text="Too late", delay=3)
    _, result = run_case(alice_client, agent, django_capture_on_commit_callbacks, {"turns": [{"user": "Hi"}]})
    assert result["verdict"] == "error"
    assert "0.5s" in result["errorMessage"] or "failed" in result["errorMessage"]


def test_a_failing_model_marks_the_case_error(
    alice_client, agent, llm_server, script, django_capture_on_commit_callbacks
):
    script.agent = lambda request: ChatReply(status=500)
    _, result = run_case(alice_client, agent, django_capture_on_commit_callbacks, {"turns": [{"user": "Hi"}]})
    assert result["verdict"] == "error" and result["errorMessage"]


def test_cases_run_in_parallel_and_each_gets_its_verdict(
    alice_client, agent, llm_server, script, django_capture_on_commit_callbacks
):
    script.agent = lambda request: ChatReply(text=f"You said: {last_user(request)}")
    for word in ("alpha", "beta", "gamma", "delta", "epsilon"):
        services.test_case_create(
            agent=agent, data={"name": word, "turns": [{"user": word, "expect": {"contains": [word]}}]}
        )
    services.test_case_create(
        agent=agent, data={"name": "bad", "turns": [{"user": "x", "expect": {"contains": ["nope"]}}]}
    )

    with django_capture_on_commit_callbacks(execute=True):
        started = assert_success(alice_client.post(f"/api/v1/agents/{agent.pk}/test-runs", {}, format="json"), 202)
    run = assert_success(alice_client.get(f"/api/v1/test-runs/{started['id']}"))

    assert (run["status"], run["passed"], run["failed"]) == ("failed", 5, 1)
    assert {r["name"]: r["verdict"] for r in run["results"]} == {
        "alpha": "pass",
        "beta": "pass",
        "gamma": "pass",
        "delta": "pass",
        "epsilon": "pass",
        "bad": "fail",
    }


def test_a_run_of_an_older_version_uses_that_version(
    alice_client, agent, llm_server, script, django_capture_on_commit_callbacks
):
    script.agent = lambda request: ChatReply(text=request["messages"][0]["content"].split(".")[0])
    assert_success(
        alice_client.patch(f"/api/v1/agents/{agent.pk}", {"systemPrompt": "Version two speaking."}, format="json")
    )
    case = services.test_case_create(
        agent=agent, data={"name": "v", "turns": [{"user": "who?", "expect": {"contains": ["shop"]}}]}
    )

    with django_capture_on_commit_callbacks(execute=True):
        old = assert_success(
            alice_client.post(f"/api/v1/agents/{agent.pk}/test-runs", {"version": 1}, format="json"), 202
        )
        new = assert_success(alice_client.post(f"/api/v1/agents/{agent.pk}/test-runs", {}, format="json"), 202)

    assert (old["version"], new["version"]) == (1, 2)
    assert TestRun.objects.get(pk=old["id"]).status == "passed"
    assert TestRun.objects.get(pk=new["id"]).status == "failed"
    assert case.results.count() == 2


def test_bad_run_requests_are_400_and_create_nothing(alice_client, agent, llm_server, customer_a):
    url = f"/api/v1/agents/{agent.pk}/test-runs"
    body = assert_error(alice_client.post(url, {}, format="json"), 400, "Validation failed")
    assert body["errors"] == [{"field": "testCaseIds", "message": f"Agent {agent.pk} has no test cases to run"}]
    case = services.test_case_create(agent=agent, data={"name": "x", "turns": [{"user": "hi"}]})
    body = assert_error(alice_client.post(url, {"version": 7}, format="json"), 400, "Validation failed")
    assert body["errors"] == [{"field": "version", "message": f"Version 7 of agent {agent.pk} does not exist"}]
    body = assert_error(alice_client.post(url, {"testCaseIds": [case.pk, 999999]}, format="json"), 400)
    assert body["errors"][0]["field"] == "testCaseIds" and "999999" in body["errors"][0]["message"]
    assert_error(alice_client.post(url, {"testCaseIds": "all"}, format="json"), 400, "Validation failed")
    assert TestRun.objects.count() == 0


def test_no_language_model_is_a_503_naming_the_variable(alice_client, agent, settings):
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = ""
    services.test_case_create(agent=agent, data={"name": "x", "turns": [{"user": "hi"}]})
    body = assert_error(alice_client.post(f"/api/v1/agents/{agent.pk}/test-runs", {}, format="json"), 503)
    assert "OPENAI_API_KEY" in body["message"]
    assert TestRun.objects.count() == 0


def test_a_new_version_runs_the_suite_when_the_agent_asks_and_keeps_the_verdict(
    alice_client, agent, llm_server, script, django_capture_on_commit_callbacks
):
    script.agent = lambda request: ChatReply(text="Hello there!")
    services.test_case_create(
        agent=agent, data={"name": "greets", "turns": [{"user": "Hi", "expect": {"contains": ["hello"]}}]}
    )
    url = f"/api/v1/agents/{agent.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        assert_success(alice_client.patch(url, {"autoRunTests": True}, format="json"))  # not a behaviour change
    assert TestRun.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        assert_success(alice_client.patch(url, {"systemPrompt": "Be warm."}, format="json"))

    run = TestRun.objects.get()
    assert (run.trigger, run.version.number, run.status) == ("new_version", 2, "passed")
    assert AgentVersion.objects.get(agent=agent, number=2).test_verdict == "passed"
    versions = assert_success(alice_client.get(f"{url}/versions"))["versions"]
    assert [(v["number"], v["testVerdict"]) for v in versions] == [(2, "passed"), (1, "")]

    script.agent = lambda request: ChatReply(text="Go away.")
    with django_capture_on_commit_callbacks(execute=True):
        assert_success(alice_client.patch(url, {"systemPrompt": "Be cold."}, format="json"))
    assert AgentVersion.objects.get(agent=agent, number=3).test_verdict == "failed"


def test_a_reachable_custom_function_is_never_called_in_a_run(
    alice_client, customer_a, llm_server, script, settings, django_capture_on_commit_callbacks
):
    from agents.tests.factories import AgentFactory
    from voice_worker.tests.servers import FunctionServer

    settings.VOICE_FUNCTIONS_ALLOW_PRIVATE_NETWORKS = True
    script.agent = order_agent
    with FunctionServer(customer_a.signing_secret) as endpoint:
        agent = AgentFactory(
            customer=customer_a,
            functions=[{"name": "lookup_order", "parameters": {"type": "object"}, "url": endpoint.url}],
        )
        _, mocked = run_case(
            alice_client,
            agent,
            django_capture_on_commit_callbacks,
            {"turns": [{"user": "A1?", "expect": {"contains": ["shipped"]}}], "toolMocks": [ORDER_MOCK]},
        )
        _, unmocked = run_case(
            alice_client, agent, django_capture_on_commit_callbacks, {"turns": [{"user": "A1?"}]}, name="No mock"
        )

    assert (mocked["verdict"], mocked["unmockedTools"]) == ("pass", [])
    assert unmocked["unmockedTools"] == ["lookup_order"]
    assert endpoint.calls == []  # neither the mocked nor the unmocked run reached the customer's endpoint
