"""Writes of the integrations app: API keys, webhook endpoints, redelivery, and the
custom-function signing secret. Keyword-only, transactional, framework-free."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from morpheus import egress
from morpheus.errors import Conflict, ValidationFailed
from morpheus.services import model_update

from . import keys, signing
from .catalogue import PING, get_event_type
from .events import queue_deliveries
from .models import ApiKey, DeliveryStatus, Event, FunctionSecretRotation, WebhookDelivery, WebhookEndpoint
from .scopes import ALL_SCOPES

if TYPE_CHECKING:
    from accounts.models import User
    from tenants.models import Customer

audit = logging.getLogger("morpheus.audit")

# How long a replaced secret keeps signing next to the new one.
SECRET_OVERLAP = datetime.timedelta(hours=24)
MAX_EVENTS_PER_ENDPOINT = 50


# --- Validation shared by the services -----------------------------------------------------


def _validate_url(url: str) -> str:
    allow_private = settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS
    try:
        egress.check_url(url, allow_http=settings.DEBUG or allow_private, allow_private=allow_private)
    except egress.EgressError as exc:
        message = {
            egress.HTTPS_REQUIRED: "Must be an HTTPS URL",
            egress.PRIVATE_ADDRESS: "Private, loopback and link-local addresses are not allowed",
        }.get(exc.kind, "Enter a valid URL")
        raise ValidationFailed({"url": [message]}) from None
    if not allow_private and _resolves_to_private(urlsplit(url).hostname or ""):
        raise ValidationFailed({"url": ["Private, loopback and link-local addresses are not allowed"]})
    return url


def _resolves_to_private(host: str) -> bool:
    """A name that resolves to a non-public address now (it is checked again at every
    delivery, where it matters: DNS can change). A name that does not resolve yet is
    accepted; its deliveries fail and retry until it does."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    return any(not ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_global for info in infos)


def _validate_events(names: list[str]) -> list[str]:
    if not names:
        raise ValidationFailed({"events": ["Subscribe to at least one event"]})
    unknown = [name for name in names if not ((event := get_event_type(name)) and event.subscribable)]
    if unknown:
        raise ValidationFailed({"events": [f"Unknown event type: {', '.join(unknown)}"]})
    if len(set(names)) > MAX_EVENTS_PER_ENDPOINT:
        raise ValidationFailed({"events": [f"At most {MAX_EVENTS_PER_ENDPOINT} events"]})
    return sorted(set(names))


def _validate_agent_ids(customer: Customer, agent_ids: list[int] | None, field: str = "agentIds") -> list[int] | None:
    if agent_ids is None:
        return None
    from agents.models import Agent

    wanted = sorted(set(agent_ids))
    if not wanted:
        raise ValidationFailed({field: ["Give at least one agent, or leave it out for every agent"]})
    found = set(Agent.objects.filter(customer=customer, pk__in=wanted).values_list("pk", flat=True))
    missing = [agent_id for agent_id in wanted if agent_id not in found]
    if missing:
        raise ValidationFailed({field: [f"Agent with ID {missing[0]} does not exist"]})
    return wanted


# --- Webhook endpoints -----------------------------------------------------------------------


