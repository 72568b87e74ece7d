"""POST /calls/outbound and the dial: LiveKit (the Twirp double) dials through the trunk;
the SIP outcomes come back as LiveKit reports them (webhook, SIP response)."""

import json

import pytest
from google.protobuf.json_format import MessageToJson
from livekit import api

from agents.models import AgentStatus
from agents.tests.factories import AgentFactory
from calls import leases, tasks  # noqa: F401 (registers the dial task for eager runs)
from calls.models import Call, CallCapacity, CallStatus, EndReason
from calls.outbound import CALLEE_IDENTITY
from calls.tests.test_livekit_webhook import post_event
from telephony import trunks
from telephony.tests.factories import PhoneNumberFactory
from testsupport.api import assert_error, assert_success, client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/calls/outbound"


@pytest.fixture
def setup(customer_a, alice, livekit_server):
    agent = AgentFactory(
        customer=customer_a,
        status=AgentStatus.ACTIVE,
        system_prompt="You call {{ name }} about order {{order}}.",
        first_message="Hi {{name}}!",
    )
    number = PhoneNumberFactory(customer=customer_a, phone_number="+14155550100")
    trunk = trunks.sip_trunk_create(
        customer=customer_a, data={"name": "T", "address": "t.example.com", "phone_number_ids": [number.id]}
    )
    return {"agent": agent, "number": number, "trunk": trunk}


def body(setup, **overrides):
    return {
        "agentId": setup["agent"].id,
        "to": "+1 (415) 555-0123",
        "fromNumberId": setup["number"].id,
        "variables": {"name": "Ada", "order": 42},
        **overrides,
    }


@pytest.fixture(autouse=True)
def commits(django_capture_on_commit_callbacks):
    """After-commit work (the outbox publishing the dial task) runs as it would in production."""
    state = {}

    def run(callable_, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            state["result"] = callable_(*args, **kwargs)
        return state["result"]

    return run


PLACE = {}


@pytest.fixture(autouse=True)
def _bind_place(commits):
    PLACE["commits"] = commits


def place(client, setup, **overrides):
    response = PLACE["commits"](client.post, URL, body(setup, **overrides), format="json")
    return assert_success(response, 201)


def run(callable_, *args, **kwargs):
    return PLACE["commits"](callable_, *args, **kwargs)


def webhook(client, server, event, room, participant):
    message = api.WebhookEvent(event=event, room=api.Room(name=room), id="EV", created_at=1)
    message.participant.CopyFrom(participant)
    return assert_success(post_event(client, server, MessageToJson(message)), 200)


def test_it_queues_dials_and_answers(alice_client, api_client, setup, livekit_server):
    data = place(alice_client, setup)
    call = Call.objects.get(pk=data["id"])
    assert data["direction"] == "outbound" and data["toNumber"] == "+14155550123"
    assert data["fromNumber"] == "+14155550100" and data["answeredBy"] == ""
    # Eager Celery: the dial ran after commit. The call rings; LiveKit dials through the trunk.
    assert call.status == CallStatus.RINGING
    [dial] = livekit_server.messages("CreateSIPParticipant")
    assert dial.sip_trunk_id == setup["trunk"].livekit_trunk_id
    assert (dial.sip_call_to, dial.sip_number, dial.room_name) == ("+14155550123", "+14155550100", call.room_name)
    assert dial.participant_identity == CALLEE_IDENTITY and not dial.wait_until_answered
    [dispatch] = livekit_server.dispatches_in(call.room_name)
    metadata = json.loads(dispatch.metadata)
    assert metadata["callId"] == call.id and metadata["variables"] == {"name": "Ada", "order": "42"}
    assert leases.held(call.customer_id)["outbound"] == [f"call:{call.id}"]

    # Joining while dialing is not answering; sip.callStatus turning active is.
    callee = livekit_server.participants[call.room_name][CALLEE_IDENTITY]
    webhook(api_client, livekit_server, "participant_joined", call.room_name, callee)
    call.refresh_from_db()
    assert call.status == CallStatus.RINGING
    webhook(
        api_client,
        livekit_server,
        "participant_joined",
        call.room_name,
        livekit_server.sip_answer(call.room_name, CALLEE_IDENTITY),
    )
    call.refresh_from_db()
    assert call.status == CallStatus.ACTIVE and call.answered_at is not None

    left = livekit_server.sip_hangup(call.room_name, CALLEE_IDENTITY)
    run(webhook, api_client, livekit_server, "participant_left", call.room_name, left)
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED and call.end_reason == EndReason.CALLER_HUNG_UP
    assert leases.held(call.customer_id) == {"inbound": [], "outbound": []}


@pytest.mark.parametrize(
    ("outcome", "status", "reason"),
    [
        ("busy", CallStatus.BUSY, EndReason.BUSY),
        ("no_answer", CallStatus.NO_ANSWER, EndReason.NO_ANSWER),
        ("declined", CallStatus.BUSY, EndReason.BUSY),
        ("failed", CallStatus.FAILED, EndReason.FAILED),
    ],
)
def test_each_sip_outcome_from_the_webhook_ends_the_call(
    alice_client, api_client, setup, livekit_server, outcome, status, reason
):
    call = Call.objects.get(pk=place(alice_client, setup)["id"])
    left = livekit_server.sip_hangup(call.room_name, CALLEE_IDENTITY, outcome)
    run(webhook, api_client, livekit_server, "participant_left", call.room_name, left)
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (status, reason)
    assert call.answered_at is None and call.duration == 0
    assert leases.in_use(call.customer_id) == 0


@pytest.mark.parametrize(
    ("code", "status"),
    [(486, CallStatus.BUSY), (480, CallStatus.NO_ANSWER), (603, CallStatus.BUSY), (503, CallStatus.FAILED)],
)
def test_a_sip_response_to_the_dial_request_is_the_outcome(alice_client, setup, livekit_server, code, status):
    livekit_server.fail_next(
        "CreateSIPParticipant", code="unavailable", msg="sip failed", meta={"sip_status_code": str(code)}
    )
    call = Call.objects.get(pk=place(alice_client, setup)["id"])
    assert call.status == status and leases.in_use(call.customer_id) == 0


def test_a_room_finishing_while_ringing_is_no_answer(alice_client, api_client, setup, livekit_server):
    call = Call.objects.get(pk=place(alice_client, setup)["id"])
    message = api.WebhookEvent(event="room_finished", room=api.Room(name=call.room_name), id="EV", created_at=1)
    assert_success(run(post_event, api_client, livekit_server, MessageToJson(message)))
    call.refresh_from_db()
    assert call.status == CallStatus.NO_ANSWER and leases.in_use(call.customer_id) == 0


def test_livekit_down_during_the_dial_fails_the_call_and_frees_the_slot(alice_client, setup, livekit_server):
    livekit_server.fail_next("CreateSIPParticipant", code="unavailable", times=100)
    call = Call.objects.get(pk=place(alice_client, setup)["id"])
    assert call.status == CallStatus.FAILED and call.end_reason == EndReason.FAILED
    assert "Dial failed" in call.error_message
    assert leases.in_use(call.customer_id) == 0
    assert len(livekit_server.messages("CreateSIPParticipant")) == 7  # the first try and six retries


def test_livekit_recovering_during_retries_dials_once(alice_client, setup, livekit_server):
    livekit_server.fail_next("CreateSIPParticipant", code="unavailable", times=2)
    call = Call.objects.get(pk=place(alice_client, setup)["id"])
    assert call.status == CallStatus.RINGING
    assert list(livekit_server.participants[call.room_name]).count(CALLEE_IDENTITY) == 1


def test_a_redelivered_dial_task_never_dials_twice(alice_client, setup, livekit_server):
    from calls.tasks import dial_outbound_call

    call = Call.objects.get(pk=place(alice_client, setup)["id"])
    assert dial_outbound_call.apply(args=[call.id]).get() == "skipped"
    # Even a task that finds the claim abandoned asks LiveKit before dialing.
    Call.objects.filter(pk=call.pk).update(
        metadata={**call.metadata, "dial": "claimed", "claimedAt": "2020-01-01T00:00:00+00:00"}
    )
    assert dial_outbound_call.apply(args=[call.id]).get() == "dialing"
    assert len(livekit_server.messages("CreateSIPParticipant")) == 1


def test_at_capacity_the_call_waits_queued(alice_client, setup, customer_a, livekit_server):
    CallCapacity.objects.create(customer=customer_a, concurrency_limit=2, reserved_inbound_concurrency=1)
    first = Call.objects.get(pk=place(alice_client, setup)["id"])
    second = Call.objects.get(pk=place(alice_client, setup)["id"])
    assert first.status == CallStatus.RINGING and second.status == CallStatus.QUEUED
    assert len(livekit_server.messages("CreateSIPParticipant")) == 1
    # The first call ends; the second's next try gets the slot.
    from calls.services import call_end
    from calls.tasks import dial_outbound_call

    run(call_end, call=first, reason=EndReason.ENDED_BY_USER)
    assert dial_outbound_call.apply(args=[second.id]).get() == "dialing"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"to": "not a number"}, "to", "Enter the number in E.164 format, e.g. +14155550100"),
        ({"to": "+1900 555 0199"}, "to", "Premium-rate numbers cannot be called"),
        ({"to": "+44 999"}, "to", None),
        ({"variables": {"name": "Ada"}}, "variables.order", None),
        ({"agentId": 999999}, "agentId", "Agent with ID 999999 does not exist"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_created(alice_client, setup, livekit_server, overrides, field, message):
    response = alice_client.post(URL, body(setup, **overrides), format="json")
    errors = assert_error(response, 400, fields=[field])["errors"]
    if message:
        assert errors[0]["message"] == message
    assert not Call.objects.exists() and livekit_server.messages("CreateSIPParticipant") == []


def test_a_missing_variable_is_named(alice_client, setup):
    response = alice_client.post(URL, body(setup, variables={"name": "Ada"}), format="json")
    [error] = assert_error(response, 400)["errors"]
    assert error == {
        "field": "variables.order",
        "message": "Missing variable 'order' used by the agent's prompt or first message",
    }


def test_emergency_numbers_are_refused(alice_client, setup):
    response = alice_client.post(URL, body(setup, to="+1 911"), format="json")
    assert_error(response, 400)
    assert not Call.objects.exists()


def test_another_tenants_number_or_agent_is_refused(alice_client, setup, customer_b):
    theirs = PhoneNumberFactory(customer=customer_b)
    their_agent = AgentFactory(customer=customer_b, status=AgentStatus.ACTIVE)
    response = alice_client.post(URL, body(setup, fromNumberId=theirs.id, agentId=their_agent.id), format="json")
    errors = assert_error(response, 400, fields=["fromNumberId", "agentId"])["errors"]
    assert {e["message"] for e in errors} == {
        f"Phone number with ID {theirs.id} does not exist",
        f"Agent with ID {their_agent.id} does not exist",
    }
    assert not Call.objects.exists()


def test_a_number_without_a_trunk_is_refused(alice_client, setup, customer_a):
    bare = PhoneNumberFactory(customer=customer_a)
    response = alice_client.post(URL, body(setup, fromNumberId=bare.id), format="json")
    [error] = assert_error(response, 400, fields=["fromNumberId"])["errors"]
    assert error["message"] == f"Phone number {bare.phone_number} is not on an outbound SIP trunk"


def test_zero_capacity_is_refused_up_front(alice_client, setup, customer_a):
    CallCapacity.objects.create(customer=customer_a, concurrency_limit=0)
    response = alice_client.post(URL, body(setup), format="json")
    [error] = assert_error(response, 400, fields=["fromNumberId"])["errors"]
    assert "no capacity for outbound calls" in error["message"]
    assert not Call.objects.exists()


def test_members_cannot_place_calls(charlie, setup):
    assert_error(client_for(charlie).post(URL, body(setup), format="json"), 403)
    assert not Call.objects.exists()


def test_a_scheduled_call_waits_queued(alice_client, setup, livekit_server, settings):
    import datetime

    from django.utils import timezone

    from morpheus.models import OutboxMessage

    when = timezone.now() + datetime.timedelta(hours=2)
    settings.CELERY_TASK_ALWAYS_EAGER = False  # publish keeps the eta; the worker would wait
    data = place(alice_client, setup, scheduledAt=when.isoformat())
    assert data["status"] == "queued"
    message = OutboxMessage.objects.get(task_name="calls.tasks.dial_outbound_call")
    assert message.args == [data["id"]] and abs((message.run_after - when).total_seconds()) < 1


def test_an_outbound_call_is_recorded_when_its_agent_records(alice_client, setup, livekit_server, s3_server):
    setup["agent"].recording_enabled = True
    setup["agent"].save()
    data = place(alice_client, setup)
    call = Call.objects.get(pk=data["id"])
    [egress] = livekit_server.messages("StartRoomCompositeEgress")
    assert egress.room_name == call.room_name and egress.audio_only
    assert call.recording_status == "recording"


# --- The voice worker's plain "no answer" racing LiveKit's SIP outcome -------------------


def worker_gives_up(call):
    """What the voice worker does when the callee's leg leaves before answering."""
    from voice_worker.persistence import call_end_if_open

    return run(call_end_if_open, call_id=call.id, reason=EndReason.NO_ANSWER)


@pytest.mark.parametrize("order", ["worker_first", "webhook_first"])
def test_busy_wins_over_the_workers_no_answer_in_either_order(alice_client, api_client, setup, livekit_server, order):
    call = Call.objects.get(pk=place(alice_client, setup)["id"])
    left = livekit_server.sip_hangup(call.room_name, CALLEE_IDENTITY, "busy")
    if order == "worker_first":
        assert worker_gives_up(call) is True
        call.refresh_from_db()
        assert (call.status, call.end_reason) == (CallStatus.CANCELED, EndReason.NO_ANSWER)
        run(webhook, api_client, livekit_server, "participant_left", call.room_name, left)
    else:
        run(webhook, api_client, livekit_server, "participant_left", call.room_name, left)
        assert worker_gives_up(call) is False
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.BUSY, EndReason.BUSY)
    assert call.metadata["sipOutcome"] == "busy"
    assert call.answered_at is None and leases.in_use(call.customer_id) == 0


