"""POST /calls/:id/end and /calls/:id/join-agent against the local LiveKit server."""

import datetime
import json

import pytest
from django.utils import timezone

from agents.tests.factories import AgentFactory
from calls.models import Call, CallDirection, CallStatus
from calls.tests.factories import CallFactory, TranscriptTurnFactory
from testsupport.api import assert_error, assert_success

pytestmark = pytest.mark.django_db


def end_url(call) -> str:
    return f"/api/v1/calls/{call.id}/end"


def join_url(call) -> str:
    return f"/api/v1/calls/{call.id}/join-agent"


@pytest.fixture
def agent(customer_a):
    return AgentFactory(customer=customer_a)


@pytest.fixture
def live_call(agent, livekit_server):
    """An answered inbound call 90 seconds in, with its room open in LiveKit."""
    answered = timezone.now() - datetime.timedelta(seconds=90)
    call = CallFactory(agent=agent, status=CallStatus.ACTIVE, started_at=answered, answered_at=answered)
    livekit_server.add_participant(call.room_name, "sip-caller")
    return call


# --- End ------------------------------------------------------------------------------


def test_it_ends_an_answered_call(alice_client, live_call, livekit_server, django_capture_on_commit_callbacks):
    TranscriptTurnFactory(call=live_call, role="assistant", llm_ttft_ms=200, prompt_tokens=50)
    with django_capture_on_commit_callbacks(execute=True):
        data = assert_success(alice_client.post(end_url(live_call)), 200, "Call ended successfully")

    live_call.refresh_from_db()
    assert data == {
        "id": live_call.id,
        "status": "completed",
        "endReason": "ended_by_user",
        "duration": live_call.duration,
        "endedAt": data["endedAt"],
    }
    assert live_call.status == CallStatus.COMPLETED and live_call.end_reason == "ended_by_user"
    assert 89 <= live_call.duration <= 92
    assert live_call.ended_at is not None and data["endedAt"].endswith("Z")
    assert live_call.room_name not in livekit_server.rooms
    assert [m.room for m in livekit_server.messages("DeleteRoom")] == [live_call.room_name]
    # Post-call finalisation ran after commit.
    assert live_call.metadata["summary"]["usage"]["promptTokens"] == 50
    assert live_call.metadata["summary"]["averageLatency"]["llmTtftMs"] == 200.0


def test_it_cancels_a_call_that_was_never_answered(alice_client, agent, livekit_server):
    call = CallFactory(agent=agent, status=CallStatus.RINGING)
    livekit_server.add_participant(call.room_name, "sip-caller")
    data = assert_success(alice_client.post(end_url(call)), 200, "Call ended successfully")
    assert data["status"] == "canceled" and data["duration"] == 0
    call.refresh_from_db()
    assert call.status == CallStatus.CANCELED and call.answered_at is None


def test_ending_twice_is_a_conflict_that_changes_nothing(alice_client, live_call, livekit_server):
    first = assert_success(alice_client.post(end_url(live_call)), 200, "Call ended successfully")
    assert_error(alice_client.post(end_url(live_call)), 409, f"Call with ID {live_call.id} has already ended")
    live_call.refresh_from_db()
    assert live_call.status == "completed" and live_call.duration == first["duration"]
    assert len(livekit_server.requests_for("DeleteRoom")) == 1


def test_it_ends_a_call_whose_room_livekit_already_closed(alice_client, agent, livekit_server):
    call = CallFactory(agent=agent, answered_at=timezone.now())
    assert call.room_name not in livekit_server.rooms
    data = assert_success(alice_client.post(end_url(call)), 200, "Call ended successfully")
    assert data["status"] == "completed"
    assert len(livekit_server.requests_for("DeleteRoom")) == 1


def test_livekit_down_is_a_503_and_the_call_stays_open(alice_client, live_call, livekit_server):
    livekit_server.stop()
    assert_error(alice_client.post(end_url(live_call)), 503, "Voice service is unavailable, please try again later")
    live_call.refresh_from_db()
    assert live_call.status == CallStatus.ACTIVE and live_call.ended_at is None and live_call.duration is None


def test_a_livekit_error_is_a_503_and_the_call_stays_open(alice_client, live_call, livekit_server):
    livekit_server.fail_next("DeleteRoom", code="internal")
    assert_error(alice_client.post(end_url(live_call)), 503)
    live_call.refresh_from_db()
    assert live_call.status == CallStatus.ACTIVE and live_call.room_name in livekit_server.rooms


def test_livekit_not_configured_is_a_503(alice_client, agent, settings):
    settings.LIVEKIT_URL = ""
    call = CallFactory(agent=agent)
    assert_error(alice_client.post(end_url(call)), 503, "Voice service is not configured")
    call.refresh_from_db()
    assert call.status == CallStatus.ACTIVE


def test_another_tenants_call_is_a_404_and_livekit_is_untouched(bob_client, live_call, livekit_server):
    assert_error(bob_client.post(end_url(live_call)), 404, f"Call with ID {live_call.id} does not exist")
    live_call.refresh_from_db()
    assert live_call.status == CallStatus.ACTIVE
    assert livekit_server.requests == []


