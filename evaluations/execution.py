"""Executing a test run: load the version's configuration, run the pending cases in
parallel (bounded), store each verdict as it comes, then the run's.

Called by the Celery task (`evaluations.tasks.execute_test_run`) and by the
`run_agent_tests` command. Idempotent: only cases still `pending` run, and a finished run
is left alone, so a redelivered task does not run anything twice.
"""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agents.models import AgentVersion
from agents.versions import agent_as_of
from voice_worker import providers
from voice_worker.config import AgentConfig

from .models import CaseVerdict, TestCaseResult, TestRun, TestRunStatus, TestRunTrigger
from .runner import CaseSpec, Limits, run_case

logger = logging.getLogger(__name__)


def limits() -> Limits:
    return Limits(
        turn_timeout=float(settings.EVALUATIONS_TURN_TIMEOUT_SECONDS),
        judge_timeout=float(settings.EVALUATIONS_JUDGE_TIMEOUT_SECONDS),
    )


def version_config(version: AgentVersion) -> AgentConfig:
    """The configuration of `version` (not necessarily the agent's current one)."""
    agent = version.agent
    return AgentConfig.from_agent(agent_as_of(agent, version.snapshot))


def test_run_execute(*, run_id: int) -> TestRun:
    run = TestRun.objects.select_related("version__agent__customer", "agent__llm_provider").get(pk=run_id)
    if run.is_finished:
        return run
    TestRun.objects.filter(pk=run.pk).update(
        status=TestRunStatus.RUNNING, started_at=run.started_at or timezone.now(), updated_at=timezone.now()
    )
    pending = list(run.results.filter(verdict=CaseVerdict.PENDING).order_by("id"))
    try:
        config = version_config(run.version)
        providers.check(config.llm, customer_id=config.customer_id)
    except providers.ProviderNotConfigured as exc:
        _fail_all(pending, str(exc))
    except Exception as exc:  # a version that no longer loads (its provider row is gone, ...)
        logger.exception("test run %s: could not load version", run.pk)
        _fail_all(pending, f"The agent version could not be loaded: {exc}")
    else:
        async_to_sync(_run_cases)(pending, config, str(run.customer_id))
    return _finish(run.pk)


def _fail_all(results: list[TestCaseResult], message: str) -> None:
    now = timezone.now()
    for result in results:
        result.verdict, result.error_message, result.finished_at = CaseVerdict.ERROR, message, now
        result.save(update_fields=["verdict", "error_message", "finished_at"])


async def _run_cases(results: list[TestCaseResult], config: AgentConfig, customer_id: str) -> None:
    semaphore = asyncio.Semaphore(max(1, int(settings.EVALUATIONS_MAX_PARALLEL_CASES)))
    bounds = limits()

    async def make_llm():
        # Credentials are read from the database (a customer's own key first).
        return await sync_to_async(providers.build_llm)(config)

    async def one(result: TestCaseResult) -> None:
        async with semaphore:
            started = timezone.now()
            spec = CaseSpec.from_definition(result.name, result.definition)
            outcome = await run_case(spec, config=config, make_llm=make_llm, limits=bounds, customer_id=customer_id)
            await sync_to_async(_store)(result, outcome, started)

    await asyncio.gather(*(one(result) for result in results))


def _store(result: TestCaseResult, outcome, started) -> None:
    result.verdict = outcome.verdict
    result.failure = outcome.failure
    result.judgments = outcome.judgments
    result.transcript = outcome.transcript
    result.unmocked_tools = outcome.unmocked_tools
    result.error_message = outcome.error_message[:2000]
    result.started_at, result.finished_at = started, timezone.now()
    result.save()


@transaction.atomic
def _finish(run_id: int) -> TestRun:
    run = TestRun.objects.select_for_update().select_related("version").get(pk=run_id)
    verdicts = list(run.results.values_list("verdict", flat=True))
    run.passed_count = verdicts.count(CaseVerdict.PASS)
    run.failed_count = verdicts.count(CaseVerdict.FAIL)
    run.error_count = verdicts.count(CaseVerdict.ERROR)
    # A real failure says more than a case that could not be evaluated.
    if run.failed_count:
        run.status = TestRunStatus.FAILED
    elif run.error_count:
        run.status = TestRunStatus.ERROR
    else:
        run.status = TestRunStatus.PASSED
    run.finished_at = timezone.now()
    run.save()
    if run.trigger == TestRunTrigger.NEW_VERSION:
        AgentVersion.objects.filter(pk=run.version_id).update(test_verdict=run.status)
    return run