def test_a_sip_outcome_after_the_grace_window_changes_nothing(
    alice_client, api_client, setup, livekit_server, settings
):
    import datetime

    call = Call.objects.get(pk=place(alice_client, setup)["id"])
    worker_gives_up(call)
    settings.OUTBOUND_SIP_OUTCOME_GRACE_SECONDS = 30
    ended_at = Call.objects.get(pk=call.pk).ended_at
    Call.objects.filter(pk=call.pk).update(ended_at=ended_at - datetime.timedelta(seconds=31))
    left = livekit_server.sip_hangup(call.room_name, CALLEE_IDENTITY, "busy")
    run(webhook, api_client, livekit_server, "participant_left", call.room_name, left)
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.CANCELED, EndReason.NO_ANSWER)
    assert "sipOutcome" not in call.metadata


def test_a_second_sip_outcome_or_an_ended_conversation_is_never_rewritten(
    alice_client, api_client, setup, livekit_server
):
    from calls.services import call_end

    # A SIP outcome already recorded stays: a later one for the same call is a duplicate.
    first = Call.objects.get(pk=place(alice_client, setup)["id"])
    left = livekit_server.sip_hangup(first.room_name, CALLEE_IDENTITY, "no_answer")
    run(webhook, api_client, livekit_server, "participant_left", first.room_name, left)
    from calls.outbound import DialOutcome, call_apply_dial_outcome

    assert call_apply_dial_outcome(call=first, outcome=DialOutcome.BUSY) is None
    first.refresh_from_db()
    assert (first.status, first.end_reason) == (CallStatus.NO_ANSWER, EndReason.NO_ANSWER)
    # A call someone hung up on purpose is not a plain no-answer: it keeps its reason.
    second = Call.objects.get(pk=place(alice_client, setup)["id"])
    run(call_end, call=second, reason=EndReason.ENDED_BY_USER)
    assert call_apply_dial_outcome(call=second, outcome=DialOutcome.BUSY) is None
    second.refresh_from_db()
    assert (second.status, second.end_reason) == (CallStatus.CANCELED, EndReason.ENDED_BY_USER)


