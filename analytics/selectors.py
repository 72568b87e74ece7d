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

from .models import LATENCY_METRICS, ROLLUP_END_REASONS, ROLLUP_STATUSES, CallRollup
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

    rows = _rows(rollups, query)
    sums = {column: Sum(column) for column in COUNT_COLUMNS}
    by_bucket = rows.values("bucket").annotate(**sums).order_by("bucket")
    starts = _bucket_starts(query)
    series = {start.astimezone(datetime.UTC): _empty() for start in starts}
    totals = _empty()
    for row in by_bucket:
        key = _key(row["bucket"], query.tz, query.interval)
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


def percentile(histogram: dict[str, Any], p: float) -> float | None:
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


def _merge_into(target: dict[str, Any], histograms: dict[str, Any]) -> None:
    for metric, bins in histograms.items():
        current = target.setdefault(metric, {})
        for key, count in bins.items():
            current[key] = current.get(key, 0) + count


def _latency_figures(histograms: dict[str, Any]) -> dict[str, Any]:
    figures = {}
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
    series: dict[datetime.datetime, Any] = {start.astimezone(datetime.UTC): {} for start in starts}
    overall: dict[str, Any] = {}
    for bucket, histograms in _rows(rollups, query).exclude(latency={}).values_list("bucket", "latency"):
        key = _key(bucket, query.tz, query.interval)
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
