"""Platform-wide periodic work: the outbox sweeper."""

from celery import shared_task

from . import outbox


@shared_task(name="morpheus.tasks.outbox_sweep", ignore_result=True)
def outbox_sweep() -> int:
    """Publishes outbox rows whose first publish failed (broker down at commit time)."""
    return outbox.sweep()


@shared_task(name="morpheus.tasks.outbox_purge", ignore_result=True)
def outbox_purge() -> int:
    return outbox.purge_sent()