# --- Queued calls without a broker: the beat sweep dials them again -------------------------


def test_without_a_broker_a_call_queued_for_capacity_is_dialed_once_a_slot_frees(
    alice_client, setup, customer_a, livekit_server, settings
):
    import datetime

    from django.utils import timezone

    from calls.services import call_end
    from calls.tasks import redial_queued_calls

    assert settings.CELERY_TASK_ALWAYS_EAGER  # no broker: the dial task cannot retry itself
    CallCapacity.objects.create(customer=customer_a, concurrency_limit=2, reserved_inbound_concurrency=1)
    first = Call.objects.get(pk=place(alice_client, setup)["id"])
    second = Call.objects.get(pk=place(alice_client, setup)["id"])
    assert (first.status, second.status) == (CallStatus.RINGING, CallStatus.QUEUED)
    later = timezone.now() + datetime.timedelta(minutes=1)

    # Still no slot: the sweep tries, the call keeps waiting, nothing is dialed.
    assert run(redial_queued_calls.apply, kwargs={}).get() == 0  # just tried: left alone
    from calls.outbound import calls_redial_queued

    assert run(calls_redial_queued, now=later) == 1
    second.refresh_from_db()
    assert second.status == CallStatus.QUEUED and len(livekit_server.messages("CreateSIPParticipant")) == 1

    # The first call ends: the next sweep dials the second, once.
    run(call_end, call=first, reason=EndReason.ENDED_BY_USER)
    assert run(calls_redial_queued, now=later + datetime.timedelta(minutes=1)) == 1
    second.refresh_from_db()
    assert second.status == CallStatus.RINGING
    assert [m.room_name for m in livekit_server.messages("CreateSIPParticipant")] == [first.room_name, second.room_name]
    assert leases.held(customer_a.id)["outbound"] == [f"call:{second.id}"]
    assert run(calls_redial_queued, now=later + datetime.timedelta(minutes=2)) == 0


