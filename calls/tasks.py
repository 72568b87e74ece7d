"""Celery tasks around the media loop: thin, taking ids, the work is in services."""

import contextlib
import logging

from celery import shared_task
from django.conf import settings

from .analysis import AnalysisRetry, analysis_run
from .livekit_client import LiveKitUnavailable
from .models import Call, CallStatus, EndReason
from .services import (
    TEARDOWN_LATER,
    CallAlreadyEnded,
    CallHasNoAgent,
    call_dispatch_agent,
    call_end,
    call_finalize,
    call_teardown_room,
    calls_close_stale,
)

logger = logging.getLogger(__name__)

DISPATCH_MAX_RETRIES = 5
TEARDOWN_MAX_RETRIES = 8


def _backoff(retries: int, cap: int) -> int:
    return min(2**retries, cap)


def _retry(task, exc: Exception, countdown: int):
    """A worker schedules the retry. An eager run (tests, development without a broker) has
    to *return* the retry for Celery to re-run it inline: raised, it propagates instead."""
    if task.request.is_eager:
        return task.retry(exc=exc, countdown=countdown, throw=False)
    raise task.retry(exc=exc, countdown=countdown)


def _fail(call: Call, message: str) -> None:
    with contextlib.suppress(CallAlreadyEnded):
        call_end(
            call=call, reason=EndReason.ERROR, status=CallStatus.FAILED, error_message=message, teardown=TEARDOWN_LATER
        )


@shared_task(bind=True, max_retries=DISPATCH_MAX_RETRIES)
def dispatch_agent(self, call_id: int) -> str:
    """Sends the voice agent into the call's room. Retries with backoff while LiveKit is
    unavailable; after the last retry the call fails with end reason `error`."""
    call = Call.objects.filter(pk=call_id).first()
    if call is None or not call.is_open:
        return "skipped"
    try:
        call_dispatch_agent(call=call)
    except CallAlreadyEnded:
        return "skipped"
    except CallHasNoAgent:
        _fail(call, "The call has no agent to dispatch")
        return "failed"
    except LiveKitUnavailable as exc:
        if exc.twirp_code == "not_configured" or self.request.retries >= self.max_retries:
            logger.error("Agent dispatch for call %s failed for good: %s", call_id, exc)
            _fail(call, f"Agent dispatch failed: {exc}")
            return "failed"
        return _retry(self, exc, _backoff(self.request.retries, cap=30))
    return "dispatched"


@shared_task(bind=True, max_retries=TEARDOWN_MAX_RETRIES)
def teardown_call_room(self, call_id: int) -> str:
    """Deletes an ended call's room (disconnecting a SIP leg or an agent still in it)."""
    call = Call.objects.filter(pk=call_id).first()
    if call is None:
        return "skipped"
    try:
        call_teardown_room(call=call)
    except LiveKitUnavailable as exc:
        if exc.twirp_code == "not_configured" or self.request.retries >= self.max_retries:
            logger.error("Could not delete room %s of call %s: %s", call.room_name, call_id, exc)
            return "failed"
        return _retry(self, exc, _backoff(self.request.retries, cap=60))
    return "deleted"


@shared_task
def finalize_call(call_id: int) -> str:
    """Post-call processing: usage and latency summary of the transcript."""
    call = Call.objects.filter(pk=call_id).first()
    if call is None:
        return "skipped"
    call_finalize(call=call)
    return "finalized"


@shared_task(bind=True, max_retries=None)
def analyze_call(self, call_id: int, run_id: str) -> str:
    """Post-call analysis (calls/analysis.py): ANALYSIS_MAX_ATTEMPTS answers at most, with
    backoff between them; the last failure is stored as `failed` with its reason."""
    final = self.request.retries + 1 >= settings.ANALYSIS_MAX_ATTEMPTS
    try:
        return analysis_run(call_id=call_id, run_id=run_id, final_attempt=final)
    except AnalysisRetry as exc:
        return _retry(self, exc, _backoff(self.request.retries + 1, cap=120))


@shared_task
def close_stale_calls() -> int:
    """Beat, every minute: see calls.services.calls_close_stale."""
    return calls_close_stale()
