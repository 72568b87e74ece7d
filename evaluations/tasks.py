"""Thin Celery tasks for agent testing; each takes ids and is safe to run twice."""

import logging

from celery import shared_task

from morpheus.errors import DomainError

logger = logging.getLogger(__name__)

# A run executes its cases in parallel, each bounded by the turn and judge timeouts; a
# big suite still takes minutes, longer than the platform's default task limit.
RUN_SOFT_LIMIT_SECONDS = 1800


@shared_task(acks_late=True, soft_time_limit=RUN_SOFT_LIMIT_SECONDS, time_limit=RUN_SOFT_LIMIT_SECONDS + 60)
def execute_test_run(run_id: int) -> str:
    from .execution import test_run_execute

    return test_run_execute(run_id=run_id).status


@shared_task(acks_late=True, soft_time_limit=RUN_SOFT_LIMIT_SECONDS, time_limit=RUN_SOFT_LIMIT_SECONDS + 60)
def run_tests_for_new_version(version_id: int) -> str:
    from django.core.exceptions import ValidationError

    from .execution import test_run_execute
    from .services import test_run_for_new_version

    try:
        run = test_run_for_new_version(version_id=version_id)
    except (ValidationError, DomainError) as exc:
        logger.warning("automatic test run for version %s not started: %s", version_id, exc)
        return "error"
    if run is None:
        return "skipped"
    return test_run_execute(run_id=run.pk).status
