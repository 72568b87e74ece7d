"""The write side of analytics: one hook, `call_changed`, called next to every call write.

It runs inside the caller's transaction, so a rollback of the call write rolls the
rollup back too. Each call has a `CallFact` (what it contributed last time); the hook
computes what the call contributes now and moves the difference into its rollup row
under a row lock, so retries and re-runs (an at-least-once task, a re-analysis) never
count twice, and concurrent calls of one bucket serialise only on that row.
"""

from __future__ import annotations

import collections
import datetime
import json
import zoneinfo
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection, models, transaction

from .models import (
    ALL_AGENTS,
    ALL_DIRECTIONS,
    FIGURE_COLUMNS,
    HOUR_PHASES,
    LATENCY_METRICS,
    ROLLUP_END_REASONS,
    CallDayRollup,
    CallFact,
    CallHourRollup,
    CallRollup,
    RollupFigures,
)

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


def hour_of(moment: datetime.datetime, phase: int) -> datetime.datetime:
    """The start of the hour holding `moment` among the hours starting `phase` minutes past
    the UTC hour."""
    bucket = bucket_of(moment)
    return bucket - datetime.timedelta(minutes=(bucket.minute - phase) % 60)


def latency_bin(value: float) -> str:
    """A latency's histogram bin, in units of 10 ms: the value rounded to 10 ms below 1 s,
    to 100 ms below 10 s, to the second above. Two significant digits at most, so an hour's
    histogram has a bounded number of bins (under 300) however many turns it counts."""
    if value < 995:
        return str(round(value / LATENCY_BIN_MS))
    if value < 9950:
        return str(round(value / 100) * 10)
    return str(round(value / 1000) * 100)


def latency_histograms(turns: Iterable) -> dict:
    """Per-turn latencies as {metric: {bin: count}} (bins: latency_bin)."""
    histograms: dict[str, dict[str, int]] = {}
    for turn in turns:
        _count_turn(histograms, [getattr(turn, field, None) for field in TURN_LATENCY_FIELDS])
    return histograms


def _count_turn(histograms: dict, values: Iterable[float | None]) -> None:
    """Adds one turn's latencies (in TURN_LATENCY_FIELDS order) to `histograms`."""
    for metric, value in zip(TURN_LATENCY_FIELDS.values(), values, strict=True):
        if value is None:
            continue
        key = latency_bin(value)
        bins = histograms.setdefault(metric, {})
        bins[key] = bins.get(key, 0) + 1


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


def merge_into(target: dict[str, dict[str, int]], histograms: dict[str, dict[str, int]]) -> None:
    """Adds `histograms` to `target`, in place."""
    for metric, bins in histograms.items():
        current = target.setdefault(metric, {})
        for key, count in bins.items():
            current[key] = current.get(key, 0) + count


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


def _hour_keys(quarter_key: dict) -> list[dict]:
    """The hour rows of a call whose 15-minute row has `quarter_key`: its agent and
    direction's, and the all-agents row, in each phase (always in this order, so concurrent
    writers lock rows in the same order)."""
    keys = []
    key_sim = quarter_key["is_simulation"]
    for phase in HOUR_PHASES:
        hour = hour_of(quarter_key["bucket"], phase)
        common = {"customer_id": quarter_key["customer_id"], "phase": phase, "hour": hour}
        own = (quarter_key["agent_id"], quarter_key["direction"])
        for agent_id, direction in (own, (ALL_AGENTS, ALL_DIRECTIONS)):
            keys.append({**common, "agent_id": agent_id, "direction": direction, "is_simulation": key_sim})
    return keys


def _row_key(row, key: dict) -> dict:
    return {name: getattr(row, name) for name in key}


def _locked_row(model, key: dict):
    # Insert-if-missing without an IntegrityError (ON CONFLICT DO NOTHING), then lock it.
    model.objects.bulk_create([model(**key)], ignore_conflicts=True)
    return model.objects.select_for_update().get(**key)


def _move(model, current: dict | None, key: dict, previous: dict | None, part: dict):
    """Takes `previous` out of the row found by `current` (a lookup) and puts `part` into
    the row of `key` (the same row unless the call moved). Returns the row now holding the call."""
    row = None
    if current is not None:
        row = model.objects.select_for_update().get(**current)
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
    _hold_rebuild_lock(call.customer_id, exclusive=False)
    fact = CallFact.objects.select_for_update().select_related("rollup").filter(call_id=call.pk).first()
    part = _contribution(call, latency, fact)
    previous = _fact_part(fact) if fact else None
    key = _key(call)
    old_key = _row_key(fact.rollup, key) if fact else None
    rollup = _move(CallRollup, {"pk": fact.rollup_id} if fact else None, key, previous, part)
    old_day = {"pk": fact.day_rollup_id} if fact and fact.day_rollup_id else None
    day_rollup = _move(CallDayRollup, old_day, _day_key(call), previous, part)
    # A fact from before the hour rollups: its hours never counted it (rebuild_rollups fills them).
    counted_hours = old_key is not None and fact is not None and fact.in_hour_rollups
    old_hours = _hour_keys(old_key) if counted_hours else [None] * (2 * len(HOUR_PHASES))
    for old_hour, hour in zip(old_hours, _hour_keys(key), strict=True):
        _move(CallHourRollup, old_hour, hour, previous if counted_hours else None, part)
    if fact is None:
        fact = CallFact(call_id=call.pk)
    fact.rollup, fact.day_rollup, fact.in_hour_rollups = rollup, day_rollup, True
    for name, value in part.items():
        setattr(fact, name, value)
    fact.save()


