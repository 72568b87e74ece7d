"""Delivering webhooks to a real local HTTP receiver: signatures checked with the
`standardwebhooks` verifier, outcomes, retries with backoff, the dead-letter state, and
the faults (broker down at event time, worker killed mid-delivery, receiver down then up)."""

import datetime
import json

import pytest
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from integrations import delivery, events, signing
from integrations.models import DeliveryStatus, WebhookDelivery
from morpheus import outbox
from morpheus.celery import app as celery_app
from morpheus.models import OutboxMessage, OutboxStatus
from testsupport.webhooks import Reply

from .factories import WebhookEndpointFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("local_webhooks")]


def emit(customer, event_type="call.ended", data=None, agent_id=None):
    with transaction.atomic():
        return events.emit(customer_id=customer.id, event_type=event_type, data=data or {"id": 1}, agent_id=agent_id)


def make_due(delivery_row):
    WebhookDelivery.objects.filter(pk=delivery_row.pk).update(
        next_attempt_at=timezone.now() - datetime.timedelta(hours=1)
    )


def test_it_delivers_a_signed_event_a_standard_webhooks_verifier_accepts(customer_a, receiver):
    endpoint = WebhookEndpointFactory(customer=customer_a, url=receiver.url)
    event = emit(customer_a, data={"id": 42, "status": "completed"})

    [request] = receiver.wait_for(1)
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload == {
        "id": event.message_id,
        "type": "call.ended",
        "createdAt": payload["createdAt"],
        "customerId": str(customer_a.id),
        "sequence": event.id,
        "data": {"id": 42, "status": "completed"},
    }
    assert payload["createdAt"].endswith("Z")
    assert request.headers["webhook-id"] == event.message_id and event.message_id.startswith("evt_")
    assert request.headers["content-type"] == "application/json"
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(signing.new_secret()).verify(request.body, request.headers)

    row = WebhookDelivery.objects.get()
    assert row.status == DeliveryStatus.DELIVERED and row.attempts == 1
    assert row.response_status == 200 and row.response_body == "ok" and row.duration_ms is not None
    assert row.delivered_at is not None and row.next_attempt_at is None


def test_sequences_grow_with_each_event(customer_a, receiver):
    WebhookEndpointFactory(customer=customer_a, url=receiver.url)
    first, second = emit(customer_a), emit(customer_a)
    bodies = [json.loads(r.body) for r in receiver.wait_for(2)]
    assert sorted(b["sequence"] for b in bodies) == [first.id, second.id] and first.id < second.id


def test_during_a_rotation_both_secrets_sign(customer_a, receiver):
    old = signing.new_secret()
    new = signing.new_secret()
    WebhookEndpointFactory(
        customer=customer_a,
        url=receiver.url,
        secret=new,
        previous_secret=old,
        previous_secret_expires_at=timezone.now() + datetime.timedelta(hours=24),
    )
    emit(customer_a)
    [request] = receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(request.body, request.headers)
    Webhook(old).verify(request.body, request.headers)


def test_an_expired_previous_secret_no_longer_signs(customer_a, receiver):
    old = signing.new_secret()
    WebhookEndpointFactory(
        customer=customer_a,
        url=receiver.url,
        previous_secret=old,
        previous_secret_expires_at=timezone.now() - datetime.timedelta(seconds=1),
    )
    emit(customer_a)
    [request] = receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(old).verify(request.body, request.headers)


@pytest.mark.parametrize("status", [500, 503, 302, 408, 429])
def test_server_errors_redirects_and_retryable_4xx_are_retried_with_backoff(customer_a, receiver, status):
    receiver.respond = lambda r: Reply(status=status, body=b"nope", headers={"Location": "https://elsewhere.example"})
    WebhookEndpointFactory(customer=customer_a, url=receiver.url)
    before = timezone.now()
    emit(customer_a)
    receiver.wait_for(1)
    row = WebhookDelivery.objects.get()
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1
    assert row.response_status == status and row.last_error == f"HTTP {status}"
    # The first retry is 5 s later, jittered by 20%.
    assert (
        before + datetime.timedelta(seconds=3.9)
        <= row.next_attempt_at
        <= timezone.now() + datetime.timedelta(seconds=6.1)
    )
    assert len(receiver.requests) == 1  # the redirect was not followed, nothing was sent twice


@pytest.mark.parametrize("status", [400, 401, 404, 410])
def test_other_4xx_fail_at_once(customer_a, receiver, status):
    receiver.respond = lambda r: Reply(status=status, body=b"gone")
    WebhookEndpointFactory(customer=customer_a, url=receiver.url)
    emit(customer_a)
    receiver.wait_for(1)
    row = WebhookDelivery.objects.get()
    assert row.status == DeliveryStatus.FAILED and row.attempts == 1 and row.next_attempt_at is None
    assert row.response_status == status and row.response_body == "gone"


