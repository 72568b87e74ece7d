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
from testsupport.audio import RoomlessBridge, frame_numbers, numbered_frames
from voice_worker import warm_transfer
from voice_worker.testing import FakeLLM, ToolCall

from .conftest import deleted_rooms
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


def accept_then(bridged_call=None, *, caller_says="Get me your manager.", person_says="Dana here."):
    """A scenario: the caller asks for the manager, who accepts; then `bridged_call(runner)`."""

    async def scenario(runner):
        caller_turn = asyncio.ensure_future(runner.session.run(user_input=caller_says))
        consultation = await consultation_of(runner)
        await consultation.run(user_input=person_says)
        await consultation.run(user_input="Sure, put them through.")
        await caller_turn
        await runner.wait_closed()
        if bridged_call is not None:
            await bridged_call(runner)

    return scenario


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

    scenario = accept_then(caller_says="I want a refund of $200.", person_says="Hello, Dana speaking.")
    bridge = RoomlessBridge()  # there if needed: LiveKit Cloud moves the person instead
    run_call(call, llm, scenario, caller_identity=CALLER, bridge=bridge)

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
    assert record["connectedBy"] == "move"
    assert record["summary"] == "Hi Dana, I have a caller who wants a refund of two hundred dollars."
    # The caller and the manager talk in the call's room now: the agent does not delete it.
    assert [m.room for m in livekit_server.messages("DeleteRoom")] == []
    assert livekit_server.messages("TransferSIPParticipant") == []
    assert not bridge.opened.is_set()
    assert ("system", "warm transfer to Manager: connected (move)") in [(t.role, t.content) for t in turns(call)]
    # The caller's transcript holds the caller's conversation only: not the consultation.
    assert said(call) == [("user", "I want a refund of $200."), ("assistant", "Let me get my manager.")]


def back_with_the_caller_after(answer):
    """A scenario: the caller asks for the manager, Dana answers `answer`, and the transfer
    does not connect: the agent is back with the caller, who hears its next line."""

    async def scenario(runner):
        caller_turn = asyncio.ensure_future(runner.session.run(user_input="Get me your manager."))
        consultation = await consultation_of(runner)
        await consultation.run(user_input="Dana here.")
        await settled(consultation.run(user_input=answer))
        await settled(caller_turn)
        await runner.session.wait_for_idle()
        await runner.flush()

    return scenario


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

    run_call(call, llm, back_with_the_caller_after("I'm in a meeting, sorry."), caller_identity=CALLER)

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


def accepting_llm():
    return FakeLLM(
        [
            ToolCall("transfer_call", {"destination": "Manager"}, text="Let me get my manager."),
            "Hi Dana, I have a caller who wants a refund.",
            ToolCall("connect_to_caller", {}),
        ]
    )


async def bridge_ended(runner):
    for _ in range(500):
        if runner.bridge_ended is not None:
            return runner.bridge_ended
        await asyncio.sleep(0.01)
    raise AssertionError("the bridged call never ended")


def bridged_until_the_caller_hangs_up(call, run_call) -> dict:
    """Runs `call` through an accepted warm transfer in which the caller hangs up as soon as
    the worker's bridge (if it is the way the person is connected) carries the call;
    returns the call's transfer record."""
    bridge = RoomlessBridge()

    async def the_caller_hangs_up(runner):
        await asyncio.wait_for(bridge.opened.wait(), 5)
        bridge.caller.hang_up()
        await bridge_ended(runner)

    run_call(call, accepting_llm(), accept_then(the_caller_hangs_up), caller_identity=CALLER, bridge=bridge)
    call.refresh_from_db()
    [record] = call.metadata["transfers"]
    return record


async def until(predicate):
    async with asyncio.timeout(5):
        while not predicate():
            await asyncio.sleep(0.01)


def test_on_a_self_hosted_livekit_server_the_worker_bridges_the_caller_and_the_person(
    warm_call, run_call, livekit_server
):
    """MoveParticipant is not implemented on self-hosted livekit-server: the worker carries
    the audio between the two rooms itself, both ways, until one side hangs up."""
    livekit_server.self_hosted = True
    call = warm_call()
    bridge = RoomlessBridge()

    async def talk_then_the_manager_hangs_up(runner):
        await asyncio.wait_for(bridge.opened.wait(), 5)
        bridge.caller.say(*numbered_frames(1, 100))
        bridge.destination.say(*numbered_frames(500, 80))
        await until(lambda: len(bridge.destination.heard) == 100 and len(bridge.caller.heard) == 80)
        assert runner.bridge_ended is None  # the call goes on, bridged, after the agent left
        bridge.destination.hang_up()
        await bridge_ended(runner)

    run_call(call, accepting_llm(), accept_then(talk_then_the_manager_hangs_up), caller_identity=CALLER, bridge=bridge)

    # One MoveParticipant, answered as livekit-server answers it; then the bridge.
    [move] = livekit_server.messages("MoveParticipant")
    assert (move.room, move.destination_room) == (f"{call.room_name}-human-agent", call.room_name)
    assert frame_numbers(bridge.destination.heard) == list(range(1, 101))
    assert frame_numbers(bridge.caller.heard) == list(range(500, 580))
    assert bridge.closed
    # The manager hung up: the caller is hung up too (both rooms go), the call is recorded.
    assert set(deleted_rooms(livekit_server)) == {call.room_name, f"{call.room_name}-human-agent"}
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.TRANSFERRED)
    [record] = call.metadata["transfers"]
    assert (record["outcome"], record["connectedBy"], record["endedBy"]) == ("connected", "bridge", "destination")
    assert record["bridgeSeconds"] >= 0 and record["endedAt"] >= record["at"]
    notes = [t.content for t in turns(call) if t.role == TurnRole.SYSTEM]
    assert "warm transfer to Manager: connected (bridge)" in notes
    assert any(n.startswith("warm transfer to Manager: bridge ended after") and "Manager hung up" in n for n in notes)


