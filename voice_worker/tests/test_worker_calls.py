"""The voice worker's job code, end to end in text mode: a real AgentSession running the real
MorpheusAgent and CallRunner against a scripted model, a local LiveKit Twirp server and
local custom-function endpoints; the call and transcript rows are checked in the database."""

import datetime
import time

import pytest
from django.utils import timezone

from calls.models import Call, CallStatus, EndReason, TranscriptTurn, TurnRole
from voice_worker.config import (
    DEFAULT_MAX_DURATION_MESSAGE,
    DEFAULT_RECOVERY_MESSAGE,
    DEFAULT_REPROMPT_MESSAGE,
    DEFAULT_SILENCE_MESSAGE,
)
from voice_worker.testing import Fail, FakeLLM, ToolCall

from .conftest import deleted_rooms, transfers
from .servers import FunctionServer

pytestmark = pytest.mark.django_db


def turns(call):
    return list(TranscriptTurn.objects.filter(call=call).order_by("id"))


def said(call):
    return [(t.role, t.content) for t in turns(call) if t.role in (TurnRole.USER, TurnRole.ASSISTANT)]


async def ask(runner, text):
    """The caller speaks once the agent has finished talking, and the turns are stored."""
    await runner.session.wait_for_idle()
    await runner.session.run(user_input=text)
    await runner.flush()


def test_it_greets_converses_and_stores_every_turn_with_latency_and_usage(make_call, run_call):
    call = make_call(first_message="Hi, this is Acme. How can I help?", system_prompt="You sell anvils.")
    llm = FakeLLM(["We have three anvils in stock.", "They cost forty dollars."])
    seen = {}

    async def scenario(runner):
        seen["active"] = await Call.objects.aget(pk=call.pk)
        await ask(runner, "Do you have anvils?")
        await ask(runner, "How much?")

    run_call(call, llm, scenario)

    active = seen["active"]
    assert active.status == CallStatus.ACTIVE and active.answered_at is not None and active.ended_at is None
    assert said(call) == [
        ("assistant", "Hi, this is Acme. How can I help?"),
        ("user", "Do you have anvils?"),
        ("assistant", "We have three anvils in stock."),
        ("user", "How much?"),
        ("assistant", "They cost forty dollars."),
    ]
    greeting, _, first_reply, _, second_reply = turns(call)
    # The greeting is said, not generated: no model time, no tokens.
    assert greeting.llm_ttft_ms is None and greeting.e2e_latency_ms is None
    assert greeting.prompt_tokens == 0 and greeting.completion_tokens == 0
    for reply in (first_reply, second_reply):
        assert reply.llm_ttft_ms is not None and reply.llm_ttft_ms >= 0
        assert reply.e2e_latency_ms is not None and reply.e2e_latency_ms >= reply.llm_ttft_ms
        assert reply.completion_tokens == len(reply.content.split())
        assert reply.prompt_tokens > 0
    # The second request carries the whole conversation after the agent's instructions.
    request = llm.requests[1]
    assert request.messages()[0][0] == "system" and "You sell anvils." in request.messages()[0][1]
    assert request.messages()[1:] == said(call)[:4]
    assert "end_call" in request.tool_names and "transfer_call" not in request.tool_names


def test_end_call_says_goodbye_closes_the_call_and_deletes_the_room(
    make_call, run_call, livekit_server, django_capture_on_commit_callbacks
):
    call = make_call(first_message="")
    llm = FakeLLM([ToolCall("end_call", {"goodbye_message": "Goodbye, have a nice day!"})])

    async def scenario(runner):
        await runner.session.run(user_input="That's all, thanks.")
        await runner.wait_closed()

    with django_capture_on_commit_callbacks() as after_commit:
        run_call(call, llm, scenario)

    # Closing enqueues the post-call finalisation once the close is committed.
    assert len(after_commit) == 1

    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.AGENT_ENDED)
    assert call.ended_at is not None and call.duration is not None and call.answered_at is not None
    user, tool, goodbye = turns(call)
    assert (user.role, user.content) == ("user", "That's all, thanks.")
    assert (tool.role, tool.tool_name, tool.tool_payload["arguments"]) == (
        "tool",
        "end_call",
        {"goodbye_message": "Goodbye, have a nice day!"},
    )
    assert (goodbye.role, goodbye.content) == ("assistant", "Goodbye, have a nice day!")
    assert deleted_rooms(livekit_server) == [call.room_name]