@transaction.atomic
def calls_added(calls: Iterable, *, customer=None) -> None:
    """`call_changed` for many calls just created and not counted yet (a dialer tick's
    queued calls): each rollup row they share is locked and updated once, not once per
    call, and their facts are inserted together. `customer`: theirs, when they share one
    (saves its lookup per call). Rows are locked class by class in call_changed's order
    (15-minute, day, hour rows), each class's keys sorted, so concurrent writers cannot
    deadlock."""
    calls = list(calls)
    if not calls:
        return
    zones: dict = {}
    if customer is not None:
        zones[customer.pk] = tenant_timezone(customer)
    for customer_id in sorted({str(call.customer_id) for call in calls}):
        _hold_rebuild_lock(customer_id, exclusive=False)
    parts: dict = {}
    keys_of: dict = {CallRollup: {}, CallDayRollup: {}, CallHourRollup: {}}
    for call in calls:
        if call.customer_id not in zones:
            zones[call.customer_id] = tenant_timezone(call.customer)
        parts[call.pk] = _contribution(call, None, None)
        key = _key(call)
        keys_of[CallRollup][call.pk] = [_frozen(key)]
        keys_of[CallDayRollup][call.pk] = [_frozen(_day_key(call, zones[call.customer_id]))]
        keys_of[CallHourRollup][call.pk] = [_frozen(hour) for hour in _hour_keys(key)]
    rows: dict = {}
    for model, by_call in keys_of.items():
        members: dict = {}
        for pk, keys in by_call.items():
            for key in keys:
                members.setdefault(key, []).append(pk)
        for key in sorted(members, key=repr):
            row = _locked_row(model, dict(key))
            row.calls += len(members[key])
            for pk in members[key]:
                _apply(row, parts[pk], +1)
            row.save()
            rows[(model, key)] = row
    CallFact.objects.bulk_create(
        [
            CallFact(
                call_id=call.pk,
                rollup=rows[(CallRollup, keys_of[CallRollup][call.pk][0])],
                day_rollup=rows[(CallDayRollup, keys_of[CallDayRollup][call.pk][0])],
                in_hour_rollups=True,
                **parts[call.pk],
            )
            for call in calls
        ]
    )


def _frozen(key: dict) -> tuple:
    return tuple(sorted(key.items()))


# pg_advisory_xact_lock's first key: "analytics rebuild" (the second is the tenant's hash).
REBUILD_LOCK_CLASS = 1818


