"""The outbox's background publisher (morpheus/outbox.py) against the real Redis broker:
a commit hands its rows to the process's publisher thread, which publishes them; what it
cannot publish stays `pending` for the sweep; a forked child publishes with its own."""

import base64
import json
import os
import threading
import time
import uuid

import pytest
import redis
from django.conf import settings
from django.db import transaction

from morpheus import outbox
from morpheus.celery import app as celery_app
from morpheus.models import OutboxMessage, OutboxStatus
from testsupport import faults
from testsupport.forking import outcome_in_forked_child

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs a real broker (REDIS_URL)"),
]

TASK = "morpheus.tests.publisher_record"
RAN: list = []


@celery_app.task(name=TASK)
def publisher_record(token):
    RAN.append(token)


@pytest.fixture
def background(settings):
    """Production's way: a real broker (REDIS_URL), tasks not eager, the background publisher."""
    conf = celery_app.conf
    saved = conf.task_always_eager
    conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.OUTBOX_PUBLISH_IN_BACKGROUND = True
    outbox.stop_publisher()  # a publisher with this test's settings
    RAN.clear()
    yield
    outbox.stop_publisher()  # its queue published, its thread and database connection gone
    conf.task_always_eager = saved


def in_broker(task_name: str) -> list[dict]:
    """The messages of `task_name` waiting in the broker's queues, taken out of them (no
    worker runs these tests' tasks): [{"args": [...], "kwargs": {...}}]."""
    client = redis.Redis.from_url(celery_app.conf.broker_url)
    found = []
    for key in client.scan_iter(match="celery*"):
        if client.type(key) != b"list":
            continue
        for raw in client.lrange(key, 0, -1):
            message = json.loads(raw)
            if message.get("headers", {}).get("task") != task_name:
                continue
            args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
            found.append({"args": args, "kwargs": kwargs})
            client.lrem(key, 1, raw)
    return found


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def status_of(message: OutboxMessage) -> str:
    return OutboxMessage.objects.values_list("status", flat=True).get(pk=message.pk)


@pytest.fixture
def held_publisher(monkeypatch):
    """The publisher thread's `publish` waits until the test releases it."""
    started, release = threading.Event(), threading.Event()
    publish = outbox.publish

    def held(message):
        started.set()
        assert release.wait(10)
        return publish(message)

    monkeypatch.setattr(outbox, "publish", held)
    yield started, release
    release.set()


def test_the_committed_row_reaches_the_broker_from_the_publisher_thread(background):
    token = uuid.uuid4().hex
    with transaction.atomic():
        message = outbox.enqueue(TASK, token)
    outbox.publisher().queue.join()
    assert status_of(message) == OutboxStatus.SENT
    assert in_broker(TASK) == [{"args": [token], "kwargs": {}}]
    assert RAN == []  # published for a worker, not run here


def test_the_commit_does_not_wait_for_the_publish(background, held_publisher):
    started, release = held_publisher
    with transaction.atomic():
        message = outbox.enqueue(TASK, "later")
    assert started.wait(10)  # the publisher has it...
    assert status_of(message) == OutboxStatus.PENDING  # ...and the committer went on meanwhile
    release.set()
    wait_for(lambda: status_of(message) == OutboxStatus.SENT)
    assert in_broker(TASK) == [{"args": ["later"], "kwargs": {}}]


