"""Fixtures for identity tests: eager Celery, fresh throttle counters, a real SMTP server."""

import pytest
from django.core.cache import cache

from .smtp import SmtpServer


@pytest.fixture(autouse=True)
def fresh_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def post_and_commit(api_client, django_capture_on_commit_callbacks):
    """POSTs JSON signed out, then runs what waits for the commit (the outbox sends the
    mail), as a real request's commit would: `post_and_commit(url, payload)`."""

    def post(url, payload, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return api_client.post(url, payload, format="json", **extra)

    return post


@pytest.fixture
def smtp_server(settings):
    """A local aiosmtpd server; Django's SMTP backend pointed at it."""
    with SmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = server.host
        settings.EMAIL_PORT = server.port
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 10
        yield server
