"""POST /calls/:id/messages against a local OpenAI-compatible server, through the real
openai plugin: the same agent logic as the voice worker, over the API."""

import datetime

import pytest
from django.core.cache import cache
from django.utils import timezone

from agents.tests.factories import AgentFactory
from calls.models import CallDirection, CallStatus, EndReason, TranscriptTurn
from calls.tests.factories import CallFactory, TranscriptTurnFactory
from testsupport.api import assert_error, assert_success
from voice_worker.config import DEFAULT_MAX_DURATION_MESSAGE

from .servers import ChatReply, FunctionServer

pytestmark = pytest.mark.django_db

MESSAGE_SENT = "Message processed successfully"


def url(call) -> str:
    return f"/api/v1/calls/{call.pk}/messages"


@pytest.fixture
def simulation(customer_a):
    def make(**agent_fields):
        agent = AgentFactory(customer=customer_a, **agent_fields)
        return CallFactory(
            agent=agent,
            is_simulation=True,
            direction=CallDirection.WEB,
            from_number="",
            to_number="",
            status=CallStatus.ACTIVE,
            answered_at=timezone.now(),
        )

    return make


def rows(call):
    return [(t.role, t.content, t.tool_name) for t in TranscriptTurn.objects.filter(call=call).order_by("id")]


def test_it_answers_and_stores_the_greeting_the_message_and_the_reply(alice_client, simulation, openai_server):
    call = simulation(first_message="Hi! Acme Dental, how can I help?", system_prompt="You book dental visits.")
    openai_server.replies = [ChatReply(text="We have a slot on Monday at ten.")]

    data = assert_success(
        alice_client.post(url(call), {"content": "  Can I book a cleaning?  "}, format="json"), 200, MESSAGE_SENT
    )

    assert data["callId"] == call.pk
    assert data["reply"] == "We have a slot on Monday at ten."
    assert (data["status"], data["endReason"]) == ("active", "")
    greeting, message, reply = data["turns"]
    assert (greeting["role"], greeting["content"]) == ("assistant", "Hi! Acme Dental, how can I help?")
    assert (message["role"], message["content"]) == ("user", "Can I book a cleaning?")
    assert (reply["role"], reply["content"]) == ("assistant", "We have a slot on Monday at ten.")
    assert reply["llmTtftMs"] >= 0 and reply["e2eLatencyMs"] >= reply["llmTtftMs"]
    assert reply["ttsTtfbMs"] is None
    usage = {k: reply[k] for k in ("promptTokens", "completionTokens", "ttsCharacters", "audioSeconds")}
    assert usage == {"promptTokens": 12, "completionTokens": 5, "ttsCharacters": None, "audioSeconds": None}
    assert [t["id"] for t in data["turns"]] == list(
        TranscriptTurn.objects.filter(call=call).order_by("id").values_list("id", flat=True)
    )
    # One turn shape: the exchange's turns are exactly GET /calls/:id's transcript entries.
    detail = assert_success(alice_client.get(f"/api/v1/calls/{call.pk}"), 200, "Call retrieved successfully")
    assert data["turns"] == detail["transcript"]
    # Each turn keeps the time it happened: greeting, then the message, then the reply.
    times = [datetime.datetime.fromisoformat(t["createdAt"].replace("Z", "+00:00")) for t in data["turns"]]
    assert times[0] < times[1] < times[2], times

    [request] = openai_server.requests
    assert request["messages"][0]["role"] == "system"
    assert request["messages"][0]["content"].startswith("You book dental visits.")
    assert request["messages"][1:] == [
        {"role": "assistant", "content": "Hi! Acme Dental, how can I help?"},
        {"role": "user", "content": "Can I book a cleaning?"},
    ]
    assert request["model"] == "gpt-4o-mini" and request["stream"] is True


def test_the_next_message_carries_the_history_including_tool_results(alice_client, simulation, openai_server):
    # (LiveKit keeps a past tool call in the history only while the agent still has that tool.)
    call = simulation(
        first_message="",
        functions=[{"name": "balance", "url": "https://example.com/balance", "parameters": {"type": "object"}}],
    )
    TranscriptTurnFactory(call=call, role="user", content="What's my balance?")
    TranscriptTurnFactory(
        call=call,
        role="tool",
        tool_name="balance",
        content='{"balance": 12}',
        tool_payload={"callId": "call_1", "arguments": {}, "output": {"balance": 12}, "isError": False},
    )
    TranscriptTurnFactory(call=call, role="assistant", content="You have 12 dollars.")
    TranscriptTurnFactory(call=call, role="system", content="llm_error: transient")
    openai_server.replies = [ChatReply(text="Anything else?")]

    data = assert_success(alice_client.post(url(call), {"content": "Thanks"}, format="json"), 200, MESSAGE_SENT)

    assert [t["role"] for t in data["turns"]] == ["user", "assistant"]  # no second greeting
    history = openai_server.requests[0]["messages"][1:]
    assert history[0] == {"role": "user", "content": "What's my balance?"}
    assert history[1]["role"] == "assistant" and history[1]["tool_calls"][0]["function"]["name"] == "balance"
    assert history[2] == {"role": "tool", "tool_call_id": "call_1", "content": '{"balance": 12}'}
    assert history[3:] == [
        {"role": "assistant", "content": "You have 12 dollars."},
        {"role": "user", "content": "Thanks"},
    ]


