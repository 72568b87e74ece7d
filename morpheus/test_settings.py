"""Settings for the test suite: the real settings, with test-only speed-ups.

DATABASE_URL / REDIS_URL still come from the environment, so the same suite runs on
SQLite with nothing installed and on PostgreSQL + Redis in CI.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")

from morpheus.settings import *  # noqa: E402,F403

# bcrypt is the production hasher; tests hash hundreds of passwords, so use a fast one.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Each test run gets its own cache namespace so parallel runs on one Redis never share counters.
CACHES["default"]["KEY_PREFIX"] = f"morpheus-test-{os.getpid()}"  # noqa: F405
# Tasks run inline in tests even when REDIS_URL is set; the tests that prove a real
# worker consumes the broker switch this off for themselves.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# The outbox publishes after commit on the committing thread, as tasks run inline, even in the
# tests that turn eager Celery off (a broker outage, a real worker); the background
# publisher's tests (morpheus/tests/test_outbox_publisher.py) turn it on for themselves.
OUTBOX_PUBLISH_IN_BACKGROUND = False
