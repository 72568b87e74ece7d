"""Warm transfer end to end in text mode: the real CallRunner and MorpheusAgent, LiveKit's
WarmTransferTask, and the local LiveKit Twirp server dialling the destination and moving
the person who answered into the caller's room. The person is played by the test, talking
to the consultation session."""

import asyncio
import contextlib

import pytest
from livekit import api
from livekit.agents import ToolError

from calls import livekit_client
from calls.models import Call, CallStatus, EndReason, TurnRole
from telephony.models import SipTrunk
from telephony.tests.factories import PhoneNumberFactory
from voice_worker.testing import FakeLLM, ToolCall

from .test_worker_calls import said, turns

pytestmark = pytest.mark.django_db

CALLER = "sip_+14155550199"
MANAGER = {"name": "Manager", "destination": "+14155550124", "description": "Refunds over $100", "mode": "warm"}


@pytest.fixture
def warm_call(make_call, livekit_server):
    """A phone call to a number whose trunk can dial out, with a warm transfer destination."""
    trunk_info = livekit_client.create_sip_outbound_trunk(
        api.SIPOutboundTrunkInfo(name="Carrier", address="sip.carrier.example.com", numbers=["*"])
    )
    trunk = SipTrunk.objects.create(
        name="Carrier", address="sip.carrier.example.com", livekit_trunk_id=trunk_info.sip_trunk_id
    )

    def make(**agent_fields):
        call = make_call(first_message="", transfers=[MANAGER], **agent_fields)
        call.phone_number = PhoneNumberFactory(customer=call.customer, sip_trunk=trunk)
        call.save()
        return call

    return make


async def settled(run):
    """A `session.run(...)` in which the warm-transfer task ended without connecting: LiveKit's
    test API makes the run's result that task's error, though the tool handled it."""
    with contextlib.suppress(ToolError):
        await run


async def consultation_of(runner):
    """The consultation session, once the destination has answered."""
    for _ in range(200):
        task = runner.warm_transfer
        if task is not None and task.consultation is not None:
            return task.consultation
        await asyncio.sleep(0.02)
    raise AssertionError("the destination was never called")


def test_a_warm_transfer_briefs_the_person_then_connects_the_caller(warm_call, run_call, livekit_server):
    # A short filler delay: the consultation takes longer, and still no filler line reaches
    # the caller (the caller's session is on hold, in the transfer task, meanwhile).
    call = warm_call(voice_settings={"fillerAfterSeconds": 0.2})
    llm = FakeLLM(
        [
            ToolCall("transfer_call", {"destination": "Manager"}, text="Let me get my manager."),
            # The consultation: the agent summarises for the person who answered ...
            "Hi Dana, I have a caller who wants a refund of two hundred dollars.",
            # ... who accepts, and the agent connects them.
            ToolCall("connect_to_caller", {}),
        ]
    )

    async def scenario(runner):
        caller_turn = asyncio.ensure_future(runner.session.run(user_input="I want a refund of $200."))
        consultation = await consultation_of(runner)
        await consultation.run(user_input="Hello, Dana speaking.")
        await consultation.run(user_input="Sure, put them through.")
        await caller_turn
        await runner.wait_closed()

    run_call(call, llm, scenario, caller_identity=CALLER)

    [dial] = livekit_server.messages("CreateSIPParticipant")
    assert (dial.sip_call_to, dial.room_name) == ("+14155550124", f"{call.room_name}-human-agent")
    assert dial.wait_until_answered and dial.sip_number == call.phone_number.phone_number
    assert dial.sip_trunk_id == SipTrunk.objects.get().livekit_trunk_id
    [move] = livekit_server.messages("MoveParticipant")
    assert (move.room, move.identity, move.destination_room) == (dial.room_name, "human-agent-sip", call.room_name)
    # The summary the person heard was written from the conversation with the caller.
    summary_request = llm.requests[1]
    assert "Caller: I want a refund of $200." in summary_request.messages()[0][1]
    assert "Manager" in summary_request.messages()[0][1]
    assert set(llm.requests[2].tool_names) >= {"connect_to_caller", "decline_transfer"}

    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.TRANSFERRED)
    [record] = call.metadata["transfers"]
    assert (record["destination"], record["mode"], record["outcome"]) == ("Manager", "warm", "connected")
    assert record["summary"] == "Hi Dana, I have a caller who wants a refund of two hundred dollars."
    # The caller and the manager talk in the call's room now: the agent does not delete it.
    assert [m.room for m in livekit_server.messages("DeleteRoom")] == []
    assert livekit_server.messages("TransferSIPParticipant") == []
    assert ("system", "warm transfer to Manager: connected") in [(t.role, t.content) for t in turns(call)]
    # The caller's transcript holds the caller's conversation only: not the consultation.
    assert said(call) == [("user", "I want a refund of $200."), ("assistant", "Let me get my manager.")]


