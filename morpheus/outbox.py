"""The durable outbox: work that must follow a commit, never a bare `.delay()`.

    from morpheus import outbox
    outbox.enqueue("calls.tasks.finalize_call", call.id)

`enqueue` writes an `OutboxMessage` in the caller's transaction (it must be inside
one: a service with @transaction.atomic). After the commit the task is published to
the broker right away; if the broker is down the row stays `pending` and
`morpheus.tasks.outbox_sweep` (beat, every 30 s) publishes it later. A rolled-back
transaction takes the row with it, so nothing runs for a change that never happened.

Who publishes after the commit: with a real broker, the process's background publisher,
so a request answers without waiting for the broker (the inbound call webhook spent about
4 of its 32 ms, in process, publishing its agent dispatch). It is one daemon thread per process,
started on first use, with its own database connection and a bounded queue
(OUTBOX_PUBLISH_QUEUE_SIZE) of the rows requests committed; it runs `publish` for each.
The row stays `pending` until the broker has its task, so a row the publisher never gets
to (a full queue, a crash, a kill) is the sweep's, as when the broker is down; at exit
the process gives it OUTBOX_DRAIN_SECONDS to finish its queue. Fork-safe like
calls/livekit_loop.py: a forked child (gunicorn's workers, Celery's prefork pool) starts
its own publisher; the parent's thread and queue stay the parent's. When Celery runs
tasks eagerly (tests, `make run`: publishing *is* running the task) or
OUTBOX_PUBLISH_IN_BACKGROUND is off (the test suite), the request's own thread publishes,
as it always did.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import queue
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from .models import OutboxMessage, OutboxStatus

logger = logging.getLogger("morpheus.outbox")

# Rows younger than this are still being published by the process that committed them.
SWEEP_GRACE_SECONDS = 30
# A row that failed to publish this often is given up and kept as `failed` for an operator.
MAX_PUBLISH_ATTEMPTS = 1000


def enqueue(task_name: str, *args: Any, countdown: float | None = None, **kwargs: Any) -> OutboxMessage:
    """Records `task_name(*args, **kwargs)` to run after the current transaction commits."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox.enqueue must run inside a transaction (use @transaction.atomic)")
    run_after = timezone.now() + timedelta(seconds=countdown) if countdown else None
    message = OutboxMessage.objects.create(task_name=task_name, args=list(args), kwargs=kwargs, run_after=run_after)
    # The row as written: its task and arguments never change, so publishing needs no read.
    written = OutboxMessage(
        pk=message.pk, task_name=task_name, args=message.args, kwargs=kwargs, run_after=run_after, attempts=0
    )
    transaction.on_commit(lambda: _publish_committed(written))
    return message


def _publish_committed(message: OutboxMessage) -> None:
    """After the commit: the background publisher's, or inline (see the module docstring)."""
    from celery import current_app

    if current_app.conf.task_always_eager or not settings.OUTBOX_PUBLISH_IN_BACKGROUND:
        publish(message)
    elif not publisher().submit(message):
        logger.warning("Outbox %s (%s) left to the sweep: the publish queue is full", message.pk, message.task_name)