def test_the_inbound_webhook_answers_before_its_agent_dispatch_is_published(
    background, held_publisher, customer_a, livekit_server, settings, api_client
):
    from django.core.cache import cache

    from agents.tests.factories import AgentFactory
    from calls.models import Call
    from telephony.tests.factories import PhoneNumberFactory

    settings.VOICE_WEBHOOK_ALLOWED_IPS, settings.VOICE_WEBHOOK_SECRET = ["127.0.0.1/32"], ""
    cache.delete("throttle_webhook_127.0.0.1")
    PhoneNumberFactory(customer=customer_a, phone_number="+15551234567", agent=AgentFactory(customer=customer_a))
    started, release = held_publisher
    body = json.dumps({"From": "+15550009999", "To": "+15551234567"})
    response = api_client.post("/api/v1/webhooks/voice/inbound", body, content_type="application/json")
    assert response.status_code == 200 and response.json()["action"] == "connect"
    call = Call.objects.get()
    dispatch = OutboxMessage.objects.get(task_name="calls.tasks.dispatch_agent")
    assert dispatch.args == [call.id] and dispatch.status == OutboxStatus.PENDING  # answered; not published yet
    assert started.wait(10)
    release.set()
    wait_for(lambda: status_of(dispatch) == OutboxStatus.SENT)
    assert in_broker("calls.tasks.dispatch_agent") == [{"args": [call.id], "kwargs": {}}]


def test_a_broker_outage_leaves_the_row_pending_for_the_sweep(background):
    with faults.broker_down():
        with transaction.atomic():
            message = outbox.enqueue(TASK, "outage")
        outbox.publisher().queue.join()
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING
    assert message.attempts == 1 and "Error" in message.last_error

    # The broker is back: the sweep publishes rows past their grace period.
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=message.created_at.replace(year=2000))
    assert outbox.sweep() == 1
    assert status_of(message) == OutboxStatus.SENT
    assert in_broker(TASK) == [{"args": ["outage"], "kwargs": {}}]


def test_a_row_that_finds_the_queue_full_is_left_to_the_sweep(background, held_publisher, settings, caplog):
    settings.OUTBOX_PUBLISH_QUEUE_SIZE = 1
    started, release = held_publisher
    with transaction.atomic():
        first = outbox.enqueue(TASK, "first")
    assert started.wait(10)  # the thread holds `first`; the queue has room for one more
    with transaction.atomic():
        second = outbox.enqueue(TASK, "second")
    with transaction.atomic():
        third = outbox.enqueue(TASK, "third")
    assert "publish queue is full" in caplog.text
    release.set()
    outbox.publisher().queue.join()
    assert [status_of(row) for row in (first, second, third)] == [OutboxStatus.SENT, OutboxStatus.SENT, "pending"]
    assert OutboxMessage.objects.get(pk=third.pk).attempts == 0

    OutboxMessage.objects.filter(pk=third.pk).update(created_at=third.created_at.replace(year=2000))
    assert outbox.sweep() == 1
    assert sorted(message["args"][0] for message in in_broker(TASK)) == ["first", "second", "third"]


def test_a_forked_child_starts_its_own_publisher(background):
    with transaction.atomic():
        outbox.enqueue(TASK, "parent")
    parent = outbox.publisher()
    parent.queue.join()
    waiting = OutboxMessage.objects.create(task_name=TASK, args=["child"])  # committed, not published yet

    def in_the_child():  # only the publisher's own thread touches the database here
        assert outbox._publisher is None  # the parent's thread was not copied
        child = outbox.publisher()
        assert child is not parent and child.pid == os.getpid() and child.thread.is_alive()
        assert child.submit(waiting)
        child.queue.join()
        outbox.stop_publisher()

    outcome = outcome_in_forked_child(in_the_child)
    assert outcome == "ok"
    assert status_of(waiting) == OutboxStatus.SENT  # published by the child's publisher

    # The parent's publisher is still its own, and still works.
    with transaction.atomic():
        outbox.enqueue(TASK, "parent again")
    assert outbox.publisher() is parent
    parent.queue.join()
    assert sorted(message["args"][0] for message in in_broker(TASK)) == ["child", "parent", "parent again"]


def test_a_stop_whose_connection_close_fails_still_ends_the_thread(background, monkeypatch, caplog):
    publisher = outbox.publisher()

    def refuse():
        raise RuntimeError("connection close failed")

    monkeypatch.setattr(outbox.connections, "close_all", refuse)
    assert publisher.stop(timeout=5)  # the thread ended instead of dying in its own error handler
    assert not publisher.thread.is_alive()
    assert "could not close its connection on stop" in caplog.text
