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
import functools
import json
import zoneinfo
from collections.abc import Iterable
from decimal import Decimal
from types import SimpleNamespace

from django.db import connection, models, transaction

from .histograms import pack, unpack
from .models import (
    ALL_AGENTS,
    ALL_DIRECTIONS,
    FIGURE_COLUMNS,
    HOUR_PHASES,
    LATENCY_BIN_MS,
    LATENCY_METRICS,
    ROLLUP_END_REASONS,
    CallDayRollup,
    CallFact,
    CallHourRollup,
    CallRollup,
    RollupFigures,
)

BUCKET = datetime.timedelta(minutes=15)
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


def _frozen(key: dict) -> tuple:
    return tuple(sorted(key.items()))


def _zero() -> SimpleNamespace:
    """A difference to add to one rollup row: every figure column, and latency bins."""
    return SimpleNamespace(**dict.fromkeys(FIGURE_COLUMNS, 0), latency={})


def _count(deltas: dict, key: dict, part: dict, sign: int) -> None:
    """Adds one call's contribution `part` to the difference for the row of `key` (+1 call
    and its figures), or takes it out (`sign` -1: the call leaves the row, or its old figures
    make way for new ones)."""
    delta = deltas.get(_frozen(key))
    if delta is None:
        delta = deltas[_frozen(key)] = _zero()
    delta.calls += sign
    _apply(delta, part, sign)


def _changed(deltas: dict) -> dict:
    """The differences that change something (the others are not written)."""
    return {
        key: delta
        for key, delta in deltas.items()
        if delta.latency or any(getattr(delta, column) for column in FIGURE_COLUMNS)
    }


def _upsert_statement(model, changed: dict, *, after: str | None = None) -> tuple[str, list, list, list]:
    """`INSERT … ON CONFLICT (key) DO UPDATE SET col = col + excluded.col RETURNING id, key…,
    latency` adding the differences `changed` (non-empty) to their rows, in sorted key order.
    Returns the statement, its parameters, the key fields and the keys in the order written.

    `after`: the statement is a WITH query of a larger statement, and must not touch a row
    before the WITH query named `after` has written all of its own (PostgreSQL runs the WITH
    queries of a statement in no set order): its rows are then selected under a one-time
    filter counting `after`'s, which runs `after` to completion first. So one statement
    locks its tables' rows in the same order as the separate statements do."""
    meta = model._meta
    key_names = tuple(name for name, _ in next(iter(changed)))
    sent_names = tuple(
        column
        for column in FIGURE_COLUMNS
        if column == "calls" or any(getattr(delta, column) for delta in changed.values())
    )
    key_fields = [meta.get_field(name) for name in key_names]
    sent = [meta.get_field(column) for column in sent_names]
    latency = meta.get_field("latency")
    ordered = sorted(changed, key=lambda key: _normal(key_fields, key))
    params: list = []
    for key in ordered:
        values = dict(key)
        params += [field.get_db_prep_save(values[field.attname], connection) for field in key_fields]
        params += [field.get_db_prep_save(getattr(changed[key], field.name), connection) for field in sent]
        params.append(latency.get_db_prep_save(b"", connection))
    sql = _upsert_sql(model, key_names, sent_names, len(ordered), after)
    return sql, params, key_fields, ordered


@functools.lru_cache(maxsize=256)
def _upsert_sql(model, key_names: tuple, sent_names: tuple, rows: int, after: str | None) -> str:
    """`_upsert_statement`'s text, built once per process for each shape: it depends only on
    the table, the columns sent and the number of rows (a new call's is always the same), and
    building it from the model's fields cost the inbound call about 1.5 ms per request."""
    meta = model._meta
    key_fields = [meta.get_field(name) for name in key_names]
    sent = [meta.get_field(column) for column in sent_names]
    latency = meta.get_field("latency")
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    # The columns no difference changes are inserted as 0 (their model default) and left alone on conflict.
    zeros = [meta.get_field(column) for column in FIGURE_COLUMNS if column not in sent_names]
    columns = ", ".join(quote(field.column) for field in (*key_fields, *sent, latency, *zeros))
    # Inside a SELECT the values need their types (an INSERT's VALUES takes its columns').
    placeholders = ", ".join(
        [_placeholder(field, typed=after is not None) for field in (*key_fields, *sent, latency)] + ["0"] * len(zeros)
    )
    values = f"VALUES {', '.join([f'({placeholders})'] * rows)}"
    if after is not None:
        values = f"SELECT * FROM ({values}) AS source WHERE (SELECT count(*) FROM {after}) >= 0"  # noqa: S608
    unique = next(c for c in meta.constraints if isinstance(c, models.UniqueConstraint))
    target = ", ".join(quote(meta.get_field(name).column) for name in unique.fields)
    sums = ", ".join(f"{quote(f.column)} = {table}.{quote(f.column)} + excluded.{quote(f.column)}" for f in sent)
    returned = ", ".join(quote(field.column) for field in (meta.pk, *key_fields, latency))
    return f"INSERT INTO {table} ({columns}) {values} ON CONFLICT ({target}) DO UPDATE SET {sums} RETURNING {returned}"


