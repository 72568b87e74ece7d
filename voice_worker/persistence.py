"""Writes to the call and its transcript, from the voice worker and the text simulation.

The worker runs on an event loop, so its entry points are async (Django's async ORM, or
`sync_to_async` around a transaction). Closing goes through `calls.services.call_end`,
the one way every part of the platform ends a call. Every write is guarded by the call's
status, so a call the dashboard or the carrier already ended keeps its own end reason.
"""

from __future__ import annotations

import datetime
import itertools
import logging
from collections.abc import Iterable

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connection, transaction

from calls import services as call_services
from calls.models import Call, CallStatus, EndReason, TranscriptTurn

from .turns import TurnRecord

logger = logging.getLogger(__name__)


def release_stale_connections() -> None:
    """A job process outlives many calls: drop database connections that went stale in
    between, as Django does around each request. Never inside a transaction."""
    if not connection.in_atomic_block:
        close_old_connections()


class CallNotOpen(Exception):
    """The call ended while we were working on it."""


def call_mark_active(*, call_id: int) -> bool:
    """The agent is in the room: calls.services.call_mark_answered (ringing -> active).
    False when the call is gone or already ended."""
    call = Call.objects.filter(pk=call_id).first()
    if call is None:
        return False
    return call_services.call_mark_answered(call=call).is_open


acall_mark_active = sync_to_async(call_mark_active)


async def aturn_append(*, call_id: int, record: TurnRecord) -> TranscriptTurn:
    return await TranscriptTurn.objects.acreate(call_id=call_id, **record.as_model_fields())


@transaction.atomic
def call_end_if_open(*, call_id: int, reason: str, error_message: str = "") -> bool:
    """Ends the call if it is still open; False when it had already ended (or is gone).
    An error reason ends it as failed. The worker deletes its room itself."""
    call = Call.objects.filter(pk=call_id).first()
    if call is None:
        return False
    try:
        _end(call, reason=reason, error_message=error_message, teardown=call_services.TEARDOWN_NONE)
    except call_services.CallAlreadyEnded:
        return False
    return True


acall_end_if_open = sync_to_async(call_end_if_open)


@transaction.atomic
def call_record_transfer(*, call_id: int, record: dict) -> None:
    """Appends a transfer attempt ({destination, mode, outcome, detail, at}) to the call's
    `metadata.transfers`, so the call says who it was handed to, or why not."""
    call = Call.objects.select_for_update().filter(pk=call_id).first()
    if call is None:
        return
    metadata = call.metadata if isinstance(call.metadata, dict) else {}
    call.metadata = {**metadata, "transfers": [*metadata.get("transfers", []), record]}
    call.save(update_fields=["metadata", "updated_at"])


acall_record_transfer = sync_to_async(call_record_transfer)


@transaction.atomic
def call_record_transfer_end(*, call_id: int, fields: dict) -> None:
    """The call a transfer connected has ended (a bridged warm transfer: who hung up, when):
    its record, the last of `metadata.transfers`, gets `fields`."""
    call = Call.objects.select_for_update().filter(pk=call_id).first()
    if call is None or not isinstance(call.metadata, dict) or not call.metadata.get("transfers"):
        return
    *earlier, last = call.metadata["transfers"]
    call.metadata = {**call.metadata, "transfers": [*earlier, {**last, **fields}]}
    call.save(update_fields=["metadata", "updated_at"])


acall_record_transfer_end = sync_to_async(call_record_transfer_end)


# The API shows times to the millisecond (morpheus/api/json.py).
TURN_TIME_RESOLUTION = datetime.timedelta(milliseconds=1)


def _apart(records: list[TurnRecord]) -> list[TurnRecord]:
    """Turns of one exchange in strictly increasing times, at least a millisecond apart: a
    greeting and the caller's message can be recorded within the same millisecond, and the
    transcript must still tell them apart and in order."""
    for previous, record in itertools.pairwise(records):
        if record.created_at < previous.created_at + TURN_TIME_RESOLUTION:
            record.created_at = previous.created_at + TURN_TIME_RESOLUTION
    return records


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
    records = _apart(list(records))
    turns = [TranscriptTurn.objects.create(call_id=call_id, **record.as_model_fields()) for record in records]
    if end_reason:
        # The simulation room still exists in LiveKit: call_end tears it down after commit.
        locked = _end(locked, reason=end_reason, teardown=call_services.TEARDOWN_LATER)
    return turns, locked


def _end(call: Call, *, reason: str, teardown: str, error_message: str = "") -> Call:
    status = CallStatus.FAILED if reason == EndReason.ERROR else None
    return call_services.call_end(
        call=call, reason=reason, status=status, error_message=error_message, teardown=teardown
    )