@transaction.atomic
def webhook_endpoint_create(
    *,
    customer: Customer,
    actor: User | None,
    url: str,
    events: list[str],
    agent_ids: list[int] | None = None,
    description: str = "",
    enabled: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """Returns the endpoint and its signing secret (shown once)."""
    secret = signing.new_secret()
    endpoint = WebhookEndpoint.objects.create(
        customer=customer,
        created_by=actor,
        url=_validate_url(url),
        events=_validate_events(events),
        agent_ids=_validate_agent_ids(customer, agent_ids),
        description=description,
        enabled=enabled,
        secret=secret,
    )
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_update(*, endpoint: WebhookEndpoint, data: dict[str, Any]) -> WebhookEndpoint:
    """`data`: any of url, events, agent_ids, description, enabled. Enabling an endpoint
    that was disabled for failing clears its failure streak."""
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    cleaned = dict(data)
    if "url" in data:
        cleaned["url"] = _validate_url(data["url"])
    if "events" in data:
        cleaned["events"] = _validate_events(data["events"])
    if "agent_ids" in data:
        cleaned["agent_ids"] = _validate_agent_ids(locked.customer, data["agent_ids"])
    if data.get("enabled") and not locked.enabled:
        cleaned.update(failing_since=None, disabled_reason="")
    fields = ("url", "events", "agent_ids", "description", "enabled", "failing_since", "disabled_reason")
    locked, _ = model_update(instance=locked, fields=fields, data=cleaned)
    return locked


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


@transaction.atomic
def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> tuple[WebhookEndpoint, str]:
    """A new secret signs from now on; the one it replaces keeps signing alongside it for
    24 hours (a second rotation within that window drops the oldest)."""
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = signing.new_secret()
    locked.previous_secret = locked.secret
    locked.previous_secret_expires_at = timezone.now() + SECRET_OVERLAP
    locked.secret = secret
    locked.save()
    return locked, secret


@transaction.atomic
def webhook_endpoint_test(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Sends a `ping` event to the endpoint, whatever it subscribes to. A disabled endpoint
    receives nothing, so testing one is refused (409)."""
    if not endpoint.enabled:
        raise Conflict("Webhook endpoint is disabled")
    event = Event.objects.create(
        customer_id=endpoint.customer_id,
        type=PING,
        data={"endpointId": endpoint.pk, "message": "Test event from Morpheus"},
    )
    [delivery] = queue_deliveries(event, [endpoint.pk])
    delivery.event = event
    return delivery


@transaction.atomic
def webhook_delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Sends the same event (same webhook-id) again, restarting its retry schedule."""
    locked = WebhookDelivery.objects.select_for_update().select_related("endpoint", "event").get(pk=delivery.pk)
    if not locked.endpoint.enabled:
        raise Conflict("Webhook endpoint is disabled")
    if locked.status == DeliveryStatus.DELIVERING and locked.locked_until and locked.locked_until > timezone.now():
        raise Conflict("Delivery is in progress")
    from morpheus import outbox

    from .delivery import DELIVER_TASK

    locked.status = DeliveryStatus.PENDING
    locked.attempts = 0
    locked.next_attempt_at = timezone.now()
    locked.locked_until = None
    locked.save(update_fields=["status", "attempts", "next_attempt_at", "locked_until"])
    outbox.enqueue(DELIVER_TASK, locked.pk)
    return locked


# --- API keys ---------------------------------------------------------------------------------


def _validate_scopes(scopes: list[str]) -> list[str]:
    if not scopes:
        raise ValidationFailed({"scopes": ["Give at least one scope"]})
    unknown = [scope for scope in scopes if scope not in ALL_SCOPES]
    if unknown:
        raise ValidationFailed({"scopes": [f"Unknown scope: {', '.join(unknown)}"]})
    return sorted(set(scopes))


@transaction.atomic
def api_key_create(
    *,
    customer: Customer,
    actor: User,
    name: str,
    scopes: list[str],
    agent_ids: list[int] | None = None,
    expires_at: datetime.datetime | None = None,
) -> tuple[ApiKey, str]:
    """Returns the key row and the full key (shown once; only its hash is stored)."""
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed({"expiresAt": ["Must be in the future"]})
    new = keys.generate()
    api_key = ApiKey.objects.create(
        customer=customer,
        created_by=actor,
        name=name,
        key_id=new.key_id,
        secret_hash=new.secret_hash,
        scopes=_validate_scopes(scopes),
        agent_ids=_validate_agent_ids(customer, agent_ids),
        expires_at=expires_at,
    )
    audit.info(
        "api key created",
        extra={"api_key": api_key.pk, "prefix": api_key.prefix, "customer": str(customer.pk), "by": str(actor.pk)},
    )
    return api_key, new.plaintext


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: User | None) -> ApiKey:
    """Revokes at once (the next request with the key is refused); revoking twice is a no-op."""
    locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.revoked_by = actor
        locked.save(update_fields=["revoked_at", "revoked_by"])
        audit.info(
            "api key revoked",
            extra={
                "api_key": locked.pk,
                "prefix": locked.prefix,
                "customer": str(locked.customer_id),
                "by": str(actor.pk) if actor else None,
            },
        )
    return locked


# --- The custom-function signing secret -----------------------------------------------------


@transaction.atomic
def function_secret_rotate(*, customer: Customer, rotated_by: User) -> tuple[str, datetime.datetime]:
    """A new custom-function signing secret; the previous one keeps signing alongside it
    (both signatures are sent) for 24 hours. Returns the new secret (shown once) and when
    the previous one stops signing."""
    from tenants.models import Customer, new_signing_secret

    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    previous = locked.signing_secret
    locked.signing_secret = new_signing_secret()
    locked.save(update_fields=["signing_secret", "updated_at"])
    expires_at = timezone.now() + SECRET_OVERLAP
    FunctionSecretRotation.objects.update_or_create(
        customer=locked,
        defaults={"previous_secret": previous, "expires_at": expires_at, "rotated_by": rotated_by},
    )
    audit.info("function secret rotated", extra={"customer": str(locked.pk), "by": str(rotated_by.pk)})
    return locked.signing_secret, expires_at