@pytest.mark.parametrize("arguments", [{"goodbye_message": None}, {"goodbye_message": "  "}, {}])
def test_end_call_without_a_goodbye_says_the_agents_own(make_call, run_call, arguments):
    # Strict mode lets the model send null for the goodbye; the agent's goodbye is said then.
    call = make_call(first_message="", metadata={"goodbyeMessage": "Bye, take care!"})

    async def scenario(runner):
        await runner.session.run(user_input="That's all, thanks.")
        await runner.wait_closed()

    run_call(call, FakeLLM([ToolCall("end_call", arguments)]), scenario)

    call.refresh_from_db()
    assert call.end_reason == EndReason.AGENT_ENDED
    assert [(t.role, t.content) for t in turns(call)][-1] == ("assistant", "Bye, take care!")


def test_transfer_call_asks_livekit_to_transfer_the_caller(make_call, run_call, livekit_server):
    call = make_call(
        transfers=[
            {"name": "Sales", "destination": "+14155550123", "description": "New orders"},
            {"name": "Support", "destination": "sip:support@pbx.example.com"},
        ]
    )
    llm = FakeLLM([ToolCall("transfer_call", {"destination": "Sales"}, text="Let me transfer you to sales.")])

    async def scenario(runner):
        await runner.session.run(user_input="I'd like to order.")
        await runner.wait_closed()

    run_call(call, llm, scenario, caller_identity="sip_+14155550199")

    [transfer] = transfers(livekit_server)
    assert transfer.room_name == call.room_name
    assert transfer.participant_identity == "sip_+14155550199"
    assert transfer.transfer_to == "tel:+14155550123"
    assert transfer.play_dialtone is False
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.TRANSFERRED)
    assert ("assistant", "Let me transfer you to sales.") in said(call)
    tool = next(t for t in turns(call) if t.role == TurnRole.TOOL)
    assert (tool.tool_name, tool.tool_payload["arguments"], tool.tool_payload["isError"]) == (
        "transfer_call",
        {"destination": "Sales"},
        False,
    )
    # The model was offered only the configured destinations.
    assert "transfer_call" in llm.requests[0].tool_names


def test_a_failed_transfer_is_told_to_the_model_and_the_call_goes_on(make_call, run_call, livekit_server):
    livekit_server.fail_next(
        "TransferSIPParticipant", code="failed_precondition", msg="transfer rejected by the carrier"
    )
    call = make_call(transfers=[{"name": "Sales", "destination": "+14155550123"}])
    llm = FakeLLM([ToolCall("transfer_call", {"destination": "Sales"}), "Sorry, I couldn't transfer you."])
    seen = {}

    async def scenario(runner):
        await ask(runner, "Sales please.")
        seen["call"] = await Call.objects.aget(pk=call.pk)

    run_call(call, llm, scenario, caller_identity="sip_+14155550199")

    assert len(transfers(livekit_server)) == 1
    assert seen["call"].status == CallStatus.ACTIVE
    [(name, output, is_error)] = llm.requests[1].tool_outputs()
    assert name == "transfer_call" and is_error and "transfer rejected by the carrier" in output
    assert said(call)[-1] == ("assistant", "Sorry, I couldn't transfer you.")


def test_a_transfer_to_an_unknown_destination_is_refused(make_call, run_call, livekit_server):
    call = make_call(transfers=[{"name": "Sales", "destination": "+14155550123"}])
    llm = FakeLLM([ToolCall("transfer_call", {"destination": "The CEO"}), "I can only transfer you to sales."])

    run_call(call, llm, lambda runner: ask(runner, "Put me through to the CEO."), caller_identity="sip_x")

    assert transfers(livekit_server) == []
    [(_, output, is_error)] = llm.requests[1].tool_outputs()
    assert is_error and "There is no transfer destination 'The CEO'" in output


