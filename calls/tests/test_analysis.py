"""Post-call analysis against an OpenAI-compatible stand-in: valid, invalid and slow answers,
skips, re-runs and the plan's validation on the agents API."""

import pytest

from agents.tests.factories import AgentFactory
from calls import tasks
from calls.models import Call, CallStatus
from calls.tests.factories import CallFactory, TranscriptTurnFactory
from tenants.tests.cross_tenant import CrossTenantMatrix
from testsupport.api import assert_error, assert_success

from .analysis_llm import AnalysisLLM, AnalysisReply, answer

pytestmark = pytest.mark.django_db

PLAN = {
    "summaryPrompt": "Say what the caller wanted.",
    "fields": [
        {"name": "intent", "type": "enum", "choices": ["buy", "support"], "description": "Why", "required": True},
        {"name": "orderId", "type": "string", "description": "The order number, if any"},
        {"name": "amount", "type": "number", "description": "Money mentioned", "required": True},
        {"name": "callback", "type": "boolean", "description": "Wants a callback", "required": True},
    ],
    "successRubric": {"type": "pass_fail", "prompt": "Did the caller get what they needed?"},
}
GOOD = {
    "summary": "The caller wanted a refund for order 42.",
    "sentiment": "neutral",
    "successful": True,
    "data": {"intent": "support", "orderId": "42", "amount": 19.5, "callback": False},
}


@pytest.fixture
def llm(settings):
    with AnalysisLLM() as server:
        settings.OPENAI_API_KEY = server.api_key
        settings.OPENAI_BASE_URL = server.base_url
        settings.ANALYSIS_MAX_ATTEMPTS = 3
        yield server


@pytest.fixture
def agent(customer_a):
    return AgentFactory(customer=customer_a, analysis_plan={**PLAN, "minTurns": 2, "sampleRate": 1.0})


def ended_call(agent, turns=3, **extra):
    call = CallFactory(agent=agent, status=CallStatus.COMPLETED, duration=90, **extra)
    for i in range(turns):
        TranscriptTurnFactory(call=call, role="user" if i % 2 else "assistant", prompt_tokens=100, completion_tokens=20)
    return call


def finalize(call, capture) -> Call:
    with capture(execute=True):
        tasks.finalize_call.delay(call.id).get()
    call.refresh_from_db()
    return call


def test_a_valid_answer_is_stored_priced_and_shown(
    llm, agent, alice_client, django_capture_on_commit_callbacks, settings
):
    llm.replies = [answer(**GOOD)]
    call = finalize(ended_call(agent), django_capture_on_commit_callbacks)
    assert call.analysis["status"] == "done"
    assert call.analysis["summary"] == GOOD["summary"]
    assert call.analysis["data"] == GOOD["data"]
    assert call.analysis["successful"] is True and call.analysis["score"] is None
    assert call.analysis["usage"] == {"promptTokens": 12, "completionTokens": 5}
    # The request: structured output with the plan's schema, the transcript, the summary prompt.
    request = llm.requests[0]
    schema = request["response_format"]["json_schema"]["schema"]
    assert request["response_format"]["json_schema"]["strict"] is True
    assert set(schema["properties"]) == {"summary", "sentiment", "data", "successful"}
    assert schema["properties"]["data"]["properties"]["intent"]["enum"] == ["buy", "support"]
    assert request["model"] == settings.ANALYSIS_MODEL
    assert "Say what the caller wanted." in request["messages"][0]["content"]
    assert "Caller:" in request["messages"][1]["content"]
    # Cost: the call's own tokens and minutes, plus the analysis tokens.
    assert call.cost_breakdown["usage"]["analysisPromptTokens"] == 12
    assert call.cost_breakdown["breakdown"]["analysis"] == 0.0  # 12 tokens at $0.15/M rounds to 0
    assert float(call.cost) == call.cost_breakdown["total"] > 0
    data = assert_success(alice_client.get(f"/api/v1/calls/{call.id}"), 200)
    assert data["analysis"]["status"] == "done" and data["analysis"]["data"]["amount"] == 19.5
    assert "runId" not in data["analysis"]
    assert data["costDetails"]["currency"] == "USD" and data["cost"] == data["costDetails"]["total"]


