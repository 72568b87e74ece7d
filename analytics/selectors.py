"""The read side of analytics: series and breakdowns from the rollups, never from calls.

A query reads the coarsest rollup rows that answer it exactly, grouped by their time in
SQL, then re-buckets them in the reader's time zone in Python: a row's start converts to
local time exactly, DST included (zoneinfo), so "day" means the local day, 23 or 25 hours
long on DST days. The rows, coarsest first:

- day rows (CallDayRollup): days and weeks in the organization's own zone over whole days;
- hour rows (CallHourRollup) of the zone's phase (the minutes past the UTC hour its local
  hours start at): every local bucket whose start and end fall on one phase (every bucket
  of every zone but the edges of a range given to the minute and the 30-minute hour of
  Lord Howe's DST shift), at most 24 rows a day;
- 15-minute rows (CallRollup): those remaining edges.

So 90 days read at most 2,160 hour rows per agent and direction (one per hour without a
filter) plus a few 15-minute rows, whatever the number of calls.
"""

from __future__ import annotations

import datetime
import uuid
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum

from .histograms import latency_percentiles
from .models import (
    ALL_AGENTS,
    ALL_DIRECTIONS,
    FIGURE_COLUMNS,
    LATENCY_METRICS,
    ROLLUP_END_REASONS,
    ROLLUP_STATUSES,
    CallDayRollup,
    CallHourRollup,
    CallRollup,
)
from .rollups import BUCKET

MAX_RANGE_DAYS = 400
INTERVALS = ("hour", "day", "week")
COUNT_COLUMNS = FIGURE_COLUMNS
LATENCY_KEYS = {
    "e2e": "e2eLatencyMs",
    "llm_ttft": "llmTtftMs",
    "tts_ttfb": "ttsTtfbMs",
    "end_of_turn": "endOfTurnDelayMs",
}


@dataclass(frozen=True)
class AnalyticsQuery:
    customer_id: uuid.UUID
    start: datetime.datetime  # UTC, on a bucket edge
    end: datetime.datetime  # UTC, exclusive, on a bucket edge
    tz: zoneinfo.ZoneInfo
    interval: str = "day"
    agent_id: int | None = None
    direction: str | None = None
    simulation: bool = False
    # The organization's own zone: the day rollups are kept in it.
    tenant_tz: str = "UTC"


def _filtered(rows: QuerySet[Any], query: AnalyticsQuery) -> QuerySet[Any]:
    rows = rows.filter(customer_id=query.customer_id, is_simulation=query.simulation)
    if query.agent_id is not None:
        rows = rows.filter(agent_id=query.agent_id)
    if query.direction:
        rows = rows.filter(direction=query.direction)
    return rows


def _within(field: str, ranges: list[tuple[datetime.datetime, datetime.datetime]]) -> Q:
    condition = Q()
    for start, end in ranges:
        condition |= Q(**{f"{field}__gte": start, f"{field}__lt": end})
    return condition


