"""POST /calls/simulate: a web call with a room, the agent dispatched and a join token."""

import datetime
import json

import pytest
from django.utils import timezone
from livekit import api

from agents.models import AgentStatus
from agents.tests.factories import AgentFactory
from calls.models import Call, CallDirection, CallStatus
from testsupport.api import assert_error, assert_success

pytestmark = pytest.mark.django_db

URL = "/api/v1/calls/simulate"


def test_it_starts_a_simulation_with_the_most_recently_updated_active_agent(
    alice_client, alice, customer_a, livekit_server, settings
):
    settings.VOICE_AGENT_NAME = "sim-agent"
    AgentFactory(customer=customer_a, name="Old")
    recent = AgentFactory(customer=customer_a, name="Recent")
    AgentFactory(customer=customer_a, name="Draft", status=AgentStatus.DRAFT)  # newer, but not active
    before = timezone.now()

    data = assert_success(alice_client.post(URL), 200, "Simulation started")

    call = Call.objects.get()
    assert data == {
        "callId": call.id,
        "agentId": recent.id,
        "agentVersion": 1,
        "mode": "voice",
        "roomName": call.room_name,
        "token": data["token"],
        "tokenExpiresAt": data["tokenExpiresAt"],
        "status": "active",
    }
    assert call.room_name.startswith("sim-") and len(call.room_name) == len("sim-") + 16
    assert call.direction == CallDirection.WEB and call.is_simulation is True
    assert call.status == CallStatus.ACTIVE and call.answered_at is not None
    assert call.customer == customer_a and call.agent == recent and call.created_by == alice

    # LiveKit: the room, then the dispatch naming the call.
    assert [r.method for r in livekit_server.requests] == ["CreateRoom", "CreateDispatch"]
    room = livekit_server.rooms[call.room_name]
    assert json.loads(room.metadata) == {"callId": call.id, "customerId": str(customer_a.id), "simulation": True}
    [dispatch] = livekit_server.dispatches_in(call.room_name)
    assert dispatch.agent_name == "sim-agent"
    assert json.loads(dispatch.metadata)["callId"] == call.id
    assert call.metadata["agentDispatchId"] == dispatch.id

    # The token: this user, this room only, short-lived.
    claims = api.TokenVerifier(livekit_server.api_key, livekit_server.api_secret).verify(data["token"])
    assert claims.identity == str(alice.id) and claims.name == "Alice"
    assert claims.video.room_join is True and claims.video.room == call.room_name
    assert not claims.video.room_admin and not claims.video.room_create and not claims.video.room_list
    assert json.loads(claims.metadata) == {"callId": call.id, "role": "tester"}
    expires = datetime.datetime.fromisoformat(data["tokenExpiresAt"].replace("Z", "+00:00"))
    assert before + datetime.timedelta(minutes=14) < expires <= timezone.now() + datetime.timedelta(minutes=15)


def test_it_simulates_a_named_agent_even_a_draft(alice_client, customer_a, livekit_server):
    draft = AgentFactory(customer=customer_a, status=AgentStatus.DRAFT)
    data = assert_success(alice_client.post(URL, {"agentId": draft.id}, format="json"), 200, "Simulation started")
    assert data["agentId"] == draft.id
    assert Call.objects.get().agent == draft


def test_members_may_simulate(charlie_client, charlie, customer_a, livekit_server):
    AgentFactory(customer=customer_a)
    data = assert_success(charlie_client.post(URL), 200, "Simulation started")
    assert Call.objects.get(pk=data["callId"]).created_by == charlie


def test_another_tenants_agent_is_refused_and_nothing_is_created(alice_client, customer_b, livekit_server):
    theirs = AgentFactory(customer=customer_b)
    body = assert_error(alice_client.post(URL, {"agentId": theirs.id}, format="json"), 400, fields=["agentId"])
    assert body["errors"][0]["message"] == f"Agent with ID {theirs.id} does not exist"
    assert Call.objects.count() == 0 and livekit_server.requests == []


def test_without_an_active_agent_it_explains_what_to_do(alice_client, customer_a, customer_b, livekit_server):
    AgentFactory(customer=customer_a, status=AgentStatus.PAUSED)
    AgentFactory(customer=customer_b)  # another tenant's active agent is never picked
    body = assert_error(alice_client.post(URL), 400, fields=["agentId"])
    assert body["errors"][0]["message"] == "No active agent to simulate: activate an agent or pass agentId"
    assert Call.objects.count() == 0 and livekit_server.requests == []


@pytest.mark.parametrize("payload", [{"agentId": "abc"}, {"agentId": 0}, {"agentId": None}])
def test_it_validates_the_body(alice_client, customer_a, livekit_server, payload):
    AgentFactory(customer=customer_a)
    assert_error(alice_client.post(URL, payload, format="json"), 400, fields=["agentId"])
    assert Call.objects.count() == 0


def test_malformed_json_is_a_400(alice_client, livekit_server):
    response = alice_client.post(URL, "{not json", content_type="application/json")
    assert_error(response, 400, "Malformed JSON in request body")


def test_livekit_down_is_a_503_with_no_call_left_behind(alice_client, customer_a, livekit_server):
    AgentFactory(customer=customer_a)
    livekit_server.stop()
    assert_error(alice_client.post(URL), 503, "Voice service is unavailable, please try again later")
    assert Call.objects.count() == 0


def test_a_failed_dispatch_deletes_the_room_it_created(alice_client, customer_a, livekit_server):
    AgentFactory(customer=customer_a)
    livekit_server.fail_next("CreateDispatch", code="internal")
    assert_error(alice_client.post(URL), 503, "Voice service is unavailable, please try again later")
    assert Call.objects.count() == 0
    [created] = livekit_server.messages("CreateRoom")
    [deleted] = livekit_server.messages("DeleteRoom")
    assert deleted.room == created.name and livekit_server.rooms == {}


def test_livekit_not_configured_and_no_llm_is_a_503_naming_the_variable(alice_client, customer_a, settings):
    # Without LiveKit the simulation is text-only (voice_worker/tests/test_text_simulation.py),
    # which needs a language model.
    settings.LIVEKIT_API_SECRET = ""
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = ""
    AgentFactory(customer=customer_a)
    assert_error(
        alice_client.post(URL),
        503,
        "No language model is configured: set OPENAI_API_KEY "
        "(or OPENAI_BASE_URL for an OpenAI-compatible server such as a local Ollama)",
    )
    assert Call.objects.count() == 0


def test_it_requires_authentication(api_client, livekit_server):
    assert_error(api_client.post(URL), 401)
    assert livekit_server.requests == []


def test_each_simulation_gets_its_own_room(alice_client, customer_a, livekit_server):
    AgentFactory(customer=customer_a)
    first = assert_success(alice_client.post(URL))
    second = assert_success(alice_client.post(URL))
    assert first["roomName"] != second["roomName"] and first["callId"] != second["callId"]
    assert set(livekit_server.rooms) == {first["roomName"], second["roomName"]}