def test_members_cannot_end_real_calls(charlie_client, live_call, livekit_server):
    assert_error(charlie_client.post(end_url(live_call)), 403, "You do not have permission to access this resource")
    live_call.refresh_from_db()
    assert live_call.status == CallStatus.ACTIVE and livekit_server.requests == []


def test_members_end_their_own_simulations_only(charlie_client, charlie, alice, agent, livekit_server):
    mine = CallFactory(agent=agent, direction=CallDirection.WEB, is_simulation=True, created_by=charlie)
    alices = CallFactory(agent=agent, direction=CallDirection.WEB, is_simulation=True, created_by=alice)
    assert_success(charlie_client.post(end_url(mine)), 200, "Call ended successfully")
    assert_error(charlie_client.post(end_url(alices)), 403, "You do not have permission to access this resource")
    alices.refresh_from_db()
    assert alices.status == CallStatus.ACTIVE


def test_admins_end_any_call_of_their_organization(alice_client, charlie, agent, livekit_server):
    charlies_simulation = CallFactory(agent=agent, is_simulation=True, created_by=charlie, answered_at=timezone.now())
    assert assert_success(alice_client.post(end_url(charlies_simulation)))["status"] == "completed"


# --- Join agent ---------------------------------------------------------------------


def test_it_dispatches_the_agent_into_the_calls_room(alice_client, live_call, livekit_server, settings):
    settings.VOICE_AGENT_NAME = "morpheus-test-agent"
    data = assert_success(alice_client.post(join_url(live_call)), 200, "Agent joined call successfully")

    [dispatch] = livekit_server.dispatches_in(live_call.room_name)
    assert data == {
        "pipelineStatus": "dispatched",
        "agentId": live_call.agent_id,
        "connectedAt": data["connectedAt"],
        "dispatchId": dispatch.id,
    }
    assert dispatch.agent_name == "morpheus-test-agent"
    metadata = json.loads(dispatch.metadata)
    assert metadata["callId"] == live_call.id and metadata["agentId"] == live_call.agent_id
    live_call.refresh_from_db()
    assert live_call.metadata["agentDispatchId"] == dispatch.id


def test_joining_again_reuses_the_dispatch_and_reports_a_running_agent(alice_client, live_call, livekit_server):
    first = assert_success(alice_client.post(join_url(live_call)))
    job = livekit_server.start_dispatch_job(first["dispatchId"], participant_identity="agent-1")
    second = assert_success(alice_client.post(join_url(live_call)), 200, "Agent joined call successfully")
    assert second["pipelineStatus"] == "connected" and second["dispatchId"] == first["dispatchId"]
    expected = datetime.datetime.fromtimestamp(job.state.started_at / 1e9, tz=datetime.UTC)
    assert second["connectedAt"] == expected.strftime("%Y-%m-%dT%H:%M:%S.") + f"{expected.microsecond // 1000:03d}Z"
    assert len(livekit_server.dispatches_in(live_call.room_name)) == 1
    assert len(livekit_server.requests_for("CreateDispatch")) == 1


def test_joining_an_ended_call_is_a_conflict(alice_client, agent, livekit_server):
    call = CallFactory(agent=agent, status=CallStatus.COMPLETED, ended_at=timezone.now())
    assert_error(alice_client.post(join_url(call)), 409, f"Call with ID {call.id} has already ended")
    assert livekit_server.requests == []


def test_joining_a_call_whose_agent_was_deleted_is_a_conflict(alice_client, agent, livekit_server):
    call = CallFactory(agent=agent)
    agent.delete()
    assert_error(alice_client.post(join_url(call)), 409, f"Call with ID {call.id} has no agent")
    assert livekit_server.requests == []


def test_joining_with_livekit_down_is_a_503(alice_client, live_call, livekit_server):
    livekit_server.fail_next("CreateDispatch", code="unavailable")
    assert_error(alice_client.post(join_url(live_call)), 503, "Voice service is unavailable, please try again later")
    assert livekit_server.dispatches_in(live_call.room_name) == []
    live_call.refresh_from_db()
    assert "agentDispatchId" not in live_call.metadata


def test_joining_another_tenants_call_is_a_404(bob_client, live_call, livekit_server):
    assert_error(bob_client.post(join_url(live_call)), 404, f"Call with ID {live_call.id} does not exist")
    assert livekit_server.requests == []


def test_members_cannot_join_agents_to_real_calls(charlie_client, live_call, livekit_server):
    assert_error(charlie_client.post(join_url(live_call)), 403)
    assert livekit_server.requests == []


def test_unknown_call_ids_are_404(alice_client, livekit_server):
    assert_error(alice_client.post("/api/v1/calls/424242/end"), 404, "Call with ID 424242 does not exist")
    assert_error(alice_client.post("/api/v1/calls/424242/join-agent"), 404, "Call with ID 424242 does not exist")
    assert Call.objects.count() == 0
