"""The Celery app `morpheus`: configured from Django settings (CELERY_* names)."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "morpheus.settings")

app = Celery("morpheus")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_process_shutdown.connect
def publish_queued_outbox_rows(**kwargs):
    """A prefork pool process exits without running atexit: what its outbox publisher still
    holds is published first, as any other exiting process does (morpheus/outbox.py)."""
    from morpheus import outbox

    outbox.stop_publisher()
