"""Server-to-server integrations: API keys, webhook endpoints, events and their deliveries.

An `Event` is written in the same transaction as the change that caused it, with one
`WebhookDelivery` per subscribed endpoint; the deliveries are kicked through the durable
outbox after commit and retried by Celery (docs/integrations.md).
"""

import uuid

from django.conf import settings
from django.db import models

from morpheus.crypto import EncryptedTextField
from morpheus.models import TimestampedModel


class ApiKey(models.Model):
    """A customer's server-to-server key. Only a SHA-256 of its secret part is stored: the
    key is 32 random bytes, so a fast hash is as good as a slow one and costs nothing per
    request. `key_id` finds the row; the secret is compared in constant time."""

    customer = models.ForeignKey("tenants.Customer", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    key_id = models.CharField(max_length=32, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    # None: every agent; a list: only these agents and their calls.
    agent_ids = models.JSONField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"
        indexes = [models.Index(fields=["customer", "-created_at"], name="apikey_customer_created_idx")]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def prefix(self) -> str:
        from .keys import KEY_PREFIX

        return f"{KEY_PREFIX}{self.key_id}"


class WebhookEndpoint(TimestampedModel):
    customer = models.ForeignKey("tenants.Customer", on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=500, blank=True, default="")
    events = models.JSONField(default=list)
    # None: events of every agent (and events without one); a list: only these agents.
    agent_ids = models.JSONField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    # Standard Webhooks secrets ("whsec_<base64>"): the plaintext is needed to sign, so
    # they are encrypted, not hashed. During a rotation the previous one keeps signing.
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # First failure of the current unbroken run of failures; cleared by any success.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "enabled"], name="webhookendpoint_customer_idx")]

    def __str__(self):
        return self.url


class Event(models.Model):
    """Something that happened in a tenant. The auto-increment id is the event's monotonic
    `sequence`; `public_id` ("evt_…") is the Standard Webhooks message id."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey("tenants.Customer", on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=100)
    agent_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["customer", "type", "-id"], name="event_customer_type_idx")]

    def __str__(self):
        return f"{self.type} #{self.pk}"

    @property
    def message_id(self) -> str:
        return f"evt_{self.public_id.hex}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERING = "delivering", "Delivering"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event to one endpoint, with the outcome of its latest attempt."""

    customer = models.ForeignKey("tenants.Customer", on_delete=models.CASCADE, related_name="webhook_deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # While `delivering`: when a worker that died mid-attempt is presumed gone.
    locked_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["customer", "-id"], name="delivery_customer_idx"),
            models.Index(fields=["status", "next_attempt_at"], name="delivery_status_next_idx"),
        ]

    def __str__(self):
        return f"{self.event.type} → {self.endpoint.url} [{self.status}]"


class FunctionSecretRotation(models.Model):
    """The custom-function signing secret a customer replaced, still signing (alongside the
    current `Customer.signing_secret`) until `expires_at`, so their endpoint can switch over."""

    customer = models.OneToOneField("tenants.Customer", on_delete=models.CASCADE, related_name="function_secret")
    previous_secret = EncryptedTextField(blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    rotated_at = models.DateTimeField(auto_now=True)
    rotated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self):
        return f"Function secret rotation of {self.customer_id}"

    def active_previous_secret(self, now=None) -> str:
        from django.utils import timezone

        from .signing import previous_still_signing

        return previous_still_signing(self.previous_secret, self.expires_at, now or timezone.now())
