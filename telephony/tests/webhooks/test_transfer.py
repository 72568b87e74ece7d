"""POST /webhooks/voice/transfer: the carrier asks where a SIP REFER should send the caller."""

import json

import pytest
from django.utils import timezone

from calls.models import CallStatus, EndReason
from calls.tests.factories import CallFactory
from testsupport.api import assert_error

from .carriers import parse_xml, twilio_post

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/voice/transfer"
SID = "CA" + "c" * 32


@pytest.fixture
def call(number, livekit_server):
    number.agent.transfers = [
        {"name": "sales", "destination": "+15550001111", "description": "Sales desk"},
        {"name": "support", "destination": "sip:support@pbx.example.com", "description": "Support queue"},
    ]
    number.agent.save()
    call = CallFactory(
        agent=number.agent,
        phone_number=number,
        carrier="twilio",
        carrier_call_id=SID,
        answered_at=timezone.now(),
    )
    livekit_server.add_participant(call.room_name, "agent")
    return call


def refer(client, target: str):
    return twilio_post(client, URL, {"AccountSid": "AC" + "1" * 32, "CallSid": SID, "ReferTransferTarget": target})


@pytest.mark.parametrize(
    ("target", "noun", "dialled"),
    [
        ("<tel:+15550001111>", "Number", "+15550001111"),
        ("<sip:+15550001111@morpheus.pstn.twilio.com;user=phone>", "Number", "+15550001111"),
        ("<sip:Support@PBX.example.com;transport=udp?X-Reason=help>", "Sip", "sip:support@pbx.example.com"),
    ],
)
def test_it_dials_a_configured_destination_and_closes_the_call(
    api_client, call, livekit_server, django_capture_on_commit_callbacks, target, noun, dialled
):
    with django_capture_on_commit_callbacks(execute=True):
        root = parse_xml(refer(api_client, target))
    [dial] = list(root)
    [destination] = list(dial)
    assert (dial.tag, destination.tag, destination.text) == ("Dial", noun, dialled)
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED and call.end_reason == EndReason.TRANSFERRED
    assert call.metadata["transferredTo"] == dialled
    assert call.room_name not in livekit_server.rooms


@pytest.mark.parametrize("target", ["<tel:+19005550000>", "<sip:premium@elsewhere.example.com>", "garbage"])
def test_it_refuses_destinations_the_agent_does_not_list(api_client, call, target):
    root = parse_xml(refer(api_client, target))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert "cannot be transferred" in root[0].text
    call.refresh_from_db()
    assert call.end_reason == EndReason.ERROR and target in call.error_message
    assert "transferredTo" not in json.dumps(call.metadata)


def test_an_unknown_call_gets_a_goodbye(api_client, call):
    response = twilio_post(api_client, URL, {"CallSid": "CA" + "0" * 32, "ReferTransferTarget": "<tel:+15550001111>"})
    assert [child.tag for child in parse_xml(response)] == ["Say", "Hangup"]
    call.refresh_from_db()
    assert call.status == CallStatus.ACTIVE


def test_a_forged_transfer_request_is_403(api_client, call):
    response = twilio_post(
        api_client, URL, {"CallSid": SID, "ReferTransferTarget": "<tel:+15550001111>"}, signature="Zm9yZ2Vk"
    )
    assert_error(response, 403, "Invalid webhook signature")
    call.refresh_from_db()
    assert call.status == CallStatus.ACTIVE


def test_the_unsigned_json_form_cannot_transfer(api_client, call):
    body = json.dumps({"CallSid": SID, "ReferTransferTarget": "<tel:+15550001111>"})
    assert_error(api_client.post(URL, body, content_type="application/json"), 403, "Missing webhook signature")
    call.refresh_from_db()
    assert call.status == CallStatus.ACTIVE


def test_a_malformed_transfer_request_is_a_400(api_client, call):
    response = twilio_post(api_client, URL, {"CallSid": SID})
    assert_error(response, 400, "Validation failed", fields=["ReferTransferTarget"])
