"""A Celery worker killed with -9 mid-task: the task goes back to the broker after the
visibility timeout and another worker does it, once (issue 13, finding 6).

A real worker process (prefork, as in production) sends a password-reset email to a real
SMTP server that stalls on the first delivery; the test kills the worker's whole process
group while the mail is in flight, starts a second worker, and sees exactly one email."""

import asyncio
import email
import os
import signal
import threading
import time
import uuid
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings

from accounts.tasks import send_password_reset_email
from accounts.tests.smtp import _free_port as free_port
from morpheus.celery import app as celery_app
from testsupport import worker

VISIBILITY_TIMEOUT = 3

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs a real broker (REDIS_URL)"),
]


class StallFirstDelivery:
    """Accepts mail, except that the first delivery hangs (the worker is killed meanwhile)."""

    def __init__(self):
        self.first_started = threading.Event()
        self.delivered = []

    async def handle_DATA(self, server, session, envelope):
        if not self.first_started.is_set():
            self.first_started.set()
            await asyncio.sleep(120)
            return "451 Too late"
        self.delivered.append(email.message_from_bytes(envelope.original_content, policy=default_policy))
        return "250 Message accepted for delivery"


def start_worker(queue: str, smtp_port: int):
    return worker.start_worker(
        queue,
        SECRET_KEY="worker-killed-test-secret-key-0123456789-abcdefghijklmnop",
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        CELERY_VISIBILITY_TIMEOUT_SECONDS=str(VISIBILITY_TIMEOUT),
    )


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_task_hands_it_to_another_worker_which_does_it_once(alice, eager_celery):
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= 900  # well below an hour
    handler = StallFirstDelivery()
    smtp_port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    queue = f"worker-killed-{uuid.uuid4().hex[:8]}"  # nobody else's worker can take our task
    conf = celery_app.conf
    conf.task_always_eager = False
    workers = []
    try:
        workers.append(start_worker(queue, smtp_port))
        send_password_reset_email.apply_async(args=[str(alice.pk)], queue=queue)
        assert handler.first_started.wait(90), "the first worker never started the task"

        os.killpg(workers[0].pid, signal.SIGKILL)  # the whole worker: main process and pool child
        workers[0].wait(timeout=30)
        assert handler.delivered == []

        workers.append(start_worker(queue, smtp_port))
        deadline = time.monotonic() + 90
        while not handler.delivered and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(handler.delivered) == 1, "the task was not redelivered after the worker died"
        # Past another visibility timeout and restore sweep: still once.
        time.sleep(VISIBILITY_TIMEOUT + 12)
        assert len(handler.delivered) == 1
        [message] = handler.delivered
        assert message["To"] == alice.email and "reset" in message["Subject"].lower()
    finally:
        for process in workers:
            worker.stop(process)
        controller.stop()
