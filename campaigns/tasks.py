"""Celery tasks of the dialer: thin, the work is in campaigns/dialer.py."""

from celery import shared_task

from . import dialer


@shared_task
def dialer_tick() -> int:
    """Beat, every 5 s: places the due calls of every running campaign."""
    return dialer.dialer_tick()
