"""Auth mail over a real SMTP conversation (aiosmtpd), through Celery.

The eager tests run everywhere; the worker test needs REDIS_URL and proves the
tasks serialise as JSON, travel through the broker and run in a real worker.
"""

import os
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from celery.exceptions import Retry
from celery.signals import task_received

from accounts.models import User
from morpheus.celery import app as celery_app
from testsupport.api import assert_success

from .helpers import STRONG_PASSWORD, mailed_link, token_of

REQUEST_URL = "/api/v1/auth/register/request-verification"


def _assert_verification_mail(server, message, *, to):
    assert server.envelopes[-1][1] == [to]
    assert message["To"] == to
    assert message["From"] == "Morpheus <no-reply@localhost>"
    assert message["Subject"] == "Verify your email to finish signing up for Morpheus"
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]


def _assert_the_mailed_link_registers(api_client, server, message, *, to):
    """The verification mail as it arrived over SMTP, and its link completing the sign-up
    of `to`: what the eager and the worker path must both deliver."""
    _assert_verification_mail(server, message, to=to)
    payload = {"token": token_of(mailed_link(message)), "name": "Mail User", "password": STRONG_PASSWORD}
    completed = api_client.post("/api/v1/auth/register/complete", payload, format="json")
    assert assert_success(completed, 201, "Registration completed successfully")["user"]["email"] == to
    assert User.objects.filter(email=to).exists()


@pytest.mark.django_db
def test_the_verification_mail_goes_over_smtp_and_its_link_registers(api_client, smtp_server, post_and_commit):
    response = post_and_commit(REQUEST_URL, {"email": "smtp@example.com"})
    assert_success(response, 200, "Verification email sent. Please check your inbox.")

    [message] = smtp_server.messages
    _assert_the_mailed_link_registers(api_client, smtp_server, message, to="smtp@example.com")


@pytest.mark.django_db
def test_reset_mail_goes_over_smtp(alice, smtp_server, post_and_commit):
    post_and_commit("/api/v1/auth/password/forgot", {"email": "alice@example.com"})
    [message] = smtp_server.messages
    assert message["To"] == "alice@example.com"
    assert "/reset-password?token=" in mailed_link(message)


@pytest.mark.django_db
def test_an_unreachable_smtp_server_makes_the_task_retry_not_the_request_fail(
    api_client, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api_client.post(REQUEST_URL, {"email": "later@example.com"}, format="json")
    assert_success(response, 200, "Verification email sent. Please check your inbox.")
    [send] = callbacks
    with pytest.raises(Retry):  # eager mode shows the retry Celery schedules on a worker
        send()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL: a real Redis broker for Celery")
def test_a_real_worker_sends_the_verification_mail_through_the_broker(api_client, smtp_server, eager_celery):
    conf = celery_app.conf
    queue = f"identity-test-{uuid.uuid4().hex[:8]}"  # nobody else's worker can take our task
    saved = conf.task_always_eager, conf.task_routes, conf.worker_hijack_root_logger
    conf.task_always_eager = False
    conf.worker_hijack_root_logger = False
    conf.update(task_routes={"accounts.tasks.*": {"queue": queue}})
    received = []

    def on_received(sender=None, request=None, **kwargs):
        received.append((request.name, request.content_type, request.delivery_info.get("routing_key")))

    task_received.connect(on_received, weak=False)
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
            response = api_client.post(REQUEST_URL, {"email": "worker@example.com"}, format="json")
            assert_success(response, 200, "Verification email sent. Please check your inbox.")
            [message] = smtp_server.wait_for(1, timeout=60)
    finally:
        task_received.disconnect(on_received)
        conf.task_always_eager = saved[0]
        conf.worker_hijack_root_logger = saved[2]
        conf.update(task_routes=saved[1])

    # The worker took it off the broker, as JSON, from our queue.
    assert received == [("accounts.tasks.send_verification_email", "application/json", queue)]
    _assert_the_mailed_link_registers(api_client, smtp_server, message, to="worker@example.com")
