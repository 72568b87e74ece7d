"""POST /webhooks/livekit: events signed the way LiveKit signs them (JWT with the body's sha256)."""

import base64
import hashlib

import pytest
from google.protobuf.json_format import MessageToJson
from livekit import api

from agents.tests.factories import AgentFactory
from calls.models import CallStatus, EndReason
from calls.tests.factories import CallFactory
from testsupport.api import assert_error, assert_success

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/livekit"
SIP = api.ParticipantInfo.Kind.SIP


def event_body(event: str, room: str, *, kind=None, identity="sip_+15550009999") -> str:
    message = api.WebhookEvent(event=event, room=api.Room(name=room), id="EV_1", created_at=1)
    if kind is not None:
        message.participant.CopyFrom(api.ParticipantInfo(identity=identity, kind=kind))
    return MessageToJson(message)


def signed(body: str, key: str, secret: str) -> str:
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    return api.AccessToken(key, secret).with_sha256(digest).to_jwt()


def post_event(client, server, body: str, *, token: str | None = None):
    token = token if token is not None else signed(body, server.api_key, server.api_secret)
    return client.post(URL, body, content_type="application/webhook+json", HTTP_AUTHORIZATION=token)


@pytest.fixture
def phone_call(customer_a):
    return CallFactory(agent=AgentFactory(customer=customer_a), status=CallStatus.RINGING)


def test_the_callers_sip_leg_joining_answers_the_call(api_client, livekit_server, phone_call):
    body = event_body("participant_joined", phone_call.room_name, kind=SIP)
    data = assert_success(post_event(api_client, livekit_server, body), 200, "Webhook processed")
    assert data == {"event": "participant_joined", "callId": phone_call.id}
    phone_call.refresh_from_db()
    assert phone_call.status == CallStatus.ACTIVE and phone_call.answered_at is not None


def test_the_caller_leaving_ends_the_call_and_tears_the_room_down(
    api_client, livekit_server, phone_call, django_capture_on_commit_callbacks
):
    livekit_server.add_participant(phone_call.room_name, "agent", kind=api.ParticipantInfo.Kind.AGENT)
    assert_success(
        post_event(api_client, livekit_server, event_body("participant_joined", phone_call.room_name, kind=SIP))
    )
    with django_capture_on_commit_callbacks(execute=True):
        body = event_body("participant_left", phone_call.room_name, kind=SIP)
        assert_success(post_event(api_client, livekit_server, body))
    phone_call.refresh_from_db()
    assert phone_call.status == CallStatus.COMPLETED and phone_call.end_reason == EndReason.CALLER_HUNG_UP
    assert phone_call.room_name not in livekit_server.rooms  # the agent is not left alone in it


def test_a_room_finishing_before_anyone_answered_is_no_answer(api_client, livekit_server, phone_call):
    assert_success(post_event(api_client, livekit_server, event_body("room_finished", phone_call.room_name)))
    phone_call.refresh_from_db()
    assert phone_call.status == CallStatus.NO_ANSWER and phone_call.end_reason == EndReason.NO_ANSWER
    assert livekit_server.requests == []  # the room is already gone


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        ("participant_joined", api.ParticipantInfo.Kind.AGENT),
        ("participant_left", api.ParticipantInfo.Kind.AGENT),
        ("participant_joined", api.ParticipantInfo.Kind.STANDARD),
        ("track_published", SIP),
        ("room_started", None),
    ],
)
def test_other_events_change_nothing(api_client, livekit_server, phone_call, event, kind):
    data = assert_success(post_event(api_client, livekit_server, event_body(event, phone_call.room_name, kind=kind)))
    assert data == {"event": event, "callId": None}
    phone_call.refresh_from_db()
    assert phone_call.status == CallStatus.RINGING


def test_simulations_and_unknown_rooms_are_left_alone(api_client, livekit_server, customer_a):
    simulation = CallFactory(agent=AgentFactory(customer=customer_a), is_simulation=True)
    assert_success(post_event(api_client, livekit_server, event_body("room_finished", simulation.room_name)))
    assert_success(post_event(api_client, livekit_server, event_body("room_finished", "call-unknown")))
    simulation.refresh_from_db()
    assert simulation.status == CallStatus.ACTIVE


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda body, s: "", id="missing"),
        pytest.param(lambda body, s: "not-a-jwt", id="garbage"),
        pytest.param(
            lambda body, s: signed(body, s.api_key, "another-secret-that-is-long-enough-1234"), id="other-secret"
        ),
        pytest.param(lambda body, s: signed(body + " ", s.api_key, s.api_secret), id="other-body"),
        pytest.param(lambda body, s: api.AccessToken(s.api_key, s.api_secret).to_jwt(), id="no-body-hash"),
    ],
)
def test_forged_events_are_403_and_change_nothing(api_client, livekit_server, phone_call, token):
    body = event_body("room_finished", phone_call.room_name)
    response = post_event(api_client, livekit_server, body, token=token(body, livekit_server))
    assert_error(response, 403, "Invalid webhook signature")
    phone_call.refresh_from_db()
    assert phone_call.status == CallStatus.RINGING


def test_it_refuses_events_when_livekit_is_not_configured(api_client, settings, phone_call):
    settings.LIVEKIT_API_SECRET = ""
    response = api_client.post(URL, "{}", content_type="application/webhook+json", HTTP_AUTHORIZATION="x")
    assert_error(response, 403, "LiveKit webhooks are not configured")


def test_a_signed_but_malformed_body_is_a_400(api_client, livekit_server):
    body = '{"event": 5, "room": "x"}'
    assert_error(post_event(api_client, livekit_server, body), 400, "Malformed JSON in request body")
