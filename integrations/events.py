"""Emitting events: what other apps call, inside the transaction of the change.

    from integrations import events
    events.emit(customer_id=call.customer_id, event_type="call.ended", data=CallDetail(call).data,
                agent_id=call.agent_id)

The event and one delivery per subscribed, enabled endpoint are written in the caller's
transaction (rolled back with it); each delivery is handed to Celery through the durable
outbox after commit, so a broker or worker outage delays webhooks and never loses them.
A tenant with no endpoint subscribed to the event writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from morpheus import outbox
from morpheus.api.json import MorpheusJSONEncoder
from morpheus.prepared import PreparedRead

from .catalogue import get_event_type
from .models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint

DELIVER_TASK = "integrations.tasks.deliver_webhook"


def emit(*, customer_id, event_type: str, data: Any | Callable[[], Any], agent_id: int | None = None) -> Event | None:
    """Records `event_type` for the tenant; returns the Event, or None when nobody listens.

    `data` is what the API itself would show for the resource (its output serializer's
    `.data`), or a callable returning it (then built only when an endpoint listens); it
    is stored as JSON. Raises ValueError for an unregistered event type (a
    programming error: register it in the catalogue first)."""
    if get_event_type(event_type) is None:
        raise ValueError(f"Unknown event type {event_type!r}: register it in integrations.catalogue")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("events.emit must run inside the transaction of the change (@transaction.atomic)")
    listening = [
        endpoint_id
        for endpoint_id, events, agent_ids in _ENABLED_ENDPOINTS.rows(customer_id=customer_id)
        if event_type in events and _agent_matches(agent_ids, agent_id)
    ]
    if not listening:
        return None
    if callable(data):
        data = data()
    event = Event.objects.create(customer_id=customer_id, type=event_type, agent_id=agent_id, data=_jsonable(data))
    queue_deliveries(event, listening)
    return event


def _enabled_endpoints(customer_id) -> QuerySet[WebhookEndpoint]:
    enabled = WebhookEndpoint.objects.filter(customer_id=customer_id, enabled=True)
    return enabled.values_list("id", "events", "agent_ids")


# Every change that emits reads its tenant's endpoints (most tenants have none): compiled
# once per process (morpheus/prepared.py).
_ENABLED_ENDPOINTS = PreparedRead(_enabled_endpoints, customer_id=WebhookEndpoint._meta.get_field("customer"))


def queue_deliveries(event: Event, endpoint_ids: list[int]) -> list[WebhookDelivery]:
    """One pending delivery of `event` per endpoint, handed to Celery after commit."""
    now = timezone.now()
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                customer_id=event.customer_id,
                endpoint_id=endpoint_id,
                event=event,
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
            )
            for endpoint_id in endpoint_ids
        ]
    )
    for delivery in deliveries:
        outbox.enqueue(DELIVER_TASK, delivery.id)
    return deliveries


def _agent_matches(agent_ids: list | None, agent_id: int | None) -> bool:
    """An endpoint restricted to agents hears only events of those agents."""
    return agent_ids is None or (agent_id is not None and agent_id in agent_ids)


def _jsonable(data: Any) -> Any:
    """Serializer output (datetimes, Decimals, UUIDs) as plain JSON values in the API's
    own formats (datetimes as the envelope writes them: UTC, milliseconds, Z)."""
    return json.loads(json.dumps(data, cls=MorpheusJSONEncoder))
