"""The write side of analytics: one hook, `call_changed`, called next to every call write.

It runs inside the caller's transaction, so a rollback of the call write rolls the
rollup back too. Each call has a `CallFact` (what it contributed last time); the hook
computes what the call contributes now and moves the difference into its rollup row
under a row lock, so retries and re-runs (an at-least-once task, a re-analysis) never
count twice, and concurrent calls of one bucket serialise only on that row.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction

from .models import LATENCY_METRICS, ROLLUP_END_REASONS, CallDayRollup, CallFact, CallRollup

BUCKET = datetime.timedelta(minutes=15)
LATENCY_BIN_MS = 10
OPEN_STATUSES = ("queued", "ringing", "active")  # queued: an outbound call not dialed yet
# TranscriptTurn field -> histogram name.
TURN_LATENCY_FIELDS = {
    "e2e_latency_ms": "e2e",
    "llm_ttft_ms": "llm_ttft",
    "tts_ttfb_ms": "tts_ttfb",
    "end_of_turn_delay_ms": "end_of_turn",
}


def bucket_of(moment: datetime.datetime) -> datetime.datetime:
    """The start of the 15-minute UTC bucket holding `moment`."""
    moment = moment.astimezone(datetime.UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def latency_histograms(turns: Iterable) -> dict:
    """Per-turn latencies as {metric: {bin: count}}; a bin is 10 ms (value rounded)."""
    histograms: dict[str, dict[str, int]] = {}
    for turn in turns:
        for field, metric in TURN_LATENCY_FIELDS.items():
            value = getattr(turn, field, None)
            if value is None:
                continue
            key = str(round(value / LATENCY_BIN_MS))
            bins = histograms.setdefault(metric, {})
            bins[key] = bins.get(key, 0) + 1
    return histograms


def _merge(target: dict, histograms: dict, sign: int) -> dict:
    merged = {metric: dict(bins) for metric, bins in target.items()}
    for metric, bins in histograms.items():
        current = merged.setdefault(metric, {})
        for key, count in bins.items():
            total = current.get(key, 0) + sign * count
            if total:
                current[key] = total
            else:
                current.pop(key, None)
        if not current:
            merged.pop(metric)
    return merged


def tenant_timezone(customer) -> zoneinfo.ZoneInfo:
    """The organization's settings.timezone, or UTC."""
    name = (getattr(customer, "settings", None) or {}).get("timezone") if customer else None
    try:
        return zoneinfo.ZoneInfo(name) if name else zoneinfo.ZoneInfo("UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _status_column(status: str) -> str | None:
    if status in OPEN_STATUSES:
        return "status_open"
    column = f"status_{status}"
    # A status added later counts in the total only until it gets a column.
    return column if hasattr(CallRollup, column) else None


def _reason_column(reason: str) -> str | None:
    if not reason:
        return None
    return f"reason_{reason}" if reason in ROLLUP_END_REASONS else "reason_other"


def _contribution(call, latency: dict | None, previous: CallFact | None) -> dict:
    ended = call.status not in OPEN_STATUSES
    answered_ended = bool(ended and call.answered_at is not None)
    analysis = getattr(call, "analysis", None) or {}
    verdict = analysis.get("successful") if analysis.get("status") == "done" else None
    return {
        "status": call.status,
        "end_reason": call.end_reason if ended else "",
        "answered_ended": answered_ended,
        "duration_seconds": int(call.duration or 0) if answered_ended else 0,
        "cost": Decimal(call.cost or 0),
        "judged": verdict is not None,
        "successful": verdict is True,
        "latency": latency if latency is not None else (previous.latency if previous else {}),
    }


def _apply(rollup: CallRollup, part: dict, sign: int) -> None:
    status = _status_column(part["status"])
    if status:
        setattr(rollup, status, getattr(rollup, status) + sign)
    reason = _reason_column(part["end_reason"])
    if reason:
        setattr(rollup, reason, getattr(rollup, reason) + sign)
    rollup.answered_ended += sign * int(part["answered_ended"])
    rollup.duration_seconds += sign * part["duration_seconds"]
    rollup.cost += sign * part["cost"]
    rollup.judged += sign * int(part["judged"])
    rollup.successful += sign * int(part["successful"])
    if part["latency"]:
        rollup.latency = _merge(rollup.latency, part["latency"], sign)


def _key(call) -> dict:
    return {
        "customer_id": call.customer_id,
        "bucket": bucket_of(call.started_at),
        "agent_id": call.agent_id or 0,
        "direction": call.direction,
        "is_simulation": call.is_simulation,
    }


def _day_key(call, tz: zoneinfo.ZoneInfo | None = None) -> dict:
    tz = tz or tenant_timezone(call.customer)
    return {
        "customer_id": call.customer_id,
        "timezone": tz.key,
        "day": call.started_at.astimezone(tz).date(),
        "agent_id": call.agent_id or 0,
        "direction": call.direction,
        "is_simulation": call.is_simulation,
    }


def _row_key(row, key: dict) -> dict:
    return {name: getattr(row, name) for name in key}


def _locked_row(model, key: dict):
    # Insert-if-missing without an IntegrityError (ON CONFLICT DO NOTHING), then lock it.
    model.objects.bulk_create([model(**key)], ignore_conflicts=True)
    return model.objects.select_for_update().get(**key)


def _move(model, current_id, key: dict, previous: dict | None, part: dict):
    """Takes `previous` out of the row `current_id` and puts `part` into the row of `key`
    (the same row unless the call moved). Returns the row now holding the call."""
    row = None
    if current_id is not None:
        row = model.objects.select_for_update().get(pk=current_id)
        _apply(row, previous, -1)
        if _row_key(row, key) != key:
            # The call moved (an outbound call's start is when it is dialed, not queued).
            row.calls -= 1
            row.save()
            row = None
    if row is None:
        row = _locked_row(model, key)
        row.calls += 1
    _apply(row, part, +1)
    row.save()
    return row


@transaction.atomic
def call_changed(call, *, latency: dict | None = None) -> None:
    """Brings the call's rollup row up to date with `call` as just saved. `latency`: the
    call's per-turn latency histograms (latency_histograms), when they are known (finalize);
    None keeps what was counted before."""
    fact = CallFact.objects.select_for_update().filter(call_id=call.pk).first()
    part = _contribution(call, latency, fact)
    previous = _fact_part(fact) if fact else None
    rollup = _move(CallRollup, fact.rollup_id if fact else None, _key(call), previous, part)
    day_rollup = _move(CallDayRollup, fact.day_rollup_id if fact else None, _day_key(call), previous, part)
    if fact is None:
        fact = CallFact(call_id=call.pk)
    fact.rollup, fact.day_rollup = rollup, day_rollup
    for name, value in part.items():
        setattr(fact, name, value)
    fact.save()


@transaction.atomic
def calls_added(calls: Iterable, *, customer=None) -> None:
    """`call_changed` for many calls just created and not counted yet (a dialer tick's
    queued calls): each rollup row they share is locked and updated once, not once per
    call, and their facts are inserted together. `customer`: theirs, when they share one
    (saves its lookup per call). Rows are locked in the order call_changed locks them."""
    calls = list(calls)
    if not calls:
        return
    zones: dict = {}
    if customer is not None:
        zones[customer.pk] = tenant_timezone(customer)
    parts, rollup_of, day_of = {}, {}, {}
    for call in calls:
        if call.customer_id not in zones:
            zones[call.customer_id] = tenant_timezone(call.customer)
        parts[call.pk] = _contribution(call, None, None)
        rollup_of[call.pk] = tuple(sorted(_key(call).items()))
        day_of[call.pk] = tuple(sorted(_day_key(call, zones[call.customer_id]).items()))
    rows = {}
    for model, key_of in ((CallRollup, rollup_of), (CallDayRollup, day_of)):
        for key in sorted(set(key_of.values()), key=repr):
            row = _locked_row(model, dict(key))
            members = [pk for pk, k in key_of.items() if k == key]
            row.calls += len(members)
            for pk in members:
                _apply(row, parts[pk], +1)
            row.save()
            rows[(model, key)] = row
    CallFact.objects.bulk_create(
        [
            CallFact(
                call_id=call.pk,
                rollup=rows[(CallRollup, rollup_of[call.pk])],
                day_rollup=rows[(CallDayRollup, day_of[call.pk])],
                **parts[call.pk],
            )
            for call in calls
        ]
    )


def _fact_part(fact: CallFact) -> dict:
    return {
        "status": fact.status,
        "end_reason": fact.end_reason,
        "answered_ended": fact.answered_ended,
        "duration_seconds": fact.duration_seconds,
        "cost": fact.cost,
        "judged": fact.judged,
        "successful": fact.successful,
        "latency": fact.latency,
    }


def rollups_rebuild(*, customer_id=None) -> int:
    """Recomputes the rollups from the calls (a backfill, or after a bulk import that
    bypassed the services). Returns the number of calls counted."""
    from calls.models import Call

    calls = Call.objects.all() if customer_id is None else Call.objects.filter(customer_id=customer_id)
    with transaction.atomic():
        facts = CallFact.objects.filter(call__in=calls)
        rollups = CallRollup.objects.all()
        if customer_id is not None:
            rollups = rollups.filter(customer_id=customer_id)
        days = CallDayRollup.objects.all()
        if customer_id is not None:
            days = days.filter(customer_id=customer_id)
        facts.delete()
        rollups.delete()
        days.delete()
    counted = 0
    for call in calls.select_related("customer").prefetch_related("turns").order_by("pk").iterator(chunk_size=500):
        call_changed(call, latency=latency_histograms(call.turns.all()))
        counted += 1
    return counted


__all__ = [
    "BUCKET",
    "LATENCY_METRICS",
    "bucket_of",
    "call_changed",
    "calls_added",
    "latency_histograms",
    "rollups_rebuild",
]
