"""The durable outbox: work follows a commit, survives a broker outage, never runs for a rollback."""

import threading

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from morpheus import outbox
from morpheus.celery import app as celery_app
from morpheus.models import OutboxMessage, OutboxStatus
from testsupport import faults

pytestmark = pytest.mark.django_db(transaction=True)

RAN: list = []


@celery_app.task(name="morpheus.tests.record_run")
def record_run(value, *, tag=""):
    RAN.append((value, tag))


@pytest.fixture(autouse=True)
def clear_runs():
    RAN.clear()


def test_it_runs_the_task_after_the_commit_and_marks_the_row_sent():
    with transaction.atomic():
        message = outbox.enqueue("morpheus.tests.record_run", 7, tag="x")
        assert RAN == []  # nothing runs before the commit
    assert RAN == [(7, "x")]
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert message.attempts == 1 and message.sent_at is not None


def test_a_rolled_back_transaction_leaves_no_row_and_runs_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue("morpheus.tests.record_run", 1)
        raise RuntimeError("boom")
    assert RAN == []
    assert not OutboxMessage.objects.exists()


def test_enqueue_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside a transaction"):
        outbox.enqueue("morpheus.tests.record_run", 1)


@pytest.fixture
def broker_down():
    with faults.broker_down():
        yield


def test_a_broker_outage_keeps_the_row_pending_and_the_sweeper_delivers_it_later(broker_down):
    with transaction.atomic():
        message = outbox.enqueue("morpheus.tests.record_run", 42)
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING
    assert message.attempts == 1 and "Error" in message.last_error
    assert RAN == []

    # The broker is back (eager stands in for a worker); the sweeper publishes old rows only.
    celery_app.conf.task_always_eager = True
    assert outbox.sweep() == 0  # still inside the grace period of its own request
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=message.created_at.replace(year=2000))
    assert outbox.sweep() == 1
    assert RAN == [(42, "")]
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT and message.attempts == 2
    assert outbox.sweep() == 0  # sent rows are never published twice


def test_a_row_the_broker_refuses_max_attempts_times_is_kept_as_failed(broker_down):
    """The sweeper stops retrying a row at MAX_PUBLISH_ATTEMPTS: it stays, `failed`, with the
    broker's last error, for an operator (and the sweep no longer picks it up)."""
    old = OutboxMessage.objects.create(
        task_name="morpheus.tests.record_run", args=[9], attempts=outbox.MAX_PUBLISH_ATTEMPTS - 2
    )
    assert outbox.publish(old.pk) is False
    old.refresh_from_db()
    assert old.status == OutboxStatus.PENDING and old.attempts == outbox.MAX_PUBLISH_ATTEMPTS - 1
    assert outbox.publish(old.pk) is False
    old.refresh_from_db()
    assert old.status == OutboxStatus.FAILED and old.attempts == outbox.MAX_PUBLISH_ATTEMPTS
    assert "Error" in old.last_error
    assert outbox.publish(old.pk) is False  # a failed row is not published again
    old.refresh_from_db()
    assert old.attempts == outbox.MAX_PUBLISH_ATTEMPTS and RAN == []


def test_publishing_after_the_commit_claims_the_row_in_one_statement():
    """The request that committed waits for the publish: the row it just wrote is claimed
    and marked sent by one UPDATE, never read back first."""
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        outbox.enqueue("morpheus.tests.record_run", 3)
    statements = [query["sql"] for query in captured.captured_queries if "morpheus_outboxmessage" in query["sql"]]
    assert [sql.split()[0] for sql in statements] == ["INSERT", "UPDATE"], statements
    assert RAN == [(3, "")]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_a_row_another_publisher_holds_is_left_to_it():
    message = OutboxMessage.objects.create(task_name="morpheus.tests.record_run", args=[5])
    held, release = threading.Event(), threading.Event()

    def other_publisher():
        with transaction.atomic():
            OutboxMessage.objects.select_for_update().get(pk=message.pk)
            held.set()
            release.wait(10)
        connections.close_all()

    thread = threading.Thread(target=other_publisher)
    thread.start()
    held.wait(10)
    try:
        assert outbox.publish(message.pk) is False  # skipped, not waited for
        assert RAN == []
    finally:
        release.set()
        thread.join()
    assert outbox.publish(message.pk) is True
    assert RAN == [(5, "")]
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT and message.attempts == 1