def test_a_hanging_receiver_times_out_and_is_retried_without_blocking_the_change(customer_a, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver.respond = lambda r: Reply(delay=5)
    WebhookEndpointFactory(customer=customer_a, url=receiver.url)
    emit(customer_a)
    row = WebhookDelivery.objects.get()
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1
    assert row.response_status is None and row.last_error == "Timed out after 0.5 s"


def test_the_last_attempt_fails_for_good(customer_a, receiver):
    receiver.respond = lambda r: Reply(status=500)
    WebhookEndpointFactory(customer=customer_a, url=receiver.url)
    emit(customer_a)
    row = WebhookDelivery.objects.get()
    for _ in delivery.RETRY_SCHEDULE:
        make_due(row)
        delivery.deliver(row.pk)
    row.refresh_from_db()
    assert row.attempts == len(delivery.RETRY_SCHEDULE) + 1 == 8
    assert row.status == DeliveryStatus.FAILED and row.next_attempt_at is None
    assert delivery.deliver(row.pk) is None  # the dead letter stays dead


def test_backoff_grows_exponentially_to_about_a_day():
    waits = [delivery.RETRY_SCHEDULE[n] for n in range(len(delivery.RETRY_SCHEDULE))]
    assert waits == sorted(waits) and 20 * 3600 <= sum(waits) <= 30 * 3600
    assert all(0.8 * w <= delivery.backoff_seconds(n + 1) <= 1.2 * w for n, w in enumerate(waits))


def test_a_private_target_is_refused_at_delivery_time(customer_a, receiver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    settings.DEBUG = True  # plain HTTP is fine in development; the address is not
    WebhookEndpointFactory(customer=customer_a, url=f"http://localtest.me:{receiver.port}/hooks")
    emit(customer_a)
    row = WebhookDelivery.objects.get()
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1
    assert row.last_error in (
        "The URL resolves to a private address, which is not allowed",
        "Could not connect (ClientConnectorDNSError)",  # no DNS on this machine: still nothing sent
    )
    assert receiver.requests == []


def test_receiver_down_then_up_is_delivered_after_backoff(customer_a, receiver):
    receiver.stop()
    endpoint = WebhookEndpointFactory(customer=customer_a, url=receiver.url)
    emit(customer_a)
    row = WebhookDelivery.objects.get()
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1
    assert row.last_error.startswith("Could not connect")
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None

    receiver.start()
    assert delivery.sweep() == 0  # the retry is not due yet: nothing is sent early
    assert delivery.deliver(row.pk) is None
    make_due(row)  # time passes
    assert delivery.sweep() == 1  # the beat sweeper (or the outbox countdown) hands it out
    [request] = receiver.wait_for(1)
    Webhook(endpoint.secret).verify(request.body, request.headers)
    row.refresh_from_db()
    assert row.status == DeliveryStatus.DELIVERED and row.attempts == 2
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None  # a success ends the failing streak


@pytest.fixture
def broker_down():
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.broker_url
    conf.task_always_eager = False
    conf.broker_url = "redis://127.0.0.1:1/0"
    celery_app._pool = celery_app.amqp._producer_pool = None
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        yield
    conf.task_always_eager, conf.broker_url = saved
    celery_app._pool = celery_app.amqp._producer_pool = None


def test_broker_down_at_event_time_the_outbox_delivers_later(customer_a, receiver, broker_down):
    endpoint = WebhookEndpointFactory(customer=customer_a, url=receiver.url)
    event = emit(customer_a)  # the change commits although the broker is down
    message = OutboxMessage.objects.get()
    assert message.status == OutboxStatus.PENDING and message.last_error
    assert receiver.requests == []

    celery_app.conf.task_always_eager = True  # the broker is back (eager stands in for a worker)
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=5))
    assert outbox.sweep() == 1
    [request] = receiver.wait_for(1)
    assert Webhook(endpoint.secret).verify(request.body, request.headers)["id"] == event.message_id
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED


def test_a_worker_killed_mid_delivery_is_retried_not_lost(customer_a, receiver):
    """A worker that dies between claiming and recording leaves the row `delivering`; the
    lease runs out and the sweeper hands it out again: delivered, never lost."""
    WebhookEndpointFactory(customer=customer_a, url=receiver.url)
    celery_app.conf.task_always_eager = False  # keep the emit from delivering inline
    try:
        with override_settings(CELERY_TASK_ALWAYS_EAGER=False), transaction.atomic():
            event = events.emit(customer_id=customer_a.id, event_type="call.ended", data={"id": 1})
            OutboxMessage.objects.all().delete()  # the task message died with the worker
    finally:
        celery_app.conf.task_always_eager = True
    row = WebhookDelivery.objects.get()
    assert delivery._claim(row.pk) is not None  # claimed ... and the worker is killed here
    row.refresh_from_db()
    assert row.status == DeliveryStatus.DELIVERING and row.attempts == 1
    assert delivery.sweep() == 0  # the lease still holds
    assert delivery.deliver(row.pk) is None  # nobody else takes a leased row
    WebhookDelivery.objects.filter(pk=row.pk).update(locked_until=timezone.now() - datetime.timedelta(seconds=1))
    assert delivery.sweep() == 1
    [request] = receiver.wait_for(1)
    assert json.loads(request.body)["id"] == event.message_id
    row.refresh_from_db()
    assert row.status == DeliveryStatus.DELIVERED and row.attempts == 2
    assert delivery.sweep() == 0


def test_an_endpoint_failing_for_3_days_is_disabled_and_the_owner_emailed(customer_a, alice, receiver):
    receiver.respond = lambda r: Reply(status=500)
    endpoint = WebhookEndpointFactory(
        customer=customer_a, url=receiver.url, failing_since=timezone.now() - datetime.timedelta(days=3, minutes=1)
    )
    emit(customer_a)
    endpoint.refresh_from_db()
    assert endpoint.enabled is False and endpoint.disabled_reason == delivery.DISABLED_REASON
    [message] = mail.outbox
    assert message.to == [alice.email] and endpoint.url in message.subject
    # Its pending retry stops there, and new events are not queued for it.
    row = WebhookDelivery.objects.get()
    make_due(row)
    assert delivery.deliver(row.pk) is None
    row.refresh_from_db()
    assert row.status == DeliveryStatus.FAILED and row.last_error == "The endpoint is disabled"
    assert emit(customer_a) is None
