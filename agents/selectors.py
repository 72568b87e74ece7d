"""Reads for the agents app. Tenant scoping is the caller's: views pass the
base viewset's already-scoped queryset in."""

from typing import Any

from django.db.models import QuerySet

from .models import Agent, AgentVersion, LLMProvider, STTProvider, TTSProvider

PROVIDER_RELATIONS = ("llm_provider", "stt_provider", "tts_provider")


def agent_with_providers(queryset: QuerySet[Agent]) -> QuerySet[Agent]:
    """Joins the three catalogue rows, so provider names cost no query per agent."""
    return queryset.select_related(*PROVIDER_RELATIONS)


def agent_filter(queryset: QuerySet[Agent], *, status: str | None = None, search: str = "") -> QuerySet[Agent]:
    if status:
        queryset = queryset.filter(status=status)
    if search:
        queryset = queryset.filter(name__icontains=search)
    return queryset


def provider_catalogue() -> dict[str, QuerySet[Any]]:
    """The active catalogue rows a dashboard may offer, by kind, in id order."""
    return {
        "llm": LLMProvider.objects.filter(is_active=True).order_by("id"),
        "stt": STTProvider.objects.filter(is_active=True).order_by("id"),
        "tts": TTSProvider.objects.filter(is_active=True).order_by("id"),
    }


def agent_versions_latest_first(*, agent_id: int) -> QuerySet[AgentVersion]:
    """The agent's versions, the current one (agent_version_current) first."""
    return AgentVersion.objects.filter(agent_id=agent_id).order_by("-number")


def agent_version_current(*, agent_id: int | None) -> AgentVersion | None:
    """The version a call or test run started now uses: the agent's latest."""
    if agent_id is None:
        return None
    return agent_versions_latest_first(agent_id=agent_id).first()


def agent_has_open_call(agent: Agent) -> bool:
    """Whether a call is ringing or in progress with the agent."""
    from calls.models import OPEN_CALL_STATUSES  # calls depends on agents, not the reverse

    return agent.calls.filter(status__in=OPEN_CALL_STATUSES).exists()