def _normal(key_fields: list, key: tuple) -> tuple:
    """A frozen key as read back from the database (a str UUID as a UUID...)."""
    values = dict(key)
    return tuple(field.to_python(values[field.attname]) for field in key_fields)


def _placeholder(field, *, typed: bool) -> str:
    return f"%s::{field.cast_db_type(connection)}" if typed else "%s"


def _upsert(model, deltas: dict) -> dict:
    """Adds each difference to its row, the row created if missing, in one statement per
    table (_upsert_statement). The statement locks each row it adds to, so concurrent
    writers of one row add up exactly; rows go in sorted key order, every writer's order, so
    two writers cannot deadlock. Only the columns some difference changes are sent and added
    (a new call changes two of the thirty). A latency difference (a finalized call) is merged
    in Python into the row the statement returned (packed: histograms.pack), still locked by
    it, and written back with one more statement. Differences that change nothing are
    skipped. Returns {frozen key: row}, the rows holding their key, id and latency only."""
    changed = _changed(deltas)
    if not changed:
        return {}
    sql, params, key_fields, ordered = _upsert_statement(model, changed)
    written = {tuple(getattr(r, field.attname) for field in key_fields): r for r in model.objects.raw(sql, params)}
    rows = {key: written[_normal(key_fields, key)] for key in ordered}
    merged = []
    for key in ordered:
        if changed[key].latency:
            rows[key].latency = pack(_merge(unpack(rows[key].latency), changed[key].latency, +1))
            merged.append(rows[key])
    if merged:
        model.objects.bulk_update(merged, ["latency"])
    return rows


def _count_in(quarters: dict, days: dict, hours: dict, key: dict, day_key: dict, part: dict) -> None:
    """Counts one call's contribution into its 15-minute row, its local day's row and the
    hour rows of every phase (the differences each writer adds up before `_write_rollups`)."""
    _count(quarters, key, part, +1)
    _count(days, day_key, part, +1)
    for hour in _hour_keys(key):
        _count(hours, hour, part, +1)


def _write_rollups(quarters: dict, days: dict, hours: dict) -> tuple[dict, dict]:
    """Adds the differences to the three tables; returns the 15-minute and day rows written."""
    rollups = _upsert(CallRollup, quarters)
    day_rollups = _upsert(CallDayRollup, days)
    _upsert(CallHourRollup, hours)
    return rollups, day_rollups


