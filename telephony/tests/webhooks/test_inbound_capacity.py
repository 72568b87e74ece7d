"""Inbound calls take a capacity lease before answering; none free: a polite busy."""

import json

import pytest

from calls import leases
from calls.models import Call, CallCapacity

from .carriers import parse_xml, twilio_call_params, twilio_post

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/voice/inbound"


@pytest.fixture
def full(customer_a, number):
    CallCapacity.objects.create(customer=customer_a, concurrency_limit=1, reserved_inbound_concurrency=0)
    assert leases.acquire(customer_id=customer_a.pk, call_id=10**9, direction=leases.OUTBOUND)
    return customer_a


def test_json_form_answers_reject_capacity_and_creates_nothing(api_client, full, livekit_server):
    response = api_client.post(
        URL, json.dumps({"From": "+15550009999", "To": "+15551234567"}), content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json() == {
        "action": "reject",
        "roomName": None,
        "agentId": None,
        "callId": None,
        "sipUri": None,
        "reason": "capacity",
    }
    assert not Call.objects.exists() and livekit_server.requests == []
    assert leases.in_use(full.pk) == 1


def test_twilio_hears_busy(api_client, full, livekit_server):
    root = parse_xml(twilio_post(api_client, URL, twilio_call_params()))
    [reject] = list(root)
    assert reject.tag == "Reject" and reject.attrib == {"reason": "busy"}
    assert not Call.objects.exists()


def test_an_answered_call_holds_a_lease_until_it_ends(api_client, customer_a, number, livekit_server):
    response = api_client.post(
        URL, json.dumps({"From": "+15550009999", "To": "+15551234567"}), content_type="application/json"
    )
    assert response.status_code == 200
    call_id = response.json()["callId"]
    assert leases.held(customer_a.pk)["inbound"] == [f"call:{call_id}"]


def test_livekit_down_while_answering_gives_the_slot_back(api_client, customer_a, number, livekit_server):
    livekit_server.stop()
    response = api_client.post(
        URL, json.dumps({"From": "+15550009999", "To": "+15551234567"}), content_type="application/json"
    )
    assert response.status_code == 503
    assert not Call.objects.filter(status__in=["ringing", "active"]).exists()
    assert leases.in_use(customer_a.pk) == 0
