"""Reads for agent testing. Tenant scoping is the caller's (the views' scoped querysets)."""

from django.db.models import Prefetch, QuerySet

from .models import TestCase, TestCaseResult, TestRun


def test_cases_of(queryset: QuerySet[TestCase], agent_id: int) -> QuerySet[TestCase]:
    return queryset.filter(agent_id=agent_id).order_by("id")


def test_runs_of(queryset: QuerySet[TestRun], agent_id: int) -> QuerySet[TestRun]:
    return queryset.filter(agent_id=agent_id).select_related("version").order_by("-created_at", "-id")


def test_run_with_results(queryset: QuerySet[TestRun]) -> QuerySet[TestRun]:
    return queryset.select_related("version").prefetch_related(
        Prefetch("results", queryset=TestCaseResult.objects.order_by("id"))
    )
