"""Webhook delivery in Celery: thin tasks taking ids (logic in delivery.py)."""

from celery import shared_task

from . import delivery


@shared_task(name="integrations.tasks.deliver_webhook", ignore_result=True, acks_late=True)
def deliver_webhook(delivery_id: int) -> str | None:
    """Idempotent: an attempt is made only for a due row nobody else holds."""
    return delivery.deliver(delivery_id)


@shared_task(name="integrations.tasks.webhook_sweep", ignore_result=True)
def webhook_sweep() -> int:
    return delivery.sweep()


@shared_task(
    name="integrations.tasks.send_endpoint_disabled_email",
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def send_endpoint_disabled_email(endpoint_id: int) -> int:
    from .notifications import mail_endpoint_disabled

    return mail_endpoint_disabled(endpoint_id=endpoint_id)