def test_the_agent_can_end_the_simulation(alice_client, simulation, openai_server):
    call = simulation(first_message="")
    openai_server.replies = [ChatReply(tool_calls=[("end_call", {"goodbye_message": "Take care, bye!"})])]

    data = assert_success(alice_client.post(url(call), {"content": "That's all."}, format="json"), 200, MESSAGE_SENT)

    assert (data["status"], data["endReason"], data["reply"]) == ("completed", "agent_ended", "Take care, bye!")
    assert rows(call) == [("user", "That's all.", ""), ("tool", "", "end_call"), ("assistant", "Take care, bye!", "")]
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.AGENT_ENDED)
    assert call.ended_at is not None


def test_a_transfer_in_a_simulation_ends_it_as_transferred(alice_client, simulation, openai_server):
    call = simulation(first_message="", transfers=[{"name": "Billing", "destination": "+14155550123"}])
    openai_server.replies = [
        ChatReply(text="Transferring you to billing.", tool_calls=[("transfer_call", {"destination": "Billing"})])
    ]

    data = assert_success(alice_client.post(url(call), {"content": "Billing please"}, format="json"), 200)

    assert (data["status"], data["endReason"]) == ("completed", "transferred")
    assert "transfer_call" in [t["function"]["name"] for t in openai_server.requests[0]["tools"]]


def test_a_custom_function_runs_in_a_simulation_too(alice_client, simulation, openai_server, settings):
    settings.VOICE_FUNCTIONS_ALLOW_PRIVATE_NETWORKS = True
    call = simulation(first_message="")
    with FunctionServer(call.customer.signing_secret, respond=lambda body: (200, {"open": True})) as endpoint:
        call.agent.functions = [{"name": "is_open", "parameters": {"type": "object"}, "url": endpoint.url}]
        call.agent.save()
        openai_server.replies = [ChatReply(tool_calls=[("is_open", {})]), ChatReply(text="Yes, we're open.")]
        data = assert_success(alice_client.post(url(call), {"content": "Are you open?"}, format="json"), 200)

    assert endpoint.calls[0]["signature_valid"]
    assert endpoint.calls[0]["body"]["call"]["simulation"] is True
    assert [(t["role"], t["toolName"]) for t in data["turns"]] == [("user", ""), ("tool", "is_open"), ("assistant", "")]
    assert data["turns"][1]["toolPayload"]["output"] == {"open": True}
    assert openai_server.requests[1]["messages"][-1] == {
        "role": "tool",
        "tool_call_id": openai_server.requests[1]["messages"][-2]["tool_calls"][0]["id"],
        "content": '{"open": true}',
    }


def test_members_may_use_it(charlie_client, simulation, openai_server):
    openai_server.replies = [ChatReply(text="Hello Charlie.")]
    data = assert_success(charlie_client.post(url(simulation()), {"content": "Hi"}, format="json"), 200, MESSAGE_SENT)
    assert data["reply"] == "Hello Charlie."


def test_another_tenants_call_is_not_found(bob_client, simulation, openai_server):
    call = simulation()
    assert_error(
        bob_client.post(url(call), {"content": "Hi"}, format="json"), 404, f"Call with ID {call.pk} does not exist"
    )
    assert openai_server.requests == [] and rows(call) == []


def test_an_unknown_call_is_not_found(alice_client):
    assert_error(
        alice_client.post("/api/v1/calls/999999/messages", {"content": "Hi"}, format="json"),
        404,
        "Call with ID 999999 does not exist",
    )


def test_it_requires_authentication(api_client, simulation):
    call = simulation()
    assert_error(api_client.post(url(call), {"content": "Hi"}, format="json"), 401)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "content"),
        ({"content": ""}, "content"),
        ({"content": "   "}, "content"),
        ({"content": "x" * 4001}, "content"),
        ({"content": ["a"]}, "content"),
    ],
    ids=["missing", "empty", "blank", "oversized", "not-a-string"],
)
def test_invalid_content_is_a_validation_error(alice_client, simulation, openai_server, body, field):
    call = simulation()
    assert_error(alice_client.post(url(call), body, format="json"), 400, "Validation failed", fields=[field])
    assert openai_server.requests == [] and rows(call) == []


