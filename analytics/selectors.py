"""The read side of analytics: series and breakdowns from the rollups, never from calls.

A query reads the tenant's 15-minute rollup rows of the range (one grouped query for the
series, one for the agents), then re-buckets them in the reader's time zone in Python:
a bucket edge converts to local time exactly, DST included (zoneinfo), so "day" means the
tenant's local day, 23 or 25 hours long on DST days.
"""

from __future__ import annotations

import datetime
import math
import uuid
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum

from .models import LATENCY_METRICS, ROLLUP_END_REASONS, ROLLUP_STATUSES, CallDayRollup, CallRollup
from .rollups import BUCKET, LATENCY_BIN_MS

MAX_RANGE_DAYS = 400
INTERVALS = ("hour", "day", "week")
COUNT_COLUMNS = (
    "calls",
    *(f"status_{s}" for s in ROLLUP_STATUSES),
    *(f"reason_{r}" for r in ROLLUP_END_REASONS),
    "reason_other",
    "answered_ended",
    "duration_seconds",
    "cost",
    "judged",
    "successful",
)
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


def _rows(rollups: QuerySet[CallRollup], query: AnalyticsQuery) -> QuerySet[CallRollup]:
    rows = rollups.filter(
        customer_id=query.customer_id,
        bucket__gte=query.start,
        bucket__lt=query.end,
        is_simulation=query.simulation,
    )
    if query.agent_id is not None:
        rows = rows.filter(agent_id=query.agent_id)
    if query.direction:
        rows = rows.filter(direction=query.direction)
    return rows


@dataclass(frozen=True)
class _Source:
    rows: QuerySet[Any]
    field: str  # "bucket" (a UTC instant) or "day" (a local date in the query's zone)

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
    rows = days.filter(timezone=query.tz.key, is_simulation=query.simulation)
    if query.agent_id is not None:
        rows = rows.filter(agent_id=query.agent_id)
    if query.direction:
        rows = rows.filter(direction=query.direction)
    return rows


def _source(rollups: QuerySet[CallRollup], query: AnalyticsQuery) -> _Source:
    days = _day_rows(query)
    if days is not None:
        return _Source(days, "day")
    return _Source(_rows(rollups, query), "bucket")


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
        # Hours step in UTC: a DST change makes a local hour repeat or vanish, not stretch.
        return (start.astimezone(datetime.UTC) + datetime.timedelta(hours=1)).astimezone(tz)
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
    end reason and agent. Three queries whatever the range or the number of calls."""
    from agents.models import Agent

    source = _source(rollups, query)
    rows = source.rows
    sums = {column: Sum(column) for column in COUNT_COLUMNS}
    by_bucket = rows.values(source.field).annotate(**sums).order_by(source.field)
    starts = _bucket_starts(query)
    series = {start.astimezone(datetime.UTC): _empty() for start in starts}
    totals = _empty()
    for row in by_bucket:
        key = _key(source.moment(row[source.field], query.tz), query.tz, query.interval)
        if key in series:
            _add(series[key], row)
        _add(totals, row)

    by_agent = list(rows.values("agent_id").annotate(**sums).order_by("-calls", "agent_id"))
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


def percentile(histogram: dict[str, int], p: float) -> float | None:
    """Nearest-rank percentile of a {10 ms bin: count} histogram, in ms."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = max(1, math.ceil(p / 100 * total))
    seen = 0
    for key in sorted(histogram, key=int):
        seen += histogram[key]
        if seen >= rank:
            return float(int(key) * LATENCY_BIN_MS)
    return None  # unreachable: the ranks add up to total


def _merge_into(target: dict[str, dict[str, int]], histograms: dict[str, dict[str, int]]) -> None:
    for metric, bins in histograms.items():
        current = target.setdefault(metric, {})
        for key, count in bins.items():
            current[key] = current.get(key, 0) + count


def _latency_figures(histograms: dict[str, dict[str, int]]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for metric in LATENCY_METRICS:
        bins = histograms.get(metric, {})
        figures[LATENCY_KEYS[metric]] = {
            "p50": percentile(bins, 50),
            "p95": percentile(bins, 95),
            "count": sum(bins.values()),
        }
    return figures


def latency_analytics(rollups: QuerySet[CallRollup], query: AnalyticsQuery) -> dict[str, Any]:
    """p50/p95 of each pipeline stage's per-turn latency per local bucket and overall."""
    starts = _bucket_starts(query)
    series: dict[datetime.datetime, dict[str, dict[str, int]]] = {
        start.astimezone(datetime.UTC): {} for start in starts
    }
    overall: dict[str, dict[str, int]] = {}
    source = _source(rollups, query)
    for value, histograms in source.rows.exclude(latency={}).values_list(source.field, "latency"):
        key = _key(source.moment(value, query.tz), query.tz, query.interval)
        if key in series:
            _merge_into(series[key], histograms)
        _merge_into(overall, histograms)
    return {
        "series": [
            {
                "bucket": start,
                "localStart": start.isoformat(),
                **_latency_figures(series[start.astimezone(datetime.UTC)]),
            }
            for start in starts
        ],
        "totals": _latency_figures(overall),
    }


__all__ = ["BUCKET", "INTERVALS", "MAX_RANGE_DAYS", "AnalyticsQuery", "calls_analytics", "latency_analytics"]