def test_a_score_rubric_counts_seven_or_more_as_successful(llm, customer_a, django_capture_on_commit_callbacks):
    plan = {**PLAN, "successRubric": {"type": "score_1_10", "prompt": "How well did it go?"}}
    agent = AgentFactory(customer=customer_a, analysis_plan=plan)
    good = {key: value for key, value in GOOD.items() if key != "successful"}
    llm.replies = [answer(**good, score=7)]
    call = finalize(ended_call(agent), django_capture_on_commit_callbacks)
    assert (call.analysis["score"], call.analysis["successful"]) == (7, True)


def test_invalid_answers_are_retried_then_stored(llm, agent, django_capture_on_commit_callbacks):
    llm.replies = [
        AnalysisReply(text="Sure! Here is the analysis: {"),
        answer(**{**GOOD, "data": {**GOOD["data"], "intent": "complain"}}),
        answer(**GOOD),
    ]
    call = finalize(ended_call(agent), django_capture_on_commit_callbacks)
    assert len(llm.requests) == 3
    assert call.analysis["status"] == "done" and call.analysis["attempts"] == 3


def test_answers_that_stay_invalid_end_as_failed_with_the_reason(llm, agent, django_capture_on_commit_callbacks):
    llm.replies = [answer(summary="only this")] * 3
    call = finalize(ended_call(agent), django_capture_on_commit_callbacks)
    assert len(llm.requests) == 3
    assert call.analysis["status"] == "failed"
    assert call.analysis["error"].startswith("The model's answer does not match the schema at (root)")
    assert call.analysis["attempts"] == 3


def test_a_slow_model_times_out_and_fails_after_the_attempts(llm, agent, settings, django_capture_on_commit_callbacks):
    settings.ANALYSIS_TIMEOUT_SECONDS = 0.3
    settings.ANALYSIS_MAX_ATTEMPTS = 2
    llm.replies = [AnalysisReply(text="{}", delay=1.0)] * 2
    call = finalize(ended_call(agent), django_capture_on_commit_callbacks)
    assert call.analysis["status"] == "failed"
    assert call.analysis["error"] == "The model did not answer: APITimeoutError"


def test_a_server_error_is_retried(llm, agent, django_capture_on_commit_callbacks):
    llm.replies = [AnalysisReply(status=500), answer(**GOOD)]
    call = finalize(ended_call(agent), django_capture_on_commit_callbacks)
    assert call.analysis["status"] == "done" and call.analysis["attempts"] == 2


def test_without_a_key_it_fails_naming_the_setting(agent, settings, django_capture_on_commit_callbacks):
    settings.OPENAI_API_KEY = ""
    call = finalize(ended_call(agent), django_capture_on_commit_callbacks)
    assert call.analysis == {
        "runId": call.analysis["runId"],
        "status": "failed",
        "error": "No OpenAI key for post-call analysis: set OPENAI_API_KEY",
        "attempts": 1,
    }


def test_short_calls_and_unsampled_calls_are_skipped(llm, customer_a, django_capture_on_commit_callbacks):
    agent = AgentFactory(customer=customer_a, analysis_plan={**PLAN, "minTurns": 5})
    call = finalize(ended_call(agent, turns=2), django_capture_on_commit_callbacks)
    assert call.analysis == {"status": "skipped", "error": "Fewer than 5 conversation turns"}
    agent = AgentFactory(customer=customer_a, analysis_plan={**PLAN, "sampleRate": 0})
    call = finalize(ended_call(agent), django_capture_on_commit_callbacks)
    assert call.analysis["status"] == "skipped" and "sampleRate" in call.analysis["error"]
    assert llm.requests == []


def test_agents_without_a_plan_are_not_analysed(llm, customer_a, django_capture_on_commit_callbacks):
    call = finalize(ended_call(AgentFactory(customer=customer_a)), django_capture_on_commit_callbacks)
    assert call.analysis is None and call.cost is not None
    assert llm.requests == []


def test_finalizing_again_does_not_start_a_second_run(llm, agent, django_capture_on_commit_callbacks):
    llm.replies = [answer(**GOOD)]
    call = finalize(ended_call(agent), django_capture_on_commit_callbacks)
    finalize(call, django_capture_on_commit_callbacks)
    assert len(llm.requests) == 1


# --- POST /calls/:id/analyze ------------------------------------------------------------


def test_it_reruns_the_analysis(llm, agent, alice_client, django_capture_on_commit_callbacks):
    call = ended_call(agent, turns=0)  # would be skipped for minTurns: a re-run ignores it
    llm.replies = [answer(**GOOD)]
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"/api/v1/calls/{call.id}/analyze")
    data = assert_success(response, 202, "Call analysis started")
    assert data == {"callId": call.id, "analysis": {**data["analysis"], "status": "pending"}}
    call.refresh_from_db()
    assert call.analysis["status"] == "done"