@transaction.atomic(savepoint=False)
def call_changed(call, *, latency: dict | None = None) -> None:
    """Brings the call's rollup rows up to date with `call` as just saved. `latency`: the
    call's per-turn latency histograms (latency_histograms), when they are known (finalize);
    None keeps what was counted before. (No savepoint: a failure here fails the caller's
    transaction, which is what every caller wants, and a savepoint is two round trips.)"""
    _hold_rebuild_lock(call.customer_id, exclusive=False)
    fact = (
        CallFact.objects.select_for_update(of=("self",))
        .select_related("rollup", "day_rollup")
        .filter(call_id=call.pk)
        .first()
    )
    part = _contribution(call, latency, fact)
    previous = _fact_part(fact) if fact else None
    key, day_key = _key(call), _day_key(call)
    quarters: dict = {}
    days: dict = {}
    hours: dict = {}
    if fact is not None:
        # What the call contributed so far leaves the rows it was counted in (the same
        # rows, unless the call moved: an outbound call's start is when it is dialed).
        old_key = _row_key(fact.rollup, key)
        _count(quarters, old_key, previous, -1)
        if fact.day_rollup is not None:
            _count(days, _row_key(fact.day_rollup, day_key), previous, -1)
        # A fact from before the hour rollups: its hours never counted it (rebuild_rollups fills them).
        if fact.in_hour_rollups:
            for hour in _hour_keys(old_key):
                _count(hours, hour, previous, -1)
    _count_in(quarters, days, hours, key, day_key, part)
    rollups, day_rollups = _write_rollups(quarters, days, hours)
    new = fact is None
    if new:
        fact = CallFact(call_id=call.pk)
    # A row the call stays in unchanged was not written: the fact keeps pointing at it.
    if _frozen(key) in rollups:
        fact.rollup = rollups[_frozen(key)]
    if _frozen(day_key) in day_rollups:
        fact.day_rollup = day_rollups[_frozen(day_key)]
    fact.in_hour_rollups = True
    for name, value in part.items():
        setattr(fact, name, value)
    fact.save(force_insert=new)


@transaction.atomic(savepoint=False)
def calls_added(calls: Iterable, *, customer=None, rebuild_locked: bool = False) -> None:
    """`call_changed` for calls just created and not counted yet (a new call, a dialer
    tick's queued calls): no fact to read, each rollup row they share is written once
    however many of them it counts, and their facts are inserted together. `customer`:
    theirs, when they share one (saves its lookup per call). `rebuild_locked`: this
    transaction already holds the rebuild lock of every tenant of `calls` (taken with
    `rebuild_lock` in a statement of the caller's)."""
    calls = list(calls)
    if not calls:
        return
    zones: dict = {}
    if customer is not None:
        zones[customer.pk] = tenant_timezone(customer)
    if not rebuild_locked:
        for customer_id in sorted({str(call.customer_id) for call in calls}):
            _hold_rebuild_lock(customer_id, exclusive=False)
    parts: dict = {}
    keys: dict = {}
    quarters: dict = {}
    days: dict = {}
    hours: dict = {}
    for call in calls:
        if call.customer_id not in zones:
            zones[call.customer_id] = tenant_timezone(call.customer)
        part = parts[call.pk] = _contribution(call, None, None)
        key = _key(call)
        day_key = _day_key(call, zones[call.customer_id])
        keys[call.pk] = (_frozen(key), _frozen(day_key))
        _count_in(quarters, days, hours, key, day_key, part)
    facts = [CallFact(call_id=call.pk, in_hour_rollups=True, **parts[call.pk]) for call in calls]
    if connection.vendor == "postgresql":
        _write_added(quarters, days, hours, facts, keys)
        return
    rollups, day_rollups = _write_rollups(quarters, days, hours)
    for fact in facts:
        fact.rollup, fact.day_rollup = rollups[keys[fact.call_id][0]], day_rollups[keys[fact.call_id][1]]
    CallFact.objects.bulk_create(facts)


def _write_added(quarters: dict, days: dict, hours: dict, facts: list, keys: dict) -> None:
    """PostgreSQL: `_write_rollups` and the facts' INSERT as one statement, one round trip
    instead of four. The three upserts are its WITH queries, each run to completion before
    the next touches a row (`_upsert_statement`'s `after`), so rows are locked in the order
    `_write_rollups` locks them; the facts take their rollup ids from the 15-minute and day
    upserts' RETURNING, matched by key. A new call has no latency to merge, so nothing
    follows the upserts. `keys`: {call id: (frozen 15-minute key, frozen day key)}."""
    with_queries: list[str] = []
    params: list = []
    key_fields: dict[str, list] = {}
    previous = None
    for name, model, deltas in (
        ("quarters", CallRollup, quarters),
        ("days", CallDayRollup, days),
        ("hours", CallHourRollup, hours),
    ):
        changed = _changed(deltas)
        assert changed and not any(delta.latency for delta in changed.values()), "a new call counts, without latency"
        sql, table_params, key_fields[name], _ = _upsert_statement(model, changed, after=previous)
        with_queries.append(f"{name} AS ({sql})")
        params += table_params
        previous = name
    own = _fact_own_fields()
    for fact in facts:
        params += [field.get_db_prep_save(field.pre_save(fact, True), connection) for field in own]
        for query, frozen in zip(FACT_ROLLUPS.values(), keys[fact.call_id], strict=True):
            params += [field.get_db_prep_save(dict(frozen)[field.attname], connection) for field in key_fields[query]]
    matched = tuple((query, field.attname) for query in FACT_ROLLUPS.values() for field in key_fields[query])
    sql = _added_sql(tuple(with_queries), previous, matched, len(facts))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = cursor.rowcount
    if inserted != len(facts):  # a fact matched no rollup row: never commit a call without its fact
        raise RuntimeError(f"{inserted} of {len(facts)} call facts written")


