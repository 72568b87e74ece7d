"""POST /webhooks/voice/status: carrier callbacks close (or answer) the call."""

import datetime
import json
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from calls.models import CallStatus
from calls.tests.factories import CallFactory
from testsupport.api import assert_error, assert_success

from .carriers import Telnyx, parse_xml, twilio_post

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/voice/status"
SID = "CA" + "b" * 32


@pytest.fixture
def twilio_call(number, livekit_server):
    """A Twilio call ringing in its room, the caller's SIP leg in it."""
    call = CallFactory(
        agent=number.agent, phone_number=number, carrier="twilio", carrier_call_id=SID, status=CallStatus.RINGING
    )
    livekit_server.add_participant(call.room_name, "sip-caller")
    return call


def status_params(**overrides) -> dict:
    params = {"AccountSid": "AC" + "1" * 32, "CallSid": SID, "CallStatus": "completed", "Direction": "inbound"}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def test_in_progress_marks_the_call_answered(api_client, twilio_call):
    root = parse_xml(twilio_post(api_client, URL, status_params(CallStatus="in-progress")))
    assert list(root) == []
    twilio_call.refresh_from_db()
    assert twilio_call.status == CallStatus.ACTIVE and twilio_call.answered_at is not None


def test_completed_closes_an_answered_call_and_tears_its_room_down(
    api_client, twilio_call, livekit_server, django_capture_on_commit_callbacks
):
    twilio_call.status = CallStatus.ACTIVE
    twilio_call.answered_at = timezone.now() - datetime.timedelta(seconds=75)
    twilio_call.save()
    with django_capture_on_commit_callbacks(execute=True):
        root = parse_xml(twilio_post(api_client, URL, status_params(CallStatus="completed", CallDuration="80")))
    assert list(root) == []
    twilio_call.refresh_from_db()
    assert twilio_call.status == CallStatus.COMPLETED and twilio_call.end_reason == "caller_hung_up"
    assert 74 <= twilio_call.duration <= 77
    assert twilio_call.metadata["carrierStatus"] == "completed"
    assert twilio_call.room_name not in livekit_server.rooms
    assert "summary" in twilio_call.metadata  # post-call finalisation ran


@pytest.mark.parametrize(
    ("carrier_status", "status", "reason"),
    [
        ("busy", CallStatus.BUSY, "busy"),
        ("no-answer", CallStatus.NO_ANSWER, "no_answer"),
        ("failed", CallStatus.FAILED, "carrier"),
        ("canceled", CallStatus.CANCELED, "caller_hung_up"),
        ("completed", CallStatus.CANCELED, "caller_hung_up"),  # never answered, no duration
    ],
)
def test_final_statuses_close_the_call_with_the_carriers_reason(
    api_client, twilio_call, carrier_status, status, reason
):
    parse_xml(twilio_post(api_client, URL, status_params(CallStatus=carrier_status)))
    twilio_call.refresh_from_db()
    assert (twilio_call.status, twilio_call.end_reason) == (status, reason)
    assert twilio_call.ended_at is not None and twilio_call.duration == 0


@pytest.mark.parametrize("carrier_status", ["queued", "initiated", "ringing"])
def test_progress_statuses_change_nothing(api_client, twilio_call, carrier_status):
    parse_xml(twilio_post(api_client, URL, status_params(CallStatus=carrier_status)))
    twilio_call.refresh_from_db()
    assert twilio_call.status == CallStatus.RINGING and twilio_call.ended_at is None


def test_the_dial_action_closes_the_call_with_the_carriers_duration(api_client, twilio_call):
    params = status_params(CallStatus="in-progress", DialCallStatus="completed", DialCallDuration="42")
    parse_xml(twilio_post(api_client, URL, params))
    twilio_call.refresh_from_db()
    assert twilio_call.status == CallStatus.COMPLETED and twilio_call.duration == 42
    assert twilio_call.ended_at - twilio_call.answered_at == datetime.timedelta(seconds=42)


def test_a_dial_action_after_an_answered_leg_is_the_end_of_the_call(api_client, twilio_call):
    parse_xml(twilio_post(api_client, URL, status_params(CallStatus="in-progress", DialCallStatus="answered")))
    twilio_call.refresh_from_db()
    assert twilio_call.status == CallStatus.COMPLETED and twilio_call.end_reason == "caller_hung_up"
    assert twilio_call.answered_at == twilio_call.ended_at and twilio_call.duration == 0


