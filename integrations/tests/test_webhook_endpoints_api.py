"""/webhook-endpoints: create (the secret once), read, update, delete, rotate, test ping."""

import datetime

import pytest
from django.utils import timezone

from agents.tests.factories import AgentFactory
from integrations.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint
from tenants.tests.cross_tenant import MANAGERS, Action, ResourceMatrix
from testsupport.api import assert_error, assert_success

from .factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/webhook-endpoints"


def test_an_owner_creates_an_endpoint_and_sees_its_secret_once(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a)
    response = alice_client.post(
        URL,
        {"url": "https://hooks.example.com/m", "events": ["call.ended", "call.started"], "agentIds": [agent.id]},
        format="json",
    )
    data = assert_success(response, 201, "Webhook endpoint created successfully")
    endpoint = WebhookEndpoint.objects.get()
    assert data["id"] == endpoint.id and data["url"] == "https://hooks.example.com/m"
    assert data["events"] == ["call.ended", "call.started"] and data["agentIds"] == [agent.id]
    assert data["enabled"] is True and data["description"] == "" and data["disabledReason"] == ""
    assert data["secret"].startswith("whsec_") and data["secret"] == endpoint.secret
    # Stored encrypted, never shown again.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("select secret from integrations_webhookendpoint where id = %s", [endpoint.id])
        assert data["secret"] not in cursor.fetchone()[0]
    detail = assert_success(alice_client.get(f"{URL}/{endpoint.id}"), 200, "Webhook endpoint retrieved successfully")
    assert "secret" not in detail and detail["url"] == data["url"]


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"url": "http://hooks.example.com/m", "events": ["call.ended"]}, "url", "Must be an HTTPS URL"),
        ({"url": "not a url", "events": ["call.ended"]}, "url", "Enter a valid URL"),
        (
            {"url": "https://127.0.0.1/m", "events": ["call.ended"]},
            "url",
            "Private, loopback and link-local addresses are not allowed",
        ),
        (
            {"url": "https://169.254.169.254/latest", "events": ["call.ended"]},
            "url",
            "Private, loopback and link-local addresses are not allowed",
        ),
        (
            {"url": "https://localhost/m", "events": ["call.ended"]},
            "url",
            "Private, loopback and link-local addresses are not allowed",
        ),
        (
            {"url": "https://hooks.example.com", "events": ["call.exploded"]},
            "events",
            "Unknown event type: call.exploded",
        ),
        ({"url": "https://hooks.example.com", "events": ["ping"]}, "events", "Unknown event type: ping"),
        ({"url": "https://hooks.example.com", "events": []}, "events", "Subscribe to at least one event"),
        ({"url": "https://hooks.example.com", "events": ["call.ended"], "agentIds": [999999]}, "agentIds", None),
        ({"events": ["call.ended"]}, "url", None),
    ],
)
def test_bad_input_is_a_400_and_creates_nothing(alice_client, body, field, message):
    body = assert_error(alice_client.post(URL, body, format="json"), 400, fields=[field])
    if message:
        assert body["errors"][0]["message"] == message
    assert not WebhookEndpoint.objects.exists()


def test_another_tenants_agent_is_refused(alice_client, customer_b):
    theirs = AgentFactory(customer=customer_b)
    body = {"url": "https://hooks.example.com", "events": ["call.ended"], "agentIds": [theirs.id]}
    response = alice_client.post(URL, body, format="json")
    assert assert_error(response, 400, fields=["agentIds"])["errors"][0]["message"] == (
        f"Agent with ID {theirs.id} does not exist"
    )


def test_plain_http_is_allowed_in_debug(alice_client, settings):
    settings.DEBUG = True
    response = alice_client.post(URL, {"url": "http://hooks.example.com/m", "events": ["call.ended"]}, format="json")
    assert assert_success(response, 201)["url"] == "http://hooks.example.com/m"


class TestWebhookEndpointsMatrix(ResourceMatrix):
    list_url = URL
    list_key = "webhookEndpoints"
    not_found_label = "Webhook endpoint"
    actions = {
        "list": Action("get", on="list", message="Webhook endpoints retrieved successfully"),
        "create": Action(
            "post",
            on="list",
            payload={"url": "https://hooks.example.com/new", "events": ["call.ended"]},
            status=201,
            message="Webhook endpoint created successfully",
        ),
        "retrieve": Action("get", message="Webhook endpoint retrieved successfully"),
        "update": Action("patch", payload={"description": "renamed"}, message="Webhook endpoint updated successfully"),
        "delete": Action("delete", message="Webhook endpoint deleted successfully"),
        "rotate": Action("post", suffix="/rotate-secret", message="Webhook secret rotated successfully"),
        "test": Action("post", suffix="/test", status=202),
    }
    # Members neither see nor manage endpoints (they carry signing secrets).
    roles = dict.fromkeys(actions, MANAGERS)

    def make_object(self, customer):
        return WebhookEndpointFactory(customer=customer)

    def check_data(self, name, data, obj, customer):
        super().check_data(name, data, obj, customer)
        if name == "test":
            assert (data["endpointId"], data["eventType"]) == (obj.pk, "ping")
        if name == "rotate":
            assert data["id"] == obj.pk and data["secret"] != obj.secret


def test_update_and_reenable_after_it_was_disabled(alice_client, customer_a):
    endpoint = WebhookEndpointFactory(
        customer=customer_a, enabled=False, disabled_reason="Disabled after failing", failing_since=timezone.now()
    )
    response = alice_client.patch(
        f"{URL}/{endpoint.id}", {"enabled": True, "events": ["call.failed"], "description": "CRM"}, format="json"
    )
    data = assert_success(response, 200, "Webhook endpoint updated successfully")
    assert data["enabled"] is True and data["disabledReason"] == "" and data["failingSince"] is None
    assert data["events"] == ["call.failed"] and data["description"] == "CRM"


def test_a_bad_update_changes_nothing(alice_client, customer_a):
    endpoint = WebhookEndpointFactory(customer=customer_a)
    body = {"description": "new", "url": "https://10.0.0.1/x"}
    assert_error(alice_client.patch(f"{URL}/{endpoint.id}", body, format="json"), 400, fields=["url"])
    endpoint.refresh_from_db()
    assert endpoint.description == "" and endpoint.url == "https://hooks.example.com/morpheus"
    assert_error(alice_client.patch(f"{URL}/{endpoint.id}", {}, format="json"), 400)


def test_rotating_keeps_the_old_secret_signing_for_24_hours(alice_client, customer_a):
    endpoint = WebhookEndpointFactory(customer=customer_a)
    old = endpoint.secret
    data = assert_success(
        alice_client.post(f"{URL}/{endpoint.id}/rotate-secret"), 200, "Webhook secret rotated successfully"
    )
    endpoint.refresh_from_db()
    assert data["secret"] == endpoint.secret != old and endpoint.previous_secret == old
    until = endpoint.previous_secret_expires_at
    assert (
        timezone.now() + datetime.timedelta(hours=23, minutes=59)
        < until
        <= timezone.now() + datetime.timedelta(hours=24)
    )
    assert data["secretRotatedUntil"].startswith(until.strftime("%Y-%m-%dT%H:%M"))


def test_the_test_action_queues_a_ping(alice_client, customer_a):
    endpoint = WebhookEndpointFactory(customer=customer_a, events=["call.ended"])
    data = assert_success(alice_client.post(f"{URL}/{endpoint.id}/test"), 202, "Test event queued")
    delivery = WebhookDelivery.objects.get()
    assert data["id"] == delivery.id and data["eventType"] == "ping" and data["status"] == DeliveryStatus.PENDING
    assert Event.objects.get().data == {"endpointId": endpoint.id, "message": "Test event from Morpheus"}
    endpoint.enabled = False
    endpoint.save()
    assert_error(alice_client.post(f"{URL}/{endpoint.id}/test"), 409, "Webhook endpoint is disabled")


def test_the_event_catalogue_lists_what_can_be_subscribed(alice_client):
    data = assert_success(alice_client.get(f"{URL}/events"), 200, "Event types retrieved successfully")
    names = [row["name"] for row in data]
    assert {"call.started", "call.answered", "call.ended", "call.transferred", "call.failed"} <= set(names)
    assert "ping" not in names and all(row["description"] for row in data)


def test_delete(alice_client, customer_a):
    endpoint = WebhookEndpointFactory(customer=customer_a)
    assert assert_success(alice_client.delete(f"{URL}/{endpoint.id}"), 200) == {"id": endpoint.id}
    assert not WebhookEndpoint.objects.exists()