@dataclass(frozen=True)
class _Source:
    rows: QuerySet[Any]
    field: str  # "bucket" or "hour" (a UTC instant) or "day" (a local date in the query's zone)

    def moment(self, value: datetime.date | datetime.datetime, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
        if isinstance(value, datetime.datetime):
            return value
        return datetime.datetime.combine(value, datetime.time(0), tzinfo=tz)


def _day_rows(query: AnalyticsQuery) -> QuerySet[CallDayRollup] | None:
    """The day rollups when they answer the query exactly: days or weeks in the
    organization's own zone over whole local days, kept in that zone for the whole range."""
    if query.interval not in ("day", "week") or query.tz.key != query.tenant_tz:
        return None
    start, end = query.start.astimezone(query.tz), query.end.astimezone(query.tz)
    if start.time() != datetime.time(0) or end.time() != datetime.time(0):
        return None
    days = CallDayRollup.objects.filter(customer_id=query.customer_id, day__gte=start.date(), day__lt=end.date())
    if days.exclude(timezone=query.tz.key).exists():
        return None  # the zone changed within the range: rebuild_rollups brings it back
    return _filtered(days.filter(timezone=query.tz.key), query)


Ranges = list[tuple[datetime.datetime, datetime.datetime]]


@dataclass(frozen=True)
class _Plan:
    """Which rows answer which part of the range ([start, end) UTC ranges): the hour rows
    of each phase for `hours[phase]`, the 15-minute rows for `quarters`."""

    hours: dict[int, Ranges]
    quarters: Ranges


def _plan(query: AnalyticsQuery) -> _Plan:
    """Cuts the range at every local bucket edge; a piece whose both ends are the same
    minutes past the hour is read from the hour rows of that phase (Lord Howe's summer and
    winter hours have different ones), the others from the 15-minute rows. Neighbouring
    pieces of one kind are read as one range."""
    edges = [query.start, *(start.astimezone(datetime.UTC) for start in _bucket_starts(query)[1:]), query.end]
    hours: dict[int, Ranges] = {}
    quarters: Ranges = []
    for start, end in zip(edges, edges[1:], strict=False):
        aligned = start.minute == end.minute and start.minute % 15 == 0 and start.second == end.second == 0
        pieces = hours.setdefault(start.minute, []) if aligned else quarters
        if pieces and pieces[-1][1] == start:
            pieces[-1] = (pieces[-1][0], end)
        else:
            pieces.append((start, end))
    return _Plan(hours, quarters)


def _sources(rollups: QuerySet[CallRollup], query: AnalyticsQuery, *, per_agent: bool = False) -> list[_Source]:
    """The rows answering `query` (see the module's docstring). per_agent: rows per agent
    even without an agent or direction filter (the all-agents hour rows otherwise)."""
    days = _day_rows(query)
    if days is not None:
        return [_Source(days, "day")]
    plan = _plan(query)
    sources = []
    for phase, ranges in sorted(plan.hours.items()):
        hours = _filtered(CallHourRollup.objects.filter(phase=phase), query).filter(_within("hour", ranges))
        if per_agent or query.agent_id is not None or query.direction:
            hours = hours.exclude(agent_id=ALL_AGENTS)
        else:
            hours = hours.filter(agent_id=ALL_AGENTS, direction=ALL_DIRECTIONS)
        sources.append(_Source(hours, "hour"))
    if plan.quarters:
        sources.append(_Source(_filtered(rollups, query).filter(_within("bucket", plan.quarters)), "bucket"))
    return sources


def local_bucket_start(moment: datetime.datetime, tz: zoneinfo.ZoneInfo, interval: str) -> datetime.datetime:
    """The start, in `tz`, of the hour/day/week (Monday) holding `moment`."""
    local = moment.astimezone(tz)
    if interval == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.date()
    if interval == "week":
        day -= datetime.timedelta(days=day.weekday())
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=tz)


def _key(moment: datetime.datetime, tz: zoneinfo.ZoneInfo, interval: str) -> datetime.datetime:
    """The UTC instant of the local bucket's start: local datetimes of one zone compare by
    wall time (fold ignored), so the repeated hour of a DST fall-back needs UTC keys."""
    return local_bucket_start(moment, tz, interval).astimezone(datetime.UTC)


def _next_bucket(start: datetime.datetime, tz: zoneinfo.ZoneInfo, interval: str) -> datetime.datetime:
    if interval == "hour":
        # The next local hour start, found from UTC: a whole-hour DST change makes a local
        # hour repeat or vanish (an hour later in UTC is the next key). Lord Howe shifts by
        # 30 minutes, so an hour later in UTC may still hold the same key (its fall-back
        # hour lasts 90 minutes) or be half past a local hour: step on to the next key.
        start_utc = start.astimezone(datetime.UTC)
        moment = start_utc + datetime.timedelta(hours=1)
        while (key := _key(moment, tz, "hour")) <= start_utc:
            moment += datetime.timedelta(minutes=15)
        return key.astimezone(tz)
    days = 7 if interval == "week" else 1
    return datetime.datetime.combine(start.date() + datetime.timedelta(days=days), datetime.time(0), tzinfo=tz)


def _bucket_starts(query: AnalyticsQuery) -> list[datetime.datetime]:
    starts = []
    current = local_bucket_start(query.start, query.tz, query.interval)
    while current.astimezone(datetime.UTC) < query.end:
        starts.append(current)
        current = _next_bucket(current, query.tz, query.interval)
    return starts


def _empty() -> dict[str, Any]:
    return dict.fromkeys(COUNT_COLUMNS, 0)


def _add(target: dict[str, Any], row: dict[str, Any]) -> None:
    for column in COUNT_COLUMNS:
        target[column] += row[column] or 0