def test_a_custom_function_is_posted_signed_and_its_result_given_to_the_model(make_call, run_call, settings):
    settings.VOICE_FUNCTIONS_ALLOW_PRIVATE_NETWORKS = True
    call = make_call()
    secret = call.customer.signing_secret
    with FunctionServer(secret, respond=lambda body: (200, {"status": "shipped", "eta": "Tuesday"})) as endpoint:
        call.agent.functions = [
            {
                "name": "order_status",
                "description": "Look up an order",
                "parameters": {"type": "object", "properties": {"orderId": {"type": "string"}}},
                "url": f"{endpoint.url}/hooks/orders",
            }
        ]
        call.agent.save()
        llm = FakeLLM([ToolCall("order_status", {"orderId": "A-17"}), "It ships Tuesday."])
        run_call(call, llm, lambda runner: ask(runner, "Where is order A-17?"))

    [received] = endpoint.calls
    assert received["signature_valid"] and received["path"] == "/hooks/orders"
    assert received["body"] == {
        "function": "order_status",
        "arguments": {"orderId": "A-17"},
        "call": {
            "id": call.pk,
            "agentId": call.agent_id,
            "direction": "inbound",
            "fromNumber": call.from_number,
            "toNumber": call.to_number,
            "simulation": False,
        },
    }
    assert llm.requests[1].tool_outputs() == [("order_status", '{"status": "shipped", "eta": "Tuesday"}', False)]
    tool = next(t for t in turns(call) if t.role == TurnRole.TOOL)
    assert tool.tool_payload["output"] == {"status": "shipped", "eta": "Tuesday"}
    assert said(call)[-1] == ("assistant", "It ships Tuesday.")


def run_with_a_custom_function(call, run_call, name: str, respond, llm, question: str) -> None:
    """Gives the call's agent one custom function `name`, answered by `respond` on a local
    endpoint signed with the customer's secret, then runs the call: the caller asks
    `question` and `llm` answers (calling the function)."""
    with FunctionServer(call.customer.signing_secret, respond=respond) as endpoint:
        call.agent.functions = [{"name": name, "parameters": {"type": "object"}, "url": endpoint.url}]
        call.agent.save()
        run_call(call, llm, lambda runner: ask(runner, question))


@pytest.mark.parametrize(
    ("respond", "expected"),
    [
        (lambda body: (200, b"<html>oops</html>"), "answered with something that is not JSON"),
        (lambda body: (500, {"error": "down"}), "failed with HTTP status 500"),
    ],
    ids=["garbage", "server-error"],
)
def test_a_custom_function_that_answers_badly_becomes_a_tool_error(make_call, run_call, settings, respond, expected):
    settings.VOICE_FUNCTIONS_ALLOW_PRIVATE_NETWORKS = True
    call = make_call()
    llm = FakeLLM([ToolCall("lookup", {}), "Sorry, I can't look that up right now."])
    run_with_a_custom_function(call, run_call, "lookup", respond, llm, "Look it up.")

    [(name, output, is_error)] = llm.requests[1].tool_outputs()
    assert name == "lookup" and is_error and expected in output
    assert said(call)[-1] == ("assistant", "Sorry, I can't look that up right now.")


def test_a_custom_function_that_times_out_becomes_a_tool_error(make_call, run_call, settings):
    settings.VOICE_FUNCTIONS_ALLOW_PRIVATE_NETWORKS = True
    settings.VOICE_FUNCTION_TIMEOUT_SECONDS = 0.3

    def slow(body):
        time.sleep(1.5)  # the endpoint answers long after the worker gave up
        return 200, {"late": True}

    call = make_call()
    llm = FakeLLM([ToolCall("slow_lookup", {}), "That is taking too long, sorry."])
    run_with_a_custom_function(call, run_call, "slow_lookup", slow, llm, "Check it.")

    [(_, output, is_error)] = llm.requests[1].tool_outputs()
    assert is_error and "did not answer within 0.3 seconds" in output


def test_max_duration_ends_the_call_with_a_spoken_wrap_up(make_call, run_call):
    # Answered max_duration_seconds ago: the limit is reached as soon as the agent joins.
    call = make_call(
        max_duration_seconds=60,
        first_message="",
        call={"answered_at": timezone.now() - datetime.timedelta(seconds=60)},
    )

    run_call(call, FakeLLM([]), lambda runner: runner.wait_closed())

    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.MAX_DURATION)
    assert call.duration >= 60
    assert said(call) == [("assistant", DEFAULT_MAX_DURATION_MESSAGE)]


def test_silence_is_reprompted_once_then_ends_the_call(make_call, run_call):
    call = make_call(silence_timeout_seconds=1, first_message="Hello?")

    run_call(call, FakeLLM([]), lambda runner: runner.wait_closed())

    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.SILENCE)
    assert said(call) == [
        ("assistant", "Hello?"),
        ("assistant", DEFAULT_REPROMPT_MESSAGE),
        ("assistant", DEFAULT_SILENCE_MESSAGE),
    ]