class _Publisher:
    """One process's background publisher: a daemon thread publishing the rows its queue holds."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.queue: queue.Queue[OutboxMessage | None] = queue.Queue(maxsize=settings.OUTBOX_PUBLISH_QUEUE_SIZE)
        self.thread = threading.Thread(target=self._run, name="outbox-publisher", daemon=True)
        self.thread.start()

    def submit(self, message: OutboxMessage) -> bool:
        """Queues a committed row; False when the queue is full (the row is the sweep's)."""
        try:
            self.queue.put_nowait(message)
        except queue.Full:
            return False
        return True

    def _run(self) -> None:
        while True:
            message = self.queue.get()
            if message is None:  # stop(): this thread's connection goes with it, whatever happens
                try:
                    connections.close_all()
                except Exception:
                    logger.exception("Outbox publisher could not close its connection on stop")
                finally:
                    self.queue.task_done()
                return
            try:
                # The thread's own connection, looked after as a request's is (CONN_MAX_AGE, errors).
                close_old_connections()
                publish(message)
            except Exception:  # the database is down...: the row stays pending for the sweep
                logger.exception("Outbox %s (%s) not published; the sweep will", message.pk, message.task_name)
            finally:
                close_old_connections()
                self.queue.task_done()

    def stop(self, timeout: float) -> bool:
        """Publishes what is queued, then ends the thread; False if that took over `timeout` seconds."""
        deadline = time.monotonic() + timeout
        try:
            self.queue.put(None, timeout=timeout)
        except queue.Full:
            return False
        self.thread.join(max(0.0, deadline - time.monotonic()))
        return not self.thread.is_alive()


_publisher: _Publisher | None = None
_lock = threading.Lock()


def publisher() -> _Publisher:
    """This process's publisher, started on first use (and again in a forked child)."""
    global _publisher
    current = _publisher
    if current is not None and current.pid == os.getpid() and current.thread.is_alive():
        return current
    with _lock:
        if _publisher is None or _publisher.pid != os.getpid() or not _publisher.thread.is_alive():
            _publisher = _Publisher()
        return _publisher


def _forget_after_fork() -> None:
    # The parent's thread does not exist here, and another thread may have held the lock or
    # the queue's: the parent publishes what it queued, the child starts its own publisher.
    global _publisher, _lock
    _publisher = None
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


@atexit.register
def stop_publisher() -> None:
    """At exit (a recycled or stopped worker): the rows already queued are published
    (OUTBOX_DRAIN_SECONDS at most) instead of waiting for the sweep."""
    global _publisher
    current = _publisher
    if current is None or current.pid != os.getpid() or not current.thread.is_alive():
        return
    if not current.stop(settings.OUTBOX_DRAIN_SECONDS):
        logger.warning(
            "Outbox publisher stopped with %s row(s) queued; the sweep publishes them", current.queue.qsize()
        )
    _publisher = None


def _registered_task(app, task_name: str):
    """The task object, importing its module first: autodiscovery is lazy, and a process
    that never imported `calls.tasks` would otherwise fall back to send_task (which
    ignores task_always_eager)."""
    task = app.tasks.get(task_name)
    if task is None:
        module = task_name.rpartition(".")[0]
        try:
            importlib.import_module(module)
        except ImportError:
            return None
        task = app.tasks.get(task_name)
    return task


def publish(message: OutboxMessage | int) -> bool:
    """Sends one pending row to the broker and marks it sent; False if it stays pending.

    The row is claimed and marked sent in one statement (`UPDATE … WHERE id IN (SELECT …
    FOR UPDATE SKIP LOCKED)`: a row another publisher holds is left to it) and stays locked
    until the broker has the task and the claim commits; if the broker refuses, the claim
    rolls back and the failed attempt is recorded instead. A crash in between leaves the
    row pending: published again later, at least once."""
    from celery import current_app

    if not isinstance(message, OutboxMessage):
        found = OutboxMessage.objects.filter(pk=message).first()
        if found is None:
            return False
        message = found
    failure: Exception | None = None
    with transaction.atomic():
        pending = OutboxMessage.objects.filter(pk=message.pk, status=OutboxStatus.PENDING)
        claim = pending.select_for_update(skip_locked=True).values("pk")
        claimed = OutboxMessage.objects.filter(pk__in=claim).update(
            status=OutboxStatus.SENT, attempts=F("attempts") + 1, sent_at=timezone.now(), last_error=""
        )
        if not claimed:  # already sent, or another publisher holds it
            return False
        # A down broker must fail fast: the request that committed is waiting on us.
        options: dict[str, Any] = {"retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}}
        if message.run_after and message.run_after > timezone.now():
            options["eta"] = message.run_after
        try:
            task = _registered_task(current_app, message.task_name)
            if task is not None:  # apply_async honours task_always_eager (tests, `make run`)
                task.apply_async(args=message.args, kwargs=message.kwargs, **options)
            else:
                current_app.send_task(message.task_name, args=message.args, kwargs=message.kwargs, **options)
        except Exception as exc:  # the broker is down or refused: keep the row for the sweeper
            if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
                raise
            failure = exc
            transaction.set_rollback(True)
    if failure is not None:
        error = f"{type(failure).__name__}: {failure}"[:2000]
        # Given up after MAX_PUBLISH_ATTEMPTS, and kept as `failed` for an operator.
        gives_up = Q(attempts__gte=MAX_PUBLISH_ATTEMPTS - 1)
        OutboxMessage.objects.filter(pk=message.pk, status=OutboxStatus.PENDING).update(
            attempts=F("attempts") + 1,
            last_error=error,
            status=Case(When(gives_up, then=Value(OutboxStatus.FAILED)), default=Value(OutboxStatus.PENDING)),
        )
        logger.warning("Outbox %s (%s) not published: %s", message.pk, message.task_name, failure)
        return False
    return True


def sweep(*, limit: int = 500) -> int:
    """Publishes pending rows the request that wrote them could not; returns how many."""
    cutoff = timezone.now() - timedelta(seconds=SWEEP_GRACE_SECONDS)
    messages = list(
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING, created_at__lt=cutoff).order_by("created_at")[:limit]
    )
    return sum(1 for message in messages if publish(message))


def purge_sent(*, older_than: timedelta = timedelta(days=7)) -> int:
    """Deletes rows sent long ago; the table keeps only recent history."""
    cutoff = timezone.now() - older_than
    deleted, _ = OutboxMessage.objects.filter(status=OutboxStatus.SENT, sent_at__lt=cutoff).delete()
    return deleted