def _figures(sums: dict[str, Any]) -> dict[str, Any]:
    total = sums["calls"]
    answered = sums["answered_ended"]
    return {
        "total": total,
        "completed": sums["status_completed"],
        "failed": sums["status_failed"],
        "transferred": sums["reason_transferred"],
        "noAnswer": sums["status_no_answer"],
        "avgDurationSeconds": round(sums["duration_seconds"] / answered, 1) if answered else None,
        "totalMinutes": round(sums["duration_seconds"] / 60, 2),
        "successRate": round(sums["successful"] / sums["judged"], 4) if sums["judged"] else None,
        "cost": float(Decimal(sums["cost"]).quantize(Decimal("0.0001"))),
    }


def _status_breakdown(sums: dict[str, Any]) -> dict[str, Any]:
    return {status: sums[f"status_{status}"] for status in ROLLUP_STATUSES}


def _reason_breakdown(sums: dict[str, Any]) -> dict[str, Any]:
    reasons = {reason: sums[f"reason_{reason}"] for reason in ROLLUP_END_REASONS}
    reasons["other"] = sums["reason_other"]
    return reasons


def calls_analytics(rollups: QuerySet[CallRollup], query: AnalyticsQuery) -> dict[str, Any]:
    """Series per local bucket (empty buckets included), totals, and breakdowns by status,
    end reason and agent. A bounded number of queries (two or three per kind of row read,
    and the agent names) whatever the range or the number of calls."""
    from agents.models import Agent

    sums = {column: Sum(column) for column in COUNT_COLUMNS}
    starts = _bucket_starts(query)
    series = {start.astimezone(datetime.UTC): _empty() for start in starts}
    totals = _empty()
    for source in _sources(rollups, query):
        for row in source.rows.values(source.field).annotate(**sums).order_by(source.field):
            key = _key(source.moment(row[source.field], query.tz), query.tz, query.interval)
            if key in series:
                _add(series[key], row)
            _add(totals, row)

    agents: dict[int, dict[str, Any]] = {}
    for source in _sources(rollups, query, per_agent=True):
        for row in source.rows.values("agent_id").annotate(**sums).order_by("agent_id"):
            _add(agents.setdefault(row["agent_id"], {"agent_id": row["agent_id"], **_empty()}), row)
    by_agent = sorted(agents.values(), key=lambda row: (-row["calls"], row["agent_id"]))
    names = dict(
        Agent.objects.filter(customer_id=query.customer_id, pk__in=[r["agent_id"] for r in by_agent]).values_list(
            "pk", "name"
        )
    )
    return {
        "series": [
            {"bucket": start, "localStart": start.isoformat(), **_figures(series[start.astimezone(datetime.UTC)])}
            for start in starts
        ],
        "totals": _figures(totals),
        "byStatus": _status_breakdown(totals),
        "byEndReason": _reason_breakdown(totals),
        "byAgent": [
            {"agentId": row["agent_id"] or None, "agentName": names.get(row["agent_id"]), **_figures(row)}
            for row in by_agent
        ],
    }


def latency_analytics(rollups: QuerySet[CallRollup], query: AnalyticsQuery) -> dict[str, Any]:
    """p50/p95 of each pipeline stage's per-turn latency per local bucket and overall: the
    rows' histograms merged at once (histograms.latency_percentiles), not row by row."""
    starts = _bucket_starts(query)
    group_of = {start.astimezone(datetime.UTC): group for group, start in enumerate(starts)}
    rows = [
        (group_of.get(_key(source.moment(value, query.tz), query.tz, query.interval)), packed)
        for source in _sources(rollups, query)
        for value, packed in source.rows.exclude(latency=b"").values_list(source.field, "latency")
    ]
    series, overall = latency_percentiles(rows, len(starts))
    return {
        "series": [
            {"bucket": start, "localStart": start.isoformat(), **_latency_figures(figures)}
            for start, figures in zip(starts, series, strict=True)
        ],
        "totals": _latency_figures(overall),
    }


def _latency_figures(figures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {LATENCY_KEYS[metric]: figures[metric] for metric in LATENCY_METRICS}


__all__ = ["BUCKET", "INTERVALS", "MAX_RANGE_DAYS", "AnalyticsQuery", "calls_analytics", "latency_analytics"]