def test_without_reprompts_silence_ends_the_call_at_once(make_call, run_call):
    call = make_call(
        silence_timeout_seconds=1,
        first_message="Hello?",
        voice_settings={"silenceReprompts": 0},
        metadata={"silenceMessage": "Bye for now."},
    )

    run_call(call, FakeLLM([]), lambda runner: runner.wait_closed())

    call.refresh_from_db()
    assert call.end_reason == EndReason.SILENCE
    assert said(call) == [("assistant", "Hello?"), ("assistant", "Bye for now.")]


def test_a_callers_end_call_phrase_ends_the_call_without_asking_the_model(make_call, run_call):
    call = make_call(end_call_phrases=["talk to you later"], metadata={"goodbyeMessage": "Bye, take care!"})
    llm = FakeLLM([])

    async def scenario(runner):
        await runner.session.run(user_input="OK, talk to you later!")
        await runner.wait_closed()

    run_call(call, llm, scenario)

    assert llm.requests == []
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.AGENT_ENDED)
    assert said(call)[-2:] == [("user", "OK, talk to you later!"), ("assistant", "Bye, take care!")]


def test_the_agent_saying_an_end_call_phrase_ends_the_call(make_call, run_call):
    call = make_call(end_call_phrases=["have a great day"])
    llm = FakeLLM(["You're all set. Have a great day!"])

    async def scenario(runner):
        await runner.session.run(user_input="Thanks for booking it.")
        await runner.wait_closed()

    run_call(call, llm, scenario)

    call.refresh_from_db()
    assert call.end_reason == EndReason.AGENT_ENDED
    assert said(call)[-1] == ("assistant", "You're all set. Have a great day!")


def test_a_model_failure_is_recorded_and_the_agent_recovers(make_call, run_call):
    call = make_call()
    llm = FakeLLM([Fail("upstream timeout"), "Sure, here it is."])
    seen = {}

    async def scenario(runner):
        await runner.session.run(user_input="What are your hours?")
        await ask(runner, "What are your hours?")
        seen["call"] = await Call.objects.aget(pk=call.pk)

    run_call(call, llm, scenario)

    assert seen["call"].status == CallStatus.ACTIVE
    system = [t for t in turns(call) if t.role == TurnRole.SYSTEM]
    assert len(system) == 1 and "llm_error" in system[0].content and "upstream timeout" in system[0].content
    assert ("assistant", DEFAULT_RECOVERY_MESSAGE) in said(call)
    assert said(call)[-1] == ("assistant", "Sure, here it is.")


def test_repeated_model_failures_end_the_call_as_failed(make_call, run_call):
    call = make_call(first_message="")
    llm = FakeLLM([Fail("bad gateway"), Fail("bad gateway")])

    async def scenario(runner):
        await runner.session.run(user_input="Hello?")
        await runner.session.run(user_input="Hello??")
        await runner.wait_closed()

    run_call(call, llm, scenario)

    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.FAILED, EndReason.ERROR)
    assert "The language model failed 2 times in a row" in call.error_message and "bad gateway" in call.error_message
    assert len([t for t in turns(call) if t.role == TurnRole.SYSTEM]) == 2


@pytest.mark.parametrize(("answer_after", "filler_said"), [(1.2, True), (0.1, False)], ids=["slow", "fast"])
def test_a_slow_custom_function_is_covered_by_the_filler_line_once(
    make_call, run_call, settings, answer_after, filler_said
):
    settings.VOICE_FUNCTIONS_ALLOW_PRIVATE_NETWORKS = True

    def respond(body):
        time.sleep(answer_after)
        return 200, {"status": "shipped"}

    call = make_call(
        first_message="",
        voice_settings={"fillerAfterSeconds": 0.4},
        metadata={"fillerMessage": "Bear with me a second."},
    )
    llm = FakeLLM([ToolCall("order_status", {}, text="Let me check."), "It has shipped."])
    run_with_a_custom_function(call, run_call, "order_status", respond, llm, "Where is my order?")

    expected = [("user", "Where is my order?"), ("assistant", "Let me check.")]
    # Once per tool call, even though the function takes three times the delay.
    expected += [("assistant", "Bear with me a second.")] if filler_said else []
    expected += [("assistant", "It has shipped.")]
    assert said(call) == expected
