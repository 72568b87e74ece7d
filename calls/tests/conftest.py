"""Fixtures of the calls tests. `livekit_server` (morpheus/testing_livekit.py) comes from the
root conftest, for every app."""

import pytest

from morpheus.celery import app as celery_app


@pytest.fixture(autouse=True)
def eager_celery():
    """Tasks run in-process even when REDIS_URL points Celery at a real broker, so a test
    sees what the worker would have done (retries included: eager retries re-run at once)."""
    saved = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved
