"""Celery tasks and the services behind them: dispatch, teardown, finalisation, stale calls."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from agents.tests.factories import AgentFactory
from calls import services, tasks
from calls.models import Call, CallStatus, EndReason
from calls.tests.factories import CallFactory, TranscriptTurnFactory
from testsupport.threads import run_at_once

pytestmark = pytest.mark.django_db


def ago(**kwargs):
    return timezone.now() - datetime.timedelta(**kwargs)


@pytest.fixture
def agent(customer_a):
    return AgentFactory(customer=customer_a, max_duration_seconds=600)


# --- dispatch_agent -------------------------------------------------------------------


def test_dispatch_agent_dispatches_once(agent, livekit_server):
    call = CallFactory(agent=agent, status=CallStatus.RINGING)
    assert tasks.dispatch_agent.delay(call.id).get() == "dispatched"
    assert tasks.dispatch_agent.delay(call.id).get() == "dispatched"  # a duplicate delivery
    assert len(livekit_server.dispatches_in(call.room_name)) == 1


def test_dispatch_agent_skips_ended_and_missing_calls(agent, livekit_server):
    ended = CallFactory(agent=agent, status=CallStatus.COMPLETED)
    assert tasks.dispatch_agent.delay(ended.id).get() == "skipped"
    assert tasks.dispatch_agent.delay(999999).get() == "skipped"
    assert livekit_server.requests == []


def test_dispatch_agent_fails_a_call_without_agent(agent, livekit_server, django_capture_on_commit_callbacks):
    call = CallFactory(agent=agent, status=CallStatus.RINGING)
    agent.delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.dispatch_agent.delay(call.id).get() == "failed"
    call.refresh_from_db()
    assert call.status == CallStatus.FAILED and call.end_reason == EndReason.ERROR
    assert call.error_message == "The call has no agent to dispatch"


def test_dispatch_agent_gives_up_at_once_when_livekit_is_not_configured(agent, settings):
    settings.LIVEKIT_URL = ""
    call = CallFactory(agent=agent, status=CallStatus.RINGING)
    assert tasks.dispatch_agent.delay(call.id).get() == "failed"
    call.refresh_from_db()
    assert call.status == CallStatus.FAILED and "not configured" in call.error_message


def test_dispatch_agent_survives_livekit_coming_back(agent, livekit_server):
    call = CallFactory(agent=agent, status=CallStatus.RINGING)
    livekit_server.fail_next("ListDispatch", code="unavailable", times=tasks.DISPATCH_MAX_RETRIES)
    assert tasks.dispatch_agent.delay(call.id).get() == "dispatched"
    assert len(livekit_server.requests_for("ListDispatch")) == tasks.DISPATCH_MAX_RETRIES + 1
    call.refresh_from_db()
    assert call.status == CallStatus.RINGING and call.metadata["agentDispatchId"]


# --- teardown_call_room ---------------------------------------------------------------


def test_teardown_retries_until_the_room_is_gone(agent, livekit_server):
    call = CallFactory(agent=agent, status=CallStatus.COMPLETED)
    livekit_server.add_participant(call.room_name, "agent")
    livekit_server.fail_next("DeleteRoom", times=2)
    assert tasks.teardown_call_room.delay(call.id).get() == "deleted"
    assert len(livekit_server.requests_for("DeleteRoom")) == 3
    assert call.room_name not in livekit_server.rooms


def test_teardown_gives_up_after_its_retries(agent, livekit_server):
    call = CallFactory(agent=agent, status=CallStatus.COMPLETED)
    livekit_server.fail_next("DeleteRoom", times=100)
    assert tasks.teardown_call_room.delay(call.id).get() == "failed"
    assert len(livekit_server.requests_for("DeleteRoom")) == tasks.TEARDOWN_MAX_RETRIES + 1


def test_teardown_of_a_room_already_gone_is_done(agent, livekit_server):
    call = CallFactory(agent=agent, status=CallStatus.COMPLETED)
    assert tasks.teardown_call_room.delay(call.id).get() == "deleted"


# --- finalize_call --------------------------------------------------------------------


def test_finalize_call_summarises_the_transcript(agent):
    call = CallFactory(agent=agent, status=CallStatus.COMPLETED, metadata={"agentDispatchId": "AD_1"})
    TranscriptTurnFactory(call=call, role="assistant", llm_ttft_ms=100, tts_ttfb_ms=50, completion_tokens=10)
    TranscriptTurnFactory(call=call, role="user", audio_seconds=1.25, end_of_turn_delay_ms=400)
    TranscriptTurnFactory(call=call, role="assistant", llm_ttft_ms=300, completion_tokens=5, tts_characters=40)
    assert tasks.finalize_call.delay(call.id).get() == "finalized"
    call.refresh_from_db()
    assert call.metadata["agentDispatchId"] == "AD_1"
    assert call.metadata["summary"] == {
        "turns": 3,
        "userTurns": 1,
        "assistantTurns": 2,
        "toolTurns": 0,
        "averageLatency": {"endOfTurnDelayMs": 400.0, "llmTtftMs": 200.0, "ttsTtfbMs": 50.0, "e2eLatencyMs": None},
        "usage": {"promptTokens": 0, "completionTokens": 15, "ttsCharacters": 40, "audioSeconds": 1.25},
    }


# --- end_stale_calls ----------------------------------------------------------------


def test_end_stale_calls_ends_calls_past_their_agents_max_duration(
    agent, customer_a, livekit_server, django_capture_on_commit_callbacks
):
    long_agent = AgentFactory(customer=customer_a, max_duration_seconds=3600)
    stale_active = CallFactory(agent=agent, started_at=ago(minutes=16), answered_at=ago(minutes=16))
    stale_ringing = CallFactory(agent=agent, status=CallStatus.RINGING, started_at=ago(minutes=30))
    within_margin = CallFactory(agent=agent, started_at=ago(minutes=14))  # 10 min + 5 min margin
    long_call = CallFactory(agent=long_agent, started_at=ago(minutes=50))
    orphan = CallFactory(agent=AgentFactory(customer=customer_a), started_at=ago(minutes=36))
    orphan.agent.delete()  # no agent: the default 30 minutes apply
    finished = CallFactory(agent=agent, status=CallStatus.COMPLETED, started_at=ago(days=1))
    livekit_server.add_participant(stale_active.room_name, "agent")

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.end_stale_calls.delay().get() == 3

    for call in (stale_active, stale_ringing, within_margin, long_call, orphan, finished):
        call.refresh_from_db()
    assert stale_active.status == CallStatus.FAILED and stale_active.end_reason == EndReason.STALE
    assert stale_ringing.status == CallStatus.FAILED and stale_ringing.end_reason == EndReason.STALE
    assert orphan.status == CallStatus.FAILED and orphan.end_reason == EndReason.STALE
    assert within_margin.status == long_call.status == CallStatus.ACTIVE
    assert finished.end_reason == ""
    assert stale_active.room_name not in livekit_server.rooms  # torn down by the task
    assert services.calls_end_stale() == 0


def test_end_stale_calls_ends_the_rows_even_when_livekit_is_down(agent, livekit_server):
    call = CallFactory(agent=agent, started_at=ago(hours=1))
    livekit_server.stop()
    assert services.calls_end_stale() == 1
    call.refresh_from_db()
    assert call.status == CallStatus.FAILED and call.end_reason == EndReason.STALE


def test_the_stale_margin_is_a_setting(agent, settings):
    settings.CALLS_STALE_MARGIN_SECONDS = 0
    call = CallFactory(agent=agent, started_at=ago(minutes=11))
    assert services.calls_end_stale() == 1
    call.refresh_from_db()
    assert call.status == CallStatus.FAILED


# --- call_end / call_mark_answered ------------------------------------------------------


def test_call_end_refuses_open_statuses(agent):
    call = CallFactory(agent=agent)
    with pytest.raises(ValueError, match="not a final status"):
        services.call_end(call=call, reason=EndReason.AGENT_ENDED, status=CallStatus.ACTIVE)


def test_call_end_lets_the_caller_choose_status_and_reason(agent):
    call = CallFactory(agent=agent, answered_at=ago(seconds=30))
    ended = services.call_end(
        call=call,
        reason=EndReason.TRANSFERRED,
        status=CallStatus.COMPLETED,
        teardown=services.TEARDOWN_NONE,
        metadata={"transferTo": "+15550001111"},
    )
    assert ended.status == CallStatus.COMPLETED and ended.end_reason == EndReason.TRANSFERRED
    assert 29 <= ended.duration <= 31 and ended.metadata["transferTo"] == "+15550001111"
    with pytest.raises(services.CallAlreadyEnded):
        services.call_end(call=call, reason=EndReason.AGENT_ENDED)


def test_call_mark_answered_is_idempotent(agent):
    call = CallFactory(agent=agent, status=CallStatus.RINGING)
    first = services.call_mark_answered(call=call)
    second = services.call_mark_answered(call=call)
    assert first.status == second.status == CallStatus.ACTIVE
    assert first.answered_at == second.answered_at is not None
    ended = CallFactory(agent=agent, status=CallStatus.CANCELED)
    assert services.call_mark_answered(call=ended).answered_at is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_concurrent_enders_cannot_both_win(customer_a):
    call = CallFactory(agent=AgentFactory(customer=customer_a), answered_at=ago(seconds=10))
    outcomes = []

    def end():
        try:
            services.call_end(call=call, reason=EndReason.AGENT_ENDED, teardown=services.TEARDOWN_NONE)
            outcomes.append("ended")
        except services.CallAlreadyEnded:
            outcomes.append("conflict")

    run_at_once([end, end])
    assert sorted(outcomes) == ["conflict", "ended"]
    assert Call.objects.get(pk=call.pk).status == CallStatus.COMPLETED
