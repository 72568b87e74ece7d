import pytest

from morpheus.celery import app as celery_app

# Celery reads its configuration from Django settings the first time it is used. Read it
# now, so a test that overrides CELERY_* settings can never become the app's config for
# every later test.
celery_app.conf.broker_url  # noqa: B018


@pytest.fixture
def eager_celery():
    """Run tasks inline even when a broker is configured (the PostgreSQL + Redis run),
    so the real invitation task renders and sends its mail into Django's outbox."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous
