"""/webhook-deliveries: the list with its filters, one delivery with its payload, redeliver."""

import pytest

from integrations.models import DeliveryStatus, WebhookDelivery
from morpheus.models import OutboxMessage
from tenants.tests.cross_tenant import MANAGERS, Action, ResourceMatrix
from testsupport.api import assert_error, assert_success

from .factories import EventFactory, WebhookDeliveryFactory, WebhookEndpointFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/webhook-deliveries"


def test_the_list_shows_attempts_response_and_duration(alice_client, customer_a):
    delivery = WebhookDeliveryFactory(
        endpoint__customer=customer_a, response_body="upstream down", duration_ms=120, attempts=3
    )
    data = assert_success(alice_client.get(URL), 200, "Webhook deliveries retrieved successfully")
    [row] = data["webhookDeliveries"]
    assert row["id"] == delivery.id and row["endpointId"] == delivery.endpoint_id
    assert row["eventId"] == delivery.event.message_id and row["eventType"] == "call.ended"
    assert row["sequence"] == delivery.event_id and row["status"] == "failed" and row["attempts"] == 3
    assert row["responseStatus"] == 500 and row["responseBody"] == "upstream down" and row["durationMs"] == 120
    assert row["lastError"] == "HTTP 500" and row["deliveredAt"] is None
    assert data["pagination"] == {"page": 1, "limit": 10, "total": 1, "totalPages": 1}


def test_filters(alice_client, customer_a):
    one = WebhookEndpointFactory(customer=customer_a)
    two = WebhookEndpointFactory(customer=customer_a)
    failed = WebhookDeliveryFactory(endpoint=one, status="failed")
    delivered = WebhookDeliveryFactory(endpoint=two, status="delivered", event__type="call.started")

    def ids(query):
        return [row["id"] for row in assert_success(alice_client.get(f"{URL}?{query}"), 200)["webhookDeliveries"]]

    assert ids(f"endpointId={one.id}") == [failed.id]
    assert ids("status=delivered") == [delivered.id]
    assert ids("eventType=call.ended") == [failed.id]
    assert ids(f"endpointId={two.id}&status=failed") == []
    assert_error(alice_client.get(f"{URL}?status=lost"), 400, fields=["status"])
    assert_error(alice_client.get(f"{URL}?endpointId=x"), 400, fields=["endpointId"])


def test_one_delivery_shows_the_payload_it_sends(alice_client, customer_a):
    delivery = WebhookDeliveryFactory(endpoint__customer=customer_a, event__data={"id": 9})
    data = assert_success(alice_client.get(f"{URL}/{delivery.id}"), 200, "Webhook delivery retrieved successfully")
    assert data["payload"]["id"] == delivery.event.message_id and data["payload"]["data"] == {"id": 9}
    assert data["payload"]["customerId"] == str(customer_a.id) and data["payload"]["type"] == "call.ended"


def test_redeliver_restarts_the_schedule(alice_client, customer_a):
    delivery = WebhookDeliveryFactory(endpoint__customer=customer_a, status="failed", attempts=8)
    data = assert_success(alice_client.post(f"{URL}/{delivery.id}/redeliver"), 202, "Redelivery queued")
    assert data["status"] == "pending" and data["attempts"] == 0
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at is not None
    assert OutboxMessage.objects.get().args == [delivery.id]


def test_redeliver_to_a_disabled_endpoint_is_a_409(alice_client, customer_a):
    delivery = WebhookDeliveryFactory(endpoint__customer=customer_a, endpoint__enabled=False)
    assert_error(alice_client.post(f"{URL}/{delivery.id}/redeliver"), 409, "Webhook endpoint is disabled")
    delivery.refresh_from_db()
    assert delivery.status == "failed" and not OutboxMessage.objects.exists()


class TestWebhookDeliveriesMatrix(ResourceMatrix):
    list_url = URL
    list_key = "webhookDeliveries"
    not_found_label = "Webhook delivery"
    actions = {
        "list": Action("get", on="list", message="Webhook deliveries retrieved successfully"),
        "retrieve": Action("get", message="Webhook delivery retrieved successfully"),
        "redeliver": Action("post", suffix="/redeliver", status=202),
    }
    roles = dict.fromkeys(actions, MANAGERS)

    def make_object(self, customer):
        return WebhookDeliveryFactory(endpoint__customer=customer)

    def make_row(self, customer, index):
        # Deliveries of one endpoint, each for its own event: the list joins both.
        if not hasattr(self, "_endpoint"):
            self._endpoint = WebhookEndpointFactory(customer=customer)
        return WebhookDeliveryFactory(endpoint=self._endpoint, event=EventFactory(customer=customer))


def test_deliveries_are_not_leaked_through_filters(alice_client, customer_b):
    theirs = WebhookDeliveryFactory(endpoint__customer=customer_b)
    data = assert_success(alice_client.get(f"{URL}?endpointId={theirs.endpoint_id}"), 200)
    assert data["webhookDeliveries"] == [] and WebhookDelivery.objects.count() == 1
