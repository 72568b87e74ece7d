"""Reads of the integrations app."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import ApiKey, WebhookDelivery, WebhookEndpoint


def api_keys() -> QuerySet[ApiKey]:
    return ApiKey.objects.select_related("created_by")


def webhook_endpoints() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.all()


def webhook_deliveries() -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.select_related("event")


def webhook_delivery_filter(
    queryset: QuerySet[WebhookDelivery],
    *,
    endpointId: int | None = None,  # noqa: N803 (the query parameter's name)
    status: str | None = None,
    eventType: str | None = None,  # noqa: N803
) -> QuerySet[WebhookDelivery]:
    if endpointId is not None:
        queryset = queryset.filter(endpoint_id=endpointId)
    if status:
        queryset = queryset.filter(status=status)
    if eventType:
        queryset = queryset.filter(event__type=eventType)
    return queryset