def test_a_declined_warm_transfer_returns_to_the_caller(warm_call, run_call, livekit_server):
    call = warm_call()
    llm = FakeLLM(
        [
            ToolCall("transfer_call", {"destination": "Manager"}, text="Let me get my manager."),
            "Hi Dana, I have a caller who wants a refund.",
            ToolCall("decline_transfer", {"reason": "in a meeting"}),
            "I'm sorry, my manager can't take the call right now. Can I help another way?",
        ]
    )

    async def scenario(runner):
        caller_turn = asyncio.ensure_future(runner.session.run(user_input="Get me your manager."))
        consultation = await consultation_of(runner)
        await consultation.run(user_input="Dana here.")
        await settled(consultation.run(user_input="I'm in a meeting, sorry."))
        await settled(caller_turn)
        await runner.session.wait_for_idle()
        await runner.flush()

    run_call(call, llm, scenario, caller_identity=CALLER)

    assert livekit_server.messages("MoveParticipant") == []
    [(name, output, is_error)] = llm.requests[3].tool_outputs()
    assert name == "transfer_call" and is_error and "Manager did not take the call" in output
    assert "in a meeting" in output
    assert said(call)[-1] == (
        "assistant",
        "I'm sorry, my manager can't take the call right now. Can I help another way?",
    )
    call.refresh_from_db()
    assert call.end_reason == EndReason.CALLER_HUNG_UP  # the call went on until the caller left
    [record] = call.metadata["transfers"]
    assert (record["mode"], record["outcome"]) == ("warm", "declined")
    assert "in a meeting" in record["detail"]
    assert record["summary"] == "Hi Dana, I have a caller who wants a refund."


def test_a_warm_transfer_nobody_answers_returns_to_the_caller(warm_call, run_call, livekit_server):
    livekit_server.dial_outcome("no_answer")
    call = warm_call()
    llm = FakeLLM(
        [
            ToolCall("transfer_call", {"destination": "Manager"}, text="Let me get my manager."),
            "Nobody is answering, sorry. What else can I do for you?",
        ]
    )

    async def scenario(runner):
        await settled(runner.session.run(user_input="Get me your manager."))
        await runner.session.wait_for_idle()
        await runner.flush()

    run_call(call, llm, scenario, caller_identity=CALLER)

    [dial] = livekit_server.messages("CreateSIPParticipant")
    assert dial.sip_call_to == "+14155550124"
    [(_, output, is_error)] = llm.requests[1].tool_outputs()
    assert is_error and "Manager did not take the call" in output
    call.refresh_from_db()
    [record] = call.metadata["transfers"]
    assert (record["mode"], record["outcome"], record["summary"]) == ("warm", "no_answer", "")
    assert said(call)[-1] == ("assistant", "Nobody is answering, sorry. What else can I do for you?")
    assert Call.objects.get(pk=call.pk).end_reason == EndReason.CALLER_HUNG_UP


def test_a_cold_transfer_is_recorded_on_the_call(make_call, run_call, livekit_server):
    call = make_call(first_message="", transfers=[{**MANAGER, "mode": "cold"}])
    llm = FakeLLM([ToolCall("transfer_call", {"destination": "Manager"}, text="Transferring you now.")])

    async def scenario(runner):
        await runner.session.run(user_input="Manager please.")
        await runner.wait_closed()

    run_call(call, llm, scenario, caller_identity=CALLER)

    assert livekit_server.messages("CreateSIPParticipant") == []
    [transfer] = livekit_server.messages("TransferSIPParticipant")
    assert transfer.transfer_to == "tel:+14155550124"
    call.refresh_from_db()
    [record] = call.metadata["transfers"]
    assert (record["destination"], record["mode"], record["outcome"]) == ("Manager", "cold", "connected")
    assert call.end_reason == EndReason.TRANSFERRED
    assert any(t.role == TurnRole.SYSTEM and t.content == "cold transfer to Manager: connected" for t in turns(call))


def test_a_warm_transfer_without_an_outbound_trunk_is_refused_and_recorded(make_call, run_call, livekit_server):
    call = make_call(first_message="", transfers=[MANAGER])  # no phone number, no platform trunk
    llm = FakeLLM([ToolCall("transfer_call", {"destination": "Manager"}), "I can't reach my manager, sorry."])

    async def scenario(runner):
        await runner.session.run(user_input="Manager please.")
        await runner.flush()

    run_call(call, llm, scenario, caller_identity=CALLER)

    assert livekit_server.messages("CreateSIPParticipant") == []
    [(_, output, is_error)] = llm.requests[1].tool_outputs()
    assert is_error and "no outbound SIP trunk" in output
    call.refresh_from_db()
    assert [(r["mode"], r["outcome"]) for r in call.metadata["transfers"]] == [("warm", "failed")]


def test_a_slow_transfer_is_covered_by_the_filler_line(make_call, run_call, livekit_server):
    livekit_server.stall_next(1.0, "TransferSIPParticipant")
    call = make_call(
        first_message="",
        transfers=[{**MANAGER, "mode": "cold"}],
        voice_settings={"fillerAfterSeconds": 0.3},
    )
    llm = FakeLLM([ToolCall("transfer_call", {"destination": "Manager"}, text="Transferring you now.")])

    async def scenario(runner):
        await runner.session.run(user_input="Manager please.")
        await runner.wait_closed()

    run_call(call, llm, scenario, caller_identity=CALLER)

    assert said(call) == [
        ("user", "Manager please."),
        ("assistant", "Transferring you now."),
        ("assistant", "One moment, please."),
    ]
    call.refresh_from_db()
    assert call.end_reason == EndReason.TRANSFERRED
