"""Writes to the call and its transcript, from the voice worker and the text simulation.

The worker runs on an event loop, so its entry points are async (Django's async ORM, or
`sync_to_async` around a transaction). Closing mirrors what `calls.services.call_end`
does (final status, end reason, ended_at, duration from when the call was answered, the
finalisation task); the lead may later route `call_close` through it. Every write is
guarded by the call's status, so a call the dashboard or the carrier already ended keeps
its own end reason.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable

from asgiref.sync import sync_to_async
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from calls.models import OPEN_CALL_STATUSES, Call, CallStatus, EndReason, TranscriptTurn

from .turns import TurnRecord

logger = logging.getLogger(__name__)

ERROR_MESSAGE_MAX = 2000


class CallNotOpen(Exception):
    """The call ended while we were working on it."""


async def acall_mark_active(*, call_id: int) -> bool:
    """The agent is in the room: ringing -> active, answered now unless already answered."""
    updated = await Call.objects.filter(pk=call_id, status__in=OPEN_CALL_STATUSES).aupdate(
        status=CallStatus.ACTIVE,
        answered_at=Coalesce(F("answered_at"), Value(timezone.now())),
        updated_at=timezone.now(),
    )
    return bool(updated)


async def aturn_append(*, call_id: int, record: TurnRecord) -> TranscriptTurn:
    return await TranscriptTurn.objects.acreate(call_id=call_id, **record.as_model_fields())


@transaction.atomic
def call_close(*, call_id: int, reason: str, error_message: str = "") -> bool:
    """Closes the call if it is still open; False when it was already closed (or is gone).
    An error reason closes it as failed."""
    locked = Call.objects.select_for_update().filter(pk=call_id).first()
    if locked is None or not locked.is_open:
        return False
    _close_locked(locked, reason=reason, error_message=error_message)
    return True


acall_close = sync_to_async(call_close)


@transaction.atomic
def simulation_exchange_store(
    *, call_id: int, records: Iterable[TurnRecord], end_reason: str = ""
) -> tuple[list[TranscriptTurn], Call]:
    """Stores one simulated exchange (the caller's message and everything the agent did
    about it) all at once, and closes the call if the exchange ended it. Raises CallNotOpen,
    writing nothing, if the call was ended meanwhile."""
    locked = Call.objects.select_for_update().get(pk=call_id)
    if not locked.is_open:
        raise CallNotOpen()
    turns = [TranscriptTurn.objects.create(call_id=call_id, **record.as_model_fields()) for record in records]
    if end_reason:
        _close_locked(locked, reason=end_reason)
        # The simulation room still exists in LiveKit; the calls app deletes it.
        transaction.on_commit(lambda: _enqueue_calls_task("teardown_call_room", call_id))
    return turns, locked


def _close_locked(locked: Call, *, reason: str, error_message: str = "") -> None:
    now = timezone.now()
    locked.ended_at = now
    if reason == EndReason.ERROR:
        locked.status = CallStatus.FAILED
    else:
        locked.status = CallStatus.COMPLETED if locked.answered_at else CallStatus.CANCELED
    locked.end_reason = reason
    if error_message:
        locked.error_message = error_message[:ERROR_MESSAGE_MAX]
    locked.duration = max(0, int((now - locked.answered_at).total_seconds())) if locked.answered_at else 0
    locked.save(update_fields=["ended_at", "status", "end_reason", "error_message", "duration", "updated_at"])
    call_id = locked.pk
    transaction.on_commit(lambda: _enqueue_calls_task("finalize_call", call_id))
    logger.info("call %s closed: %s (%s)", call_id, locked.status, reason)


def _enqueue_calls_task(name: str, call_id: int) -> None:
    """Post-call work belongs to the calls app (`calls.tasks`); looked up by name so the
    worker keeps working while that app evolves."""
    try:
        task = getattr(importlib.import_module("calls.tasks"), name, None)
    except ImportError:
        task = None
    if task is None:
        logger.warning("calls.tasks.%s is not available; skipped for call %s", name, call_id)
        return
    try:
        task.delay(call_id)
    except Exception:
        # The call is closed either way; the stale sweep and retries cover a lost task.
        logger.exception("could not enqueue calls.tasks.%s for call %s", name, call_id)
