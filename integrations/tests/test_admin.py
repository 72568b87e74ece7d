"""The platform admin: revoke keys, filter and redeliver deliveries; secrets never shown."""

import pytest
from django.urls import reverse

from integrations.models import ApiKey, DeliveryStatus, WebhookDelivery
from morpheus.models import OutboxMessage

from .factories import WebhookDeliveryFactory, WebhookEndpointFactory, make_api_key

pytestmark = pytest.mark.django_db


def test_revoking_keys_from_the_admin(admin_client, alice, customer_a, platform_admin):
    api_key, plaintext = make_api_key(customer_a, alice)
    page = admin_client.get(reverse("admin:integrations_apikey_change", args=[api_key.pk]))
    assert (
        page.status_code == 200
        and plaintext not in page.content.decode()
        and api_key.secret_hash not in page.content.decode()
    )
    response = admin_client.post(
        reverse("admin:integrations_apikey_changelist"), {"action": "revoke", "_selected_action": [api_key.pk]}
    )
    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None and api_key.revoked_by == platform_admin


def test_deliveries_filter_by_status_and_redeliver(admin_client, customer_a):
    endpoint = WebhookEndpointFactory(customer=customer_a)
    failed = WebhookDeliveryFactory(endpoint=endpoint, status="failed")
    WebhookDeliveryFactory(endpoint=endpoint, status="delivered")
    url = reverse("admin:integrations_webhookdelivery_changelist")
    listed = admin_client.get(url, {"status__exact": "failed"})
    assert listed.context["cl"].result_count == 1
    response = admin_client.post(url, {"action": "redeliver", "_selected_action": [failed.pk]})
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.PENDING and OutboxMessage.objects.get().args == [failed.pk]


def test_redelivering_to_a_disabled_endpoint_is_refused_with_a_message(admin_client, customer_a):
    delivery = WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(customer=customer_a, enabled=False))
    url = reverse("admin:integrations_webhookdelivery_changelist")
    response = admin_client.post(url, {"action": "redeliver", "_selected_action": [delivery.pk]}, follow=True)
    assert "Webhook endpoint is disabled" in response.content.decode()
    assert WebhookDelivery.objects.get().status == "failed" and ApiKey.objects.count() == 0


def test_an_endpoint_page_never_shows_its_secret(admin_client, customer_a):
    endpoint = WebhookEndpointFactory(customer=customer_a)
    page = admin_client.get(reverse("admin:integrations_webhookendpoint_change", args=[endpoint.pk]))
    assert page.status_code == 200 and endpoint.secret not in page.content.decode()
