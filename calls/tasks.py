"""Celery tasks around the media loop: thin, taking ids, the work is in services."""

import contextlib
import logging

from celery import shared_task
from django.conf import settings

from .analysis import AnalysisRetry, analysis_run
from .livekit_client import LiveKitUnavailable
from .models import Call, EndReason
from .recordings import recording_fail, recording_start, recording_verify, recordings_purge
from .services import (
    CallAlreadyEnded,
    CallHasNoAgent,
    call_dispatch_agent,
    call_fail_unless_ended,
    call_finalize,
    call_teardown_room,
    calls_end_stale,
)
from .storage import StorageUnavailable

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
        call_fail_unless_ended(call=call, reason=EndReason.ERROR, error_message="The call has no agent to dispatch")
        return "failed"
    except LiveKitUnavailable as exc:
        if exc.twirp_code == "not_configured" or self.request.retries >= self.max_retries:
            logger.error("Agent dispatch for call %s failed for good: %s", call_id, exc)
            call_fail_unless_ended(call=call, reason=EndReason.ERROR, error_message=f"Agent dispatch failed: {exc}")
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


RECORDING_START_RETRIES = 4
RECORDING_VERIFY_RETRIES = 12


@shared_task(bind=True, max_retries=RECORDING_START_RETRIES)
def start_recording(self, call_id: int) -> str:
    """Starts the call's egress (calls/recordings.py); LiveKit down is retried, then the
    recording is `failed` (the call itself goes on)."""
    call = Call.objects.filter(pk=call_id).first()
    if call is None:
        return "skipped"
    try:
        return recording_start(call=call)
    except LiveKitUnavailable as exc:
        if exc.twirp_code == "not_configured" or self.request.retries >= self.max_retries:
            recording_fail(call_id=call_id, reason=f"Recording could not start: {exc}")
            return "failed"
        return _retry(self, exc, _backoff(self.request.retries, cap=10))


@shared_task(bind=True, max_retries=RECORDING_VERIFY_RETRIES)
def verify_recording(self, call_id: int) -> str:
    """Egress said the file is written: check it is in the bucket, then `ready`. Storage
    down (or the object not visible yet) keeps it `pending` and retries with backoff; the
    hourly purge-recordings run re-checks pending ones too, so nothing is lost."""
    call = Call.objects.filter(pk=call_id).first()
    if call is None:
        return "skipped"
    try:
        outcome = recording_verify(call=call)
    except StorageUnavailable as exc:
        if self.request.retries >= self.max_retries:
            return "pending"
        return _retry(self, exc, _backoff(self.request.retries, cap=600))
    if outcome == "missing":
        if self.request.retries >= self.max_retries:
            recording_fail(call_id=call_id, reason="Egress reported the file but the bucket has no such object")
            return "failed"
        return _retry(self, StorageUnavailable("not in the bucket yet"), _backoff(self.request.retries, cap=600))
    return outcome


@shared_task
def purge_recordings() -> int:
    """Beat, hourly: recordings past their organization's retention are deleted; pending
    ones are checked again."""
    from .models import RecordingStatus

    for call_id in Call.objects.filter(recording_status=RecordingStatus.PENDING).values_list("pk", flat=True)[:500]:
        with contextlib.suppress(StorageUnavailable):
            call = Call.objects.get(pk=call_id)
            recording_verify(call=call)
    return recordings_purge()


@shared_task
def end_stale_calls() -> int:
    """Beat, every minute: see calls.services.calls_end_stale."""
    return calls_end_stale()


# --- Outbound calls and capacity leases (calls/outbound.py, calls/leases.py) -------------

DIAL_MAX_RETRIES = 6
# An outbound call waits this long for a free capacity slot before it fails.
QUEUE_MAX_WAIT_SECONDS = 60 * 60
QUEUE_RETRY_SECONDS = 10


@shared_task(bind=True, max_retries=None)
def dial_outbound_call(self, call_id: int) -> str:
    """Places a queued outbound call (calls.outbound.call_dial). No capacity: waits and
    tries again (the call stays `queued`); LiveKit or Redis down: retries with backoff,
    then fails the call; any other error fails the call, so its lease is never kept."""
    from django.utils import timezone

    from . import outbound
    from .leases import LeaseStoreUnavailable

    try:
        result = outbound.call_dial(call_id=call_id, claimer=self.request.id or "")
    except (LiveKitUnavailable, LeaseStoreUnavailable) as exc:
        failures = self.request.retries
        if getattr(exc, "twirp_code", "") == "not_configured" or failures >= DIAL_MAX_RETRIES:
            logger.error("Dialing call %s failed for good: %s", call_id, exc)
            outbound.call_fail_dial(call_id=call_id, message=f"Dial failed: {exc}")
            return "failed"
        return _retry(self, exc, _backoff(failures, cap=30))
    except Exception as exc:
        logger.exception("Dialing call %s crashed", call_id)
        outbound.call_fail_dial(call_id=call_id, message=f"Dial failed: {type(exc).__name__}: {exc}")
        raise
    if result == outbound.DialResult.NOT_DUE:
        return result  # calls.tasks.redial_queued_calls dials it when its time comes
    if result == outbound.DialResult.WAITING:
        call = Call.objects.filter(pk=call_id).only("created_at", "started_at").first()
        waited_since = max(call.created_at, call.started_at) if call else timezone.now()
        if (timezone.now() - waited_since).total_seconds() > QUEUE_MAX_WAIT_SECONDS:
            outbound.call_fail_dial(
                call_id=call_id, message="No call capacity became free in time", reason=EndReason.CAPACITY
            )
            return "failed"
        if self.request.is_eager:
            return "waiting"  # eager runs (tests, `make run`) cannot wait: redial_queued_calls tries again
        raise self.retry(countdown=QUEUE_RETRY_SECONDS, max_retries=None)
    return result


@shared_task
def redial_queued_calls() -> int:
    """Beat, every 10 s: see calls.outbound.calls_redial_queued."""
    from . import outbound

    return outbound.calls_redial_queued()


@shared_task
def sweep_call_leases() -> int:
    """Beat, every 30 s: see calls.leases.sweep."""
    from . import leases

    return leases.sweep()