# A fact's foreign keys to rollup rows: the WITH query of `_write_added` giving each its id.
FACT_ROLLUPS = {"rollup": "quarters", "day_rollup": "days"}


def _fact_own_fields() -> list:
    return [field for field in CallFact._meta.concrete_fields if field.name not in FACT_ROLLUPS]


@functools.lru_cache(maxsize=64)
def _added_sql(with_queries: tuple[str, ...], last: str, matched: tuple[tuple[str, str], ...], facts: int) -> str:
    """`_write_added`'s statement, built once per process for each shape (the WITH queries'
    texts, the key columns each fact matches its rollup rows on, the number of facts).
    `last`: the WITH query that runs last; `matched`: (WITH query, key attname) pairs, in the
    order of the facts' parameters."""
    quote = connection.ops.quote_name
    meta = CallFact._meta
    models_of = {"quarters": CallRollup, "days": CallDayRollup}
    own = _fact_own_fields()
    matched_fields = [(query, models_of[query]._meta.get_field(attname)) for query, attname in matched]
    # A fact's row in the VALUES list: its own columns, then its 15-minute and day rows' keys.
    row = ", ".join(_placeholder(field, typed=True) for field in [*own, *(field for _, field in matched_fields)])
    aliases = [f"v{index}" for index in range(len(own) + len(matched_fields))]
    columns = [quote(field.column) for field in own] + [quote(meta.get_field(name).column) for name in FACT_ROLLUPS]
    selected = [f"fact.{alias}" for alias in aliases[: len(own)]]
    selected += [f"{query}.{quote(CallRollup._meta.pk.column)}" for query in FACT_ROLLUPS.values()]
    conditions: dict[str, list[str]] = {query: [] for query in FACT_ROLLUPS.values()}
    for alias, (query, field) in zip(aliases[len(own) :], matched_fields, strict=True):
        conditions[query].append(f"{query}.{quote(field.column)} = fact.{alias}")
    joins = " ".join(f"JOIN {query} ON {' AND '.join(on)}" for query, on in conditions.items())
    return (
        f"WITH {', '.join(with_queries)} INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(selected)} FROM (VALUES {', '.join([f'({row})'] * facts)}) "
        f"AS fact({', '.join(aliases)}) {joins} WHERE (SELECT count(*) FROM {last}) >= 0"
    )


# pg_advisory_xact_lock's first key: "analytics rebuild" (the second is the tenant's hash).
REBUILD_LOCK_CLASS = 1818


def _hold_rebuild_lock(customer_id, *, exclusive: bool) -> None:
    """PostgreSQL: every call write holds its tenant's rebuild lock shared until it commits,
    a bulk rebuild holds it exclusive, so the two never interleave (SQLite writes one at a
    time anyway)."""
    lock = rebuild_lock(customer_id, exclusive=exclusive)
    if lock is None:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {lock[0]}", lock[1])


def rebuild_lock(customer_id, *, exclusive: bool = False) -> tuple[str, list] | None:
    """The SQL expression, and its parameters, that takes the tenant's rebuild lock until the
    transaction ends (_hold_rebuild_lock), for a caller to take it in a statement of its own
    (a new call's capacity read: calls.leases.capacity_for); None off PostgreSQL."""
    if connection.vendor != "postgresql":
        return None
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    return f"{function}(%s, hashtext(%s))", [REBUILD_LOCK_CLASS, str(customer_id)]


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
            for row in rows.values():
                row.latency = pack(row.latency)  # summed as dicts above
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