def test_a_call_that_is_not_a_simulation_is_a_conflict(alice_client, customer_a, openai_server):
    call = CallFactory(agent=AgentFactory(customer=customer_a), is_simulation=False, status=CallStatus.ACTIVE)
    assert_error(
        alice_client.post(url(call), {"content": "Hi"}, format="json"),
        409,
        "Messages can only be sent to simulation calls",
    )
    assert openai_server.requests == []


def test_an_ended_simulation_is_a_conflict(alice_client, simulation, openai_server):
    call = simulation()
    call.status, call.end_reason = CallStatus.COMPLETED, EndReason.ENDED_BY_USER
    call.save()
    assert_error(alice_client.post(url(call), {"content": "Hi"}, format="json"), 409, "This call has already ended")
    assert openai_server.requests == [] and rows(call) == []


def test_a_simulation_whose_agent_was_deleted_is_a_conflict(alice_client, simulation, openai_server):
    call = simulation()
    call.agent.delete()
    assert_error(
        alice_client.post(url(call), {"content": "Hi"}, format="json"), 409, "This call's agent has been deleted"
    )


def test_a_second_message_while_the_first_is_answered_is_a_conflict(alice_client, simulation, openai_server):
    call = simulation()
    cache.add(f"voice-worker:simulation:{call.pk}", 1, timeout=60)
    try:
        assert_error(
            alice_client.post(url(call), {"content": "Hi"}, format="json"),
            409,
            "The agent is still answering the previous message",
        )
    finally:
        cache.delete(f"voice-worker:simulation:{call.pk}")
    assert openai_server.requests == []


def test_an_llm_provider_without_credentials_is_503_and_nothing_is_written(alice_client, simulation, settings):
    settings.OPENAI_API_KEY = ""
    call = simulation()
    body = assert_error(
        alice_client.post(url(call), {"content": "Hi"}, format="json"),
        503,
        "The LLM provider 'OpenAI' has no credentials: OPENAI_API_KEY is not set.",
    )
    assert body["data"] is None
    assert rows(call) == []


def test_an_unreachable_llm_is_503_and_nothing_is_written(alice_client, simulation, openai_server, settings):
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"  # discard port: nothing listens
    call = simulation()
    body = assert_error(alice_client.post(url(call), {"content": "Hi"}, format="json"), 503)
    assert body["message"].startswith("The agent's language model is unavailable:")
    assert rows(call) == []
    call.refresh_from_db()
    assert call.status == CallStatus.ACTIVE


def test_an_llm_error_answer_is_503_and_nothing_is_written(alice_client, simulation, openai_server):
    openai_server.replies = [ChatReply(status=500)]
    call = simulation()
    assert_error(alice_client.post(url(call), {"content": "Hi"}, format="json"), 503)
    assert rows(call) == []


def test_a_simulation_past_its_max_duration_wraps_up(alice_client, simulation, openai_server):
    call = simulation(max_duration_seconds=60, first_message="")
    call.answered_at = timezone.now() - datetime.timedelta(seconds=61)
    call.save()

    data = assert_success(alice_client.post(url(call), {"content": "Still there?"}, format="json"), 200)

    assert (data["status"], data["endReason"], data["reply"]) == (
        "completed",
        "max_duration",
        DEFAULT_MAX_DURATION_MESSAGE,
    )
    assert openai_server.requests == []
    assert rows(call) == [("user", "Still there?", ""), ("assistant", DEFAULT_MAX_DURATION_MESSAGE, "")]


def test_turns_recorded_within_one_millisecond_are_stored_a_millisecond_apart_in_order(simulation):
    from voice_worker.persistence import simulation_exchange_store
    from voice_worker.turns import TurnRecord

    call = simulation()
    at = timezone.now()
    records = [
        TurnRecord(role="assistant", content="Hello!", created_at=at),
        TurnRecord(role="user", content="Hi.", created_at=at),
        TurnRecord(role="assistant", content="How can I help?", created_at=at + datetime.timedelta(seconds=2)),
    ]

    turns, _ = simulation_exchange_store(call_id=call.pk, records=records)

    stored = list(TranscriptTurn.objects.filter(call=call).order_by("id").values_list("content", "created_at"))
    assert [content for content, _ in stored] == ["Hello!", "Hi.", "How can I help?"] == [t.content for t in turns]
    assert [created for _, created in stored] == [
        at,
        at + datetime.timedelta(milliseconds=1),
        at + datetime.timedelta(seconds=2),  # already apart: kept as it happened
    ]