def test_auto_remembers_a_self_hosted_server_for_the_rest_of_the_process(warm_call, run_call, livekit_server):
    livekit_server.self_hosted = True
    for number in (1, 2):
        call = warm_call()
        record = bridged_until_the_caller_hangs_up(call, run_call)
        assert (record["connectedBy"], record["endedBy"]) == ("bridge", "caller"), number
        # The next call takes place in the job's room (fake_job_context has one room name).
        Call.objects.filter(pk=call.pk).update(room_name=f"done-{number}")
    # Only the first call asked LiveKit to move the person.
    assert len(livekit_server.messages("MoveParticipant")) == 1


def test_bridge_setting_never_asks_livekit_to_move(warm_call, run_call, livekit_server, settings):
    settings.LIVEKIT_WARM_TRANSFER_CONNECT = "bridge"
    call = warm_call()
    bridge = RoomlessBridge()

    async def the_caller_hangs_up(runner):
        await asyncio.wait_for(bridge.opened.wait(), 5)
        bridge.caller.say(*numbered_frames(1, 3))
        await until(lambda: len(bridge.destination.heard) == 3)
        bridge.caller.hang_up()
        await bridge_ended(runner)

    run_call(call, accepting_llm(), accept_then(the_caller_hangs_up), caller_identity=CALLER, bridge=bridge)

    assert livekit_server.messages("MoveParticipant") == []
    call.refresh_from_db()
    [record] = call.metadata["transfers"]
    assert (record["connectedBy"], record["endedBy"]) == ("bridge", "caller")
    assert any("bridge ended after" in t.content and "the caller hung up" in t.content for t in turns(call))


def test_move_setting_on_a_self_hosted_server_returns_to_the_caller(warm_call, run_call, livekit_server, settings):
    """`move` is for LiveKit Cloud only: on livekit-server the transfer fails, and the
    caller is back with the agent instead of left on hold."""
    settings.LIVEKIT_WARM_TRANSFER_CONNECT = "move"
    livekit_server.self_hosted = True
    call = warm_call()
    bridge = RoomlessBridge()
    llm = FakeLLM(
        [
            ToolCall("transfer_call", {"destination": "Manager"}, text="Let me get my manager."),
            "Hi Dana, I have a caller who wants a refund.",
            ToolCall("connect_to_caller", {}),
            "I couldn't put you through, sorry. Anything else?",
        ]
    )

    run_call(call, llm, back_with_the_caller_after("Sure, put them through."), caller_identity=CALLER, bridge=bridge)

    assert len(livekit_server.messages("MoveParticipant")) == 1
    assert not bridge.opened.is_set()
    assert said(call)[-1] == ("assistant", "I couldn't put you through, sorry. Anything else?")
    call.refresh_from_db()
    assert call.end_reason == EndReason.CALLER_HUNG_UP
    [record] = call.metadata["transfers"]
    assert (record["mode"], record["outcome"]) == ("warm", "failed")
    assert "cannot move participants" in record["detail"] and "connectedBy" not in record
    assert warm_transfer.connect_method() == "move"  # nothing remembered: the setting says move


def test_a_worker_shutting_down_hangs_up_a_bridged_call(warm_call, run_call, livekit_server, settings):
    """The bridged call lives in the job: when the job is shut down (the worker stopping),
    both sides are hung up rather than left in two silent rooms, and the record says so."""
    settings.LIVEKIT_WARM_TRANSFER_CONNECT = "bridge"
    call = warm_call()
    bridge = RoomlessBridge()

    async def the_worker_stops(runner):
        await asyncio.wait_for(bridge.opened.wait(), 5)
        await runner._on_job_shutdown("worker draining")  # what the job runs on shutdown
        await bridge_ended(runner)

    run_call(call, accepting_llm(), accept_then(the_worker_stops), caller_identity=CALLER, bridge=bridge)

    assert bridge.closed
    assert set(deleted_rooms(livekit_server)) == {call.room_name, f"{call.room_name}-human-agent"}
    call.refresh_from_db()
    [record] = call.metadata["transfers"]
    assert (record["connectedBy"], record["endedBy"]) == ("bridge", "worker")
    assert any("the voice worker stopped the call" in t.content for t in turns(call))


def test_auto_bridges_a_call_whose_move_failed_but_keeps_moving_the_next(warm_call, run_call, livekit_server):
    """LiveKit Cloud failing one MoveParticipant (unavailable): that call is bridged rather
    than the person hung up on, and the next call is moved again (nothing remembered)."""
    livekit_server.fail_next("MoveParticipant", code="unavailable", msg="node draining")
    call = warm_call()
    record = bridged_until_the_caller_hangs_up(call, run_call)
    assert (record["outcome"], record["connectedBy"], record["endedBy"]) == ("connected", "bridge", "caller")
    assert warm_transfer.connect_method() == "auto"
