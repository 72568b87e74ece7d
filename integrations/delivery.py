"""Delivering one webhook: claim the row, POST it signed, record the outcome.

The HTTP request runs outside any transaction (a hanging receiver never holds a lock or
blocks the API). A claimed row is `delivering` with a lease (`locked_until`); a worker
killed mid-request leaves it there and the sweeper hands it out again when the lease
ends, so a delivery is made at least once and never lost (receivers dedupe on
`webhook-id`). Outcomes (docs/integrations.md):
- 2xx: delivered;
- 4xx other than 408/409/425/429: failed at once (the receiver refuses it for good);
- anything else (5xx, 3xx, 408/409/425/429, timeout, refused): retried with exponential
  backoff and jitter over about a day, then failed (the dead-letter state).
An endpoint whose deliveries have failed without a success for 3 days is disabled and
its customer's owners are emailed.
"""

from __future__ import annotations

import datetime
import json
import logging
import random
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from morpheus import egress, outbox
from morpheus.api.json import format_datetime

from . import signing
from .models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger("morpheus.integrations")

DELIVER_TASK = "integrations.tasks.deliver_webhook"
DISABLED_EMAIL_TASK = "integrations.tasks.send_endpoint_disabled_email"
USER_AGENT = "Morpheus-Webhooks/1.0"
# Seconds to wait after failed attempt n (1-based) before the next one: about 28 h in all,
# 8 attempts. Each wait is jittered by ±20% so a receiver coming back is not stampeded.
RETRY_SCHEDULE = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600]
JITTER = 0.2
RETRYABLE_4XX = {408, 409, 425, 429}
# What is kept of a receiver's answer.
RESPONSE_BYTES = 1024
# Beyond the request timeout, how long a claimed row is left to a worker that went quiet.
LEASE_MARGIN_SECONDS = 60
DISABLE_AFTER = datetime.timedelta(days=3)
DISABLED_REASON = "Disabled after failing continuously for 3 days"


def payload(event: Event) -> dict:
    return {
        "id": event.message_id,
        "type": event.type,
        "createdAt": format_datetime(event.created_at),
        "customerId": str(event.customer_id),
        "sequence": event.pk,
        "data": event.data,
    }


def body_of(event: Event) -> str:
    return json.dumps(payload(event), separators=(",", ":"), ensure_ascii=False)


def endpoint_secrets(endpoint: WebhookEndpoint, now: datetime.datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during its overlap."""
    previous = signing.previous_still_signing(endpoint.previous_secret, endpoint.previous_secret_expires_at, now)
    return [endpoint.secret, previous] if previous else [endpoint.secret]


def backoff_seconds(attempts: int) -> float:
    base = RETRY_SCHEDULE[min(attempts, len(RETRY_SCHEDULE)) - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)


@dataclass(frozen=True)
class _Attempt:
    delivery_id: int
    number: int
    url: str
    body: str
    headers: dict


@dataclass(frozen=True)
class _Outcome:
    status: int | None
    body: str
    duration_ms: int | None
    error: str


def deliver(delivery_id: int) -> str | None:
    """Makes one attempt at a due delivery; returns its new status, or None if there was
    nothing to do (not due, already done, another worker holds it)."""
    attempt = _claim(delivery_id)
    if attempt is None:
        return None
    try:
        response = egress.post(
            attempt.url,
            body=attempt.body.encode(),
            headers=attempt.headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            max_bytes=RESPONSE_BYTES,
            allow_http=settings.DEBUG or settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS,
            allow_private=settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS,
        )
        outcome = _Outcome(
            status=response.status,
            body=response.body.decode("utf-8", errors="replace"),
            duration_ms=response.duration_ms,
            error="",
        )
    except egress.EgressError as exc:
        outcome = _Outcome(status=None, body="", duration_ms=None, error=_error_text(exc))
    return _record(attempt, outcome)


def _error_text(error: egress.EgressError) -> str:
    return {
        egress.TIMEOUT: f"Timed out after {settings.WEBHOOK_TIMEOUT_SECONDS:g} s",
        egress.UNREACHABLE: f"Could not connect ({error.detail})",
        egress.PRIVATE_ADDRESS: "The URL resolves to a private address, which is not allowed",
        egress.HTTPS_REQUIRED: "The URL must use HTTPS",
    }.get(error.kind, "Invalid URL")


@transaction.atomic
def _claim(delivery_id: int) -> _Attempt | None:
    now = timezone.now()
    delivery = (
        WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("endpoint", "event")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
        return None
    if delivery.status == DeliveryStatus.DELIVERING and delivery.locked_until and delivery.locked_until > now:
        return None  # another worker is on it
    if delivery.next_attempt_at and delivery.next_attempt_at > now:
        return None  # an early duplicate of a scheduled retry; that retry will come
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = "The endpoint is disabled"
        delivery.locked_until = None
        delivery.save(update_fields=["status", "last_error", "locked_until"])
        return None
    delivery.status = DeliveryStatus.DELIVERING
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.locked_until = now + datetime.timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS)
    delivery.save(update_fields=["status", "attempts", "last_attempt_at", "locked_until"])
    body = body_of(delivery.event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signing.signature_headers(
            message_id=delivery.event.message_id,
            timestamp=now,
            body=body,
            secrets=endpoint_secrets(endpoint, now),
        ),
    }
    return _Attempt(delivery_id=delivery.pk, number=delivery.attempts, url=endpoint.url, body=body, headers=headers)


@transaction.atomic
def _record(attempt: _Attempt, outcome: _Outcome) -> str | None:
    now = timezone.now()
    delivery = WebhookDelivery.objects.select_for_update().filter(pk=attempt.delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.DELIVERING or delivery.attempts != attempt.number:
        return None  # our lease ran out and another attempt took over
    delivery.response_status = outcome.status
    delivery.response_body = outcome.body[:RESPONSE_BYTES]
    delivery.duration_ms = outcome.duration_ms
    delivery.last_error = outcome.error[:500]
    delivery.locked_until = None
    status = outcome.status
    if status is not None and 200 <= status < 300:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, failing_since__isnull=False).update(failing_since=None)
    else:
        permanent = status is not None and 400 <= status < 500 and status not in RETRYABLE_4XX
        if not outcome.error:
            delivery.last_error = f"HTTP {status}"
        if permanent or delivery.attempts > len(RETRY_SCHEDULE):
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            delay = backoff_seconds(delivery.attempts)
            delivery.status = DeliveryStatus.PENDING
            delivery.next_attempt_at = now + datetime.timedelta(seconds=delay)
            outbox.enqueue(DELIVER_TASK, delivery.pk, countdown=delay)
        _note_endpoint_failure(delivery.endpoint_id, now)
    delivery.save()
    return delivery.status


def _note_endpoint_failure(endpoint_id: int, now: datetime.datetime) -> None:
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        endpoint.save(update_fields=["failing_since", "updated_at"])
    elif endpoint.enabled and now - endpoint.failing_since >= DISABLE_AFTER:
        endpoint.enabled = False
        endpoint.disabled_reason = DISABLED_REASON
        endpoint.save(update_fields=["enabled", "disabled_reason", "updated_at"])
        outbox.enqueue(DISABLED_EMAIL_TASK, endpoint.pk)
        logger.warning("Webhook endpoint %s disabled after failing since %s", endpoint.pk, endpoint.failing_since)


# --- The sweeper ---------------------------------------------------------------------------

# Rows due for longer than this were not picked up (their task was lost): hand them out again.
SWEEP_GRACE_SECONDS = 60


def sweep(*, limit: int = 500) -> int:
    """Re-enqueues deliveries whose task was lost: pending and overdue, or `delivering`
    past their lease (the worker died mid-request). Returns how many."""
    now = timezone.now()
    overdue = now - datetime.timedelta(seconds=SWEEP_GRACE_SECONDS)
    stuck = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lt=overdue).values_list(
            "pk", flat=True
        )[:limit]
    ) + list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERING, locked_until__lt=now).values_list(
            "pk", flat=True
        )[:limit]
    )
    for delivery_id in stuck:
        with transaction.atomic():
            outbox.enqueue(DELIVER_TASK, delivery_id)
    return len(stuck)
