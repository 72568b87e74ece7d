"""A real Celery worker killed with -9 in the middle of a webhook delivery: the delivery is
not lost. The broker hands the task to another worker once its claim (lease) has run out,
and the event is delivered once more with the same webhook-id; nothing is sent a third
time. (With the task message lost too, the beat sweeper re-enqueues the row: see
test_delivery.py.)"""

import os
import signal
import threading
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.tasks import deliver_webhook
from morpheus.celery import app as celery_app
from testsupport import worker
from testsupport.webhooks import Reply, WebhookReceiver

from .factories import EventFactory, WebhookEndpointFactory

VISIBILITY_TIMEOUT = 3

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs a real broker (REDIS_URL)"),
]


def start_worker(queue: str):
    return worker.start_worker(
        queue,
        SECRET_KEY=settings.SECRET_KEY,  # the same key decrypts the endpoint's secret
        CELERY_VISIBILITY_TIMEOUT_SECONDS=str(VISIBILITY_TIMEOUT),
        WEBHOOKS_ALLOW_PRIVATE_NETWORKS="true",  # the receiver is on 127.0.0.1
        WEBHOOK_TIMEOUT_SECONDS="60",  # the hung request outlives the worker
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the worker process shares the test database")
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_delivery_is_redelivered_not_lost(customer_a, eager_celery):
    first_arrived = threading.Event()

    def respond(received):
        if not first_arrived.is_set():
            first_arrived.set()
            return Reply(delay=120)  # hangs while the worker is killed
        return Reply(status=200, body=b"thanks")

    queue = f"webhook-killed-{uuid.uuid4().hex[:8]}"  # nobody else's worker takes our task
    celery_app.conf.task_always_eager = False
    workers = []
    with WebhookReceiver(respond) as receiver:
        endpoint = WebhookEndpointFactory(customer=customer_a, url=receiver.url)
        event = EventFactory(customer=customer_a, data={"id": 7})
        delivery = WebhookDelivery.objects.create(
            customer=customer_a, endpoint=endpoint, event=event, next_attempt_at=timezone.now()
        )
        try:
            workers.append(start_worker(queue))
            deliver_webhook.apply_async(args=[delivery.pk], queue=queue)
            assert first_arrived.wait(90), "the first worker never sent the webhook"

            os.killpg(workers[0].pid, signal.SIGKILL)  # main process and pool child
            workers[0].wait(timeout=30)
            delivery.refresh_from_db()
            assert delivery.status == DeliveryStatus.DELIVERING and delivery.attempts == 1

            # Time passes beyond the dead worker's lease (what a restarted worker would see).
            WebhookDelivery.objects.filter(pk=delivery.pk).update(locked_until=timezone.now())
            workers.append(start_worker(queue))
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                delivery.refresh_from_db()
                if delivery.status == DeliveryStatus.DELIVERED:
                    break
                time.sleep(0.2)
            assert delivery.status == DeliveryStatus.DELIVERED, "the task was not redelivered after the worker died"
            assert delivery.attempts == 2 and delivery.response_body == "thanks"
            time.sleep(VISIBILITY_TIMEOUT + 5)  # past another visibility timeout: nothing more is sent
            assert len(receiver.requests) == 2
            first, second = receiver.requests
            assert first.headers["webhook-id"] == second.headers["webhook-id"] == event.message_id
            Webhook(endpoint.secret).verify(second.body, second.headers)
        finally:
            for process in workers:
                worker.stop(process)
