"""Reads of calls: the tenant's history with its filters, a call with its transcript."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from statistics import fmean
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce

from .models import Call, CallCounter, TranscriptTurn

if TYPE_CHECKING:
    import datetime
    import uuid

    from agents.models import Agent

Rows = TypeVar("Rows", Call, CallCounter)

LATENCY_FIELDS = {
    "endOfTurnDelayMs": "end_of_turn_delay_ms",
    "llmTtftMs": "llm_ttft_ms",
    "ttsTtfbMs": "tts_ttfb_ms",
    "e2eLatencyMs": "e2e_latency_ms",
}
USAGE_FIELDS = {
    "promptTokens": "prompt_tokens",
    "completionTokens": "completion_tokens",
    "ttsCharacters": "tts_characters",
    "audioSeconds": "audio_seconds",
}


def calls_filtered(
    queryset: QuerySet[Call],
    *,
    statuses: list[str] | None = None,
    agent_id: int | None = None,
    phone_number_id: int | None = None,
    direction: str | None = None,
    started_after: datetime.datetime | None = None,
    started_before: datetime.datetime | None = None,
    simulation: bool | None = None,
) -> QuerySet[Call]:
    """The history, newest first; every filter optional. The tenant filter is the caller's."""
    queryset = _counted_filters(queryset, statuses, agent_id, direction, simulation)
    if phone_number_id is not None:
        queryset = queryset.filter(phone_number_id=phone_number_id)
    if started_after is not None:
        queryset = queryset.filter(started_at__gte=started_after)
    if started_before is not None:
        queryset = queryset.filter(started_at__lt=started_before)
    return queryset.order_by("-started_at", "-id")


def calls_counted(
    counters: QuerySet[CallCounter],
    *,
    statuses: list[str] | None = None,
    agent_id: int | None = None,
    direction: str | None = None,
    simulation: bool | None = None,
) -> int:
    """The number of calls the (tenant-scoped) `counters` hold for these filters: a sum over
    at most agents x statuses x directions x 2 rows, whatever the number of calls."""
    counters = _counted_filters(counters, statuses, agent_id, direction, simulation)
    return int(counters.aggregate(total=Coalesce(Sum("count"), 0))["total"])


def _counted_filters(
    queryset: QuerySet[Rows],
    statuses: list[str] | None,
    agent_id: int | None,
    direction: str | None,
    simulation: bool | None,
) -> QuerySet[Rows]:
    """The filters the counters can answer, on calls or on their counters (the same
    columns): the history and its counted total apply them alike, so the total is the
    number of rows the filters list."""
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    if agent_id is not None:
        queryset = queryset.filter(agent_id=agent_id)
    if direction:
        queryset = queryset.filter(direction=direction)
    if simulation is not None:
        queryset = queryset.filter(is_simulation=simulation)
    return queryset


def call_with_version(queryset: QuerySet[Call]) -> QuerySet[Call]:
    """The call with the agent version it ran, in one query (its turns: call_transcript_rows)."""
    return queryset.select_related("agent_version")


def call_transcript_rows(call_id: int, fields: Sequence[str]) -> QuerySet[Any]:
    """The call's turns in order as named rows of `fields` (attribute access like the
    model, without building model instances): one query, sliceable for a page."""
    return TranscriptTurn.objects.filter(call_id=call_id).order_by("id").values_list(*fields, named=True)


def _mean(values: list[float]) -> float | None:
    return round(fmean(values), 1) if values else None


def turns_summary(turns: Iterable[TranscriptTurn]) -> dict[str, Any]:
    """Turn counts, mean latency per pipeline stage and usage totals of a transcript."""
    turns = list(turns)
    latency = {
        key: _mean([getattr(t, name) for t in turns if getattr(t, name) is not None])
        for key, name in LATENCY_FIELDS.items()
    }
    usage = {}
    for key, name in USAGE_FIELDS.items():
        values = [getattr(t, name) for t in turns if getattr(t, name) is not None]
        usage[key] = (round(sum(values), 2) if name == "audio_seconds" else sum(values)) if values else 0
    roles = [t.role for t in turns]
    return {
        "turns": len(turns),
        "userTurns": roles.count("user"),
        "assistantTurns": roles.count("assistant"),
        "toolTurns": roles.count("tool"),
        "averageLatency": latency,
        "usage": usage,
    }


def agent_for_simulation(*, customer_id: uuid.UUID, agent_id: int | None) -> Agent | None:
    """The agent a simulation tests: the given one (any status, so drafts can be tried before
    going live) or the tenant's most recently updated active agent. None when there is none."""
    from agents.models import Agent, AgentStatus

    agents = Agent.objects.filter(customer_id=customer_id)
    if agent_id is not None:
        return agents.filter(pk=agent_id).first()
    return agents.filter(status=AgentStatus.ACTIVE).order_by("-updated_at", "-id").first()


def call_capacity(*, customer_id: uuid.UUID | str) -> dict[str, Any]:
    """The customer's effective limits (its own or the platform defaults: calls/leases.py),
    which of them are defaults, and the calls holding a slot now (None: Redis down)."""
    from . import leases
    from .models import CallCapacity

    capacity = leases.capacity_for(customer_id)
    row = CallCapacity.objects.filter(customer_id=customer_id).first()
    try:
        held = leases.held(customer_id)
        in_progress: dict[str, int] | None = {direction: len(names) for direction, names in held.items()}
    except leases.LeaseStoreUnavailable:
        in_progress = None
    return {
        "concurrency_limit": capacity.limit,
        "reserved_inbound_concurrency": capacity.reserved_inbound,
        "is_default": {
            "concurrencyLimit": row is None or row.concurrency_limit is None,
            "reservedInboundConcurrency": row is None or row.reserved_inbound_concurrency is None,
        },
        "in_progress": in_progress,
    }