def test_it_refuses_open_calls_and_agents_without_a_plan(agent, customer_a, alice_client):
    open_call = CallFactory(agent=agent, status=CallStatus.ACTIVE)
    assert_error(
        alice_client.post(f"/api/v1/calls/{open_call.id}/analyze"),
        409,
        f"Call with ID {open_call.id} has not ended yet",
    )
    no_plan = ended_call(AgentFactory(customer=customer_a))
    body = assert_error(alice_client.post(f"/api/v1/calls/{no_plan.id}/analyze"), 409)
    assert "no analysis plan" in body["message"]
    no_plan.refresh_from_db()
    assert no_plan.analysis is None


def test_another_tenants_call_is_a_404(agent, bob_client):
    call = ended_call(agent)
    assert_error(bob_client.post(f"/api/v1/calls/{call.id}/analyze"), 404, f"Call with ID {call.id} does not exist")
    call.refresh_from_db()
    assert call.analysis is None


# --- The plan on the agents API -------------------------------------------------------------


def test_the_agents_api_stores_a_normalised_plan(alice_client, agent):
    plan = {"fields": [{"name": "intent", "type": "string", "description": "Why they called"}]}
    data = assert_success(alice_client.patch(f"/api/v1/agents/{agent.id}", {"analysisPlan": plan}, format="json"), 200)
    assert data["analysisPlan"] == {
        "fields": [{"name": "intent", "type": "string", "description": "Why they called", "required": False}],
        "minTurns": 2,
        "sampleRate": 1.0,
    }
    data = assert_success(alice_client.patch(f"/api/v1/agents/{agent.id}", {"analysisPlan": None}, format="json"), 200)
    assert data["analysisPlan"] is None


@pytest.mark.parametrize(
    "plan, fields",
    [
        ({"fields": [{"name": "1bad", "type": "string", "description": "x"}]}, ["analysisPlan.fields.0.name"]),
        ({"fields": [{"name": "a", "type": "date", "description": "x"}]}, ["analysisPlan.fields.0.type"]),
        ({"fields": [{"name": "a", "type": "enum", "description": "x"}]}, ["analysisPlan.fields.0.choices"]),
        (
            {"fields": [{"name": "a", "type": "string", "description": "x"}] * 2},
            ["analysisPlan.fields.1.name"],
        ),
        ({"successRubric": {"type": "stars", "prompt": "x"}}, ["analysisPlan.successRubric.type"]),
        ({"sampleRate": 2}, ["analysisPlan.sampleRate"]),
        ({"minTurns": -1}, ["analysisPlan.minTurns"]),
        ({"colour": "blue"}, ["analysisPlan"]),
        ("everything", ["analysisPlan"]),
    ],
)
def test_bad_plans_are_refused_and_change_nothing(alice_client, agent, plan, fields):
    before = agent.analysis_plan
    response = alice_client.patch(f"/api/v1/agents/{agent.id}", {"analysisPlan": plan}, format="json")
    assert_error(response, 400, fields=fields)
    agent.refresh_from_db()
    assert agent.analysis_plan == before


def test_a_finished_analysis_emits_call_analyzed(llm, agent, customer_a, django_capture_on_commit_callbacks):
    from integrations.models import Event
    from integrations.tests.factories import WebhookEndpointFactory

    WebhookEndpointFactory(customer=customer_a, events=["call.analyzed"])
    llm.replies = [answer(**GOOD)]
    call = finalize(ended_call(agent), django_capture_on_commit_callbacks)
    event = Event.objects.get(type="call.analyzed")
    assert event.data["id"] == call.id and event.agent_id == agent.id
    assert event.data["analysis"]["status"] == "done" and event.data["analysis"]["summary"] == GOOD["summary"]


class TestAnalyzeCrossTenant(CrossTenantMatrix):
    """POST /calls/:id/analyze: another tenant's call is a 404 and nothing is analysed."""

    list_url = "/api/v1/calls"
    list_key = None
    not_found_label = "Call"
    detail_requests = {"post": None}
    owner_statuses = {"post": 202}

    def make_object(self, customer):
        return ended_call(AgentFactory(customer=customer, analysis_plan={**PLAN, "minTurns": 0, "sampleRate": 1.0}))

    def detail_url(self, obj) -> str:
        return f"/api/v1/calls/{obj.pk}/analyze"