def test_repeated_and_late_callbacks_are_no_ops(api_client, twilio_call):
    parse_xml(twilio_post(api_client, URL, status_params(CallStatus="busy")))
    twilio_call.refresh_from_db()
    ended_at = twilio_call.ended_at
    parse_xml(twilio_post(api_client, URL, status_params(CallStatus="completed", CallDuration="5")))
    parse_xml(twilio_post(api_client, URL, status_params(CallStatus="in-progress")))
    twilio_call.refresh_from_db()
    assert twilio_call.status == CallStatus.BUSY and twilio_call.ended_at == ended_at
    assert twilio_call.answered_at is None


def test_an_unknown_call_is_acknowledged_and_nothing_changes(api_client, twilio_call):
    root = parse_xml(twilio_post(api_client, URL, status_params(CallSid="CA" + "f" * 32)))
    assert list(root) == []
    twilio_call.refresh_from_db()
    assert twilio_call.status == CallStatus.RINGING


def test_a_forged_status_callback_is_403_and_the_call_stays_open(api_client, twilio_call):
    response = twilio_post(api_client, URL, status_params(), signature="Zm9yZ2Vk")
    assert_error(response, 403, "Invalid webhook signature")
    twilio_call.refresh_from_db()
    assert twilio_call.status == CallStatus.RINGING


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        (status_params(CallStatus="exploded"), ["CallStatus"]),
        (status_params(CallStatus=None), ["CallStatus"]),
        (status_params(CallSid=None), ["CallSid"]),
        (status_params(CallDuration="-3"), ["CallDuration"]),
    ],
)
def test_malformed_status_callbacks_are_400(api_client, twilio_call, params, fields):
    assert_error(twilio_post(api_client, URL, params), 400, "Validation failed", fields=fields)
    twilio_call.refresh_from_db()
    assert twilio_call.status == CallStatus.RINGING


def test_telnyx_status_callbacks_are_verified_and_applied(api_client, number, settings):
    telnyx = Telnyx()
    settings.TELNYX_PUBLIC_KEY = telnyx.public_key
    call = CallFactory(
        agent=number.agent,
        carrier="telnyx",
        carrier_call_id="v3:abc",
        status=CallStatus.ACTIVE,
        answered_at=timezone.now(),
    )
    body = urlencode({"CallSid": "v3:abc", "CallStatus": "completed"}).encode()
    parse_xml(telnyx.post(api_client, URL, body, "application/x-www-form-urlencoded"))
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED

    other = CallFactory(agent=number.agent, carrier="telnyx", carrier_call_id="v3:def", status=CallStatus.ACTIVE)
    forged = Telnyx().headers(urlencode({"CallSid": "v3:def", "CallStatus": "failed"}).encode())
    response = telnyx.post(
        api_client,
        URL,
        urlencode({"CallSid": "v3:def", "CallStatus": "failed"}).encode(),
        "application/x-www-form-urlencoded",
        headers=forged,
    )
    assert_error(response, 403, "Invalid webhook signature")
    other.refresh_from_db()
    assert other.status == CallStatus.ACTIVE


# --- The JSON form ------------------------------------------------------------------


def post_json(client, body):
    return client.post(URL, json.dumps(body), content_type="application/json")


def test_the_json_form_updates_calls_it_created(api_client, number):
    call = CallFactory(agent=number.agent, carrier="sip", carrier_call_id="sip-1", status=CallStatus.RINGING)
    data = assert_success(
        post_json(api_client, {"CallSid": "sip-1", "CallStatus": "no-answer"}), 200, "Call status updated"
    )
    assert data == {"callId": call.id, "status": "no_answer"}


def test_the_json_form_cannot_touch_a_carriers_call(api_client, twilio_call):
    """Unsigned JSON is the generic SIP form: it never reaches calls Twilio or Telnyx own."""
    assert_error(
        post_json(api_client, {"CallSid": SID, "CallStatus": "completed"}), 404, f"Call with SID {SID} does not exist"
    )
    twilio_call.refresh_from_db()
    assert twilio_call.status == CallStatus.RINGING


def test_the_json_form_answers_404_for_an_unknown_call(api_client, number):
    assert_error(
        post_json(api_client, {"CallSid": "nope", "CallStatus": "completed"}), 404, "Call with SID nope does not exist"
    )