def test_the_sweep_leaves_alone_a_call_whose_dial_task_is_still_retrying(
    alice_client, setup, customer_a, livekit_server
):
    """A dial task that is waiting for capacity stamps dialWaitingAt each time it retries:
    the sweep must not enqueue a second dial beside it, however old the call is."""
    import datetime

    from calls.outbound import REDIAL_AFTER_SECONDS, calls_redial_queued

    CallCapacity.objects.create(customer=customer_a, concurrency_limit=1, reserved_inbound_concurrency=0)
    place(alice_client, setup)
    queued = Call.objects.get(pk=place(alice_client, setup)["id"])
    assert queued.status == CallStatus.QUEUED
    now = queued.created_at + datetime.timedelta(minutes=10)  # the call is old
    retried = now - datetime.timedelta(seconds=REDIAL_AFTER_SECONDS / 2)  # its task retried just now
    Call.objects.filter(pk=queued.pk).update(metadata={**queued.metadata, "dialWaitingAt": retried.isoformat()})

    assert run(calls_redial_queued, now=now) == 0
    assert len(livekit_server.messages("CreateSIPParticipant")) == 1  # only the first call was dialed

    # The task stopped retrying (its stamp is older than REDIAL_AFTER_SECONDS): the sweep takes over.
    stale = now - datetime.timedelta(seconds=REDIAL_AFTER_SECONDS + 1)
    Call.objects.filter(pk=queued.pk).update(metadata={**queued.metadata, "dialWaitingAt": stale.isoformat()})
    assert run(calls_redial_queued, now=now) == 1


def test_the_redial_command_is_the_sweep_for_cron(alice_client, setup, customer_a, livekit_server):
    import datetime
    import io

    from django.core.management import call_command

    CallCapacity.objects.create(customer=customer_a, concurrency_limit=1, reserved_inbound_concurrency=0)
    first = Call.objects.get(pk=place(alice_client, setup)["id"])
    second = Call.objects.get(pk=place(alice_client, setup)["id"])
    assert second.status == CallStatus.QUEUED
    from calls.services import call_end

    run(call_end, call=first, reason=EndReason.ENDED_BY_USER)
    long_ago = datetime.timedelta(minutes=5)  # nobody tried it for five minutes
    Call.objects.filter(pk=second.pk).update(
        created_at=second.created_at - long_ago,
        metadata={
            **Call.objects.get(pk=second.pk).metadata,
            "dialWaitingAt": (second.created_at - long_ago).isoformat(),
        },
    )
    out = io.StringIO()
    run(call_command, "redial_queued_calls", stdout=out)
    assert out.getvalue().strip() == "Dialing 1 queued call(s) again."
    second.refresh_from_db()
    assert second.status == CallStatus.RINGING


def test_without_a_broker_a_scheduled_call_waits_for_its_time(alice_client, setup, livekit_server):
    import datetime

    from django.utils import timezone

    from calls.outbound import calls_redial_queued

    when = timezone.now() + datetime.timedelta(hours=2)
    call = Call.objects.get(pk=place(alice_client, setup, scheduledAt=when.isoformat())["id"])
    # Eager Celery ran the dial task at once (no eta without a broker): it did not dial.
    assert call.status == CallStatus.QUEUED and livekit_server.messages("CreateSIPParticipant") == []
    assert run(calls_redial_queued, now=when - datetime.timedelta(minutes=1)) == 0
    # Two hours later (the call's times moved back instead of the clock forward).
    two_hours = datetime.timedelta(hours=2, seconds=1)
    Call.objects.filter(pk=call.pk).update(started_at=when - two_hours, created_at=call.created_at - two_hours)
    assert run(calls_redial_queued) == 1
    call.refresh_from_db()
    assert call.status == CallStatus.RINGING and len(livekit_server.messages("CreateSIPParticipant")) == 1