def _hold_rebuild_lock(customer_id, *, exclusive: bool) -> None:
    """PostgreSQL: every call write holds its tenant's rebuild lock shared until it commits,
    a bulk rebuild holds it exclusive, so the two never interleave (SQLite writes one at a
    time anyway)."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, hashtext(%s))", [REBUILD_LOCK_CLASS, str(customer_id)])


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
        CallFact.objects.filter(call__in=calls).delete()
        for model in (CallRollup, CallDayRollup, CallHourRollup):
            rows = model.objects.all()
            (rows if customer_id is None else rows.filter(customer_id=customer_id)).delete()
    counted = 0
    for call in calls.select_related("customer").prefetch_related("turns").order_by("pk").iterator(chunk_size=500):
        call_changed(call, latency=latency_histograms(call.turns.all()))
        counted += 1
    return counted


_QUARTER_KEY = ("customer_id", "bucket", "agent_id", "direction", "is_simulation")
# What a bulk rebuild reads of a call: what _key and _contribution use.
_CallRow = collections.namedtuple(
    "_CallRow",
    "pk customer_id agent_id direction is_simulation started_at status end_reason answered_at duration cost analysis",
)


def _calls_with_latency(customer_id) -> Iterable[tuple[_CallRow, dict]]:
    """(call, its latency histograms) of every call of the tenant, read in two streams
    ordered by call (calls, and their turns' latency columns) and joined here."""
    from calls.models import Call, TranscriptTurn

    calls = (
        Call.objects.filter(customer_id=customer_id)
        .order_by("pk")
        .values_list(*_CallRow._fields)
        .iterator(chunk_size=5000)
    )
    turns = (
        TranscriptTurn.objects.filter(call__customer_id=customer_id)
        .order_by("call_id", "id")
        .values_list("call_id", *TURN_LATENCY_FIELDS)
        .iterator(chunk_size=20000)
    )
    turn = next(turns, None)
    for values in calls:
        call = _CallRow(*values)
        histograms: dict = {}
        while turn is not None and turn[0] <= call.pk:
            if turn[0] == call.pk:
                _count_turn(histograms, turn[1:])
            turn = next(turns, None)
        yield call, histograms


def _add_row(target: RollupFigures, row: RollupFigures) -> None:
    for column in FIGURE_COLUMNS:
        setattr(target, column, getattr(target, column) + getattr(row, column))
    merge_into(target.latency, row.latency)


def _day_key_of(quarter: CallRollup, tz: zoneinfo.ZoneInfo) -> dict:
    """The day row holding a 15-minute row: one never straddles a local midnight, since
    every offset is a multiple of 15 minutes."""
    return {
        "customer_id": quarter.customer_id,
        "timezone": tz.key,
        "day": quarter.bucket.astimezone(tz).date(),
        "agent_id": quarter.agent_id,
        "direction": quarter.direction,
        "is_simulation": quarter.is_simulation,
    }


def rollups_rebuild_bulk(*, customer_id) -> int:
    """rollups_rebuild for one tenant with many calls: the 15-minute rows are summed in
    memory from two streams (calls, turns), the day and hour rows from them, all written
    in batches: minutes for a million calls where rebuilding call by call takes hours. The
    tenant's call writes wait meanwhile (they hold its rebuild lock shared, this holds it
    exclusive, on PostgreSQL), so nothing written during the rebuild is lost or counted
    twice. Returns the number of calls counted."""
    from tenants.models import Customer

    tz = tenant_timezone(Customer.objects.get(pk=customer_id))
    with transaction.atomic():
        _hold_rebuild_lock(customer_id, exclusive=True)
        CallFact.objects.filter(call__customer_id=customer_id).delete()
        for model in (CallRollup, CallDayRollup, CallHourRollup):
            model.objects.filter(customer_id=customer_id).delete()
        quarters: dict[tuple, CallRollup] = {}
        for call, latency in _calls_with_latency(customer_id):
            key = _key(call)
            row = quarters.get(tuple(key.values()))
            if row is None:
                row = quarters[tuple(key.values())] = CallRollup(**key, latency={})
            row.calls += 1
            _apply(row, {**_contribution(call, None, None), "latency": None}, +1)
            merge_into(row.latency, latency)
        days: dict[tuple, CallDayRollup] = {}
        hours: dict[tuple, CallHourRollup] = {}
        for quarter in quarters.values():
            day_key = _day_key_of(quarter, tz)
            day = days.get(tuple(day_key.values()))
            if day is None:
                day = days[tuple(day_key.values())] = CallDayRollup(**day_key, latency={})
            _add_row(day, quarter)
            for hour_key in _hour_keys({name: getattr(quarter, name) for name in _QUARTER_KEY}):
                hour = hours.get(tuple(hour_key.values()))
                if hour is None:
                    hour = hours[tuple(hour_key.values())] = CallHourRollup(**hour_key, latency={})
                _add_row(hour, quarter)
        for model, rows in ((CallRollup, quarters), (CallDayRollup, days), (CallHourRollup, hours)):
            _write(model, list(rows.values()))
        facts = []
        counted = 0
        for call, latency in _calls_with_latency(customer_id):
            quarter = quarters[tuple(_key(call).values())]
            facts.append(
                {
                    "call_id": call.pk,
                    "rollup_id": quarter.pk,
                    "day_rollup_id": days[tuple(_day_key_of(quarter, tz).values())].pk,
                    "in_hour_rollups": True,
                    **_contribution(call, latency, None),
                }
            )
            counted += 1
            if len(facts) == 20000:
                _write(CallFact, facts)
                facts = []
        _write(CallFact, facts)
    return counted


def _write(model, objects: list) -> None:
    """Inserts `objects` (instances, whose pk it sets, or dicts of field values: a million
    facts are not worth a million instances): PostgreSQL's COPY, ids taken from the
    table's sequence beforehand (bulk_create's per-value preparation takes most of a
    rebuild's time otherwise); bulk_create elsewhere."""
    if connection.vendor != "postgresql" or not objects:
        model.objects.bulk_create([model(**obj) if isinstance(obj, dict) else obj for obj in objects], batch_size=2000)
        return
    table = model._meta.db_table
    fields = model._meta.concrete_fields
    with connection.cursor() as cursor:
        if model._meta.pk.auto_created or isinstance(model._meta.pk, models.AutoField):
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, model._meta.pk.column, len(objects)],
            )
            for obj, (pk,) in zip(objects, cursor.fetchall(), strict=True):
                obj.pk = pk
        columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
        with cursor.copy(f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN") as copy:
            for obj in objects:
                values = obj if isinstance(obj, dict) else obj.__dict__
                copy.write_row([_copy_value(field, values[field.attname]) for field in fields])


def _copy_value(field, value):
    return json.dumps(value) if isinstance(field, models.JSONField) else value


__all__ = [
    "BUCKET",
    "LATENCY_METRICS",
    "bucket_of",
    "call_changed",
    "calls_added",
    "latency_histograms",
    "rollups_rebuild",
]
