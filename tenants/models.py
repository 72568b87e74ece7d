import secrets
import uuid

from django.conf import settings as django_settings
from django.db import models

from morpheus.crypto import EncryptedTextField
from morpheus.models import TimestampedModel


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


def new_signing_secret() -> str:
    return secrets.token_urlsafe(32)


class Customer(TimestampedModel):
    """A tenant: a company using the platform. Every tenant-owned row points here."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    company_name = models.CharField(max_length=200)
    phone = models.CharField(max_length=20, blank=True, default="")
    description = models.TextField(blank=True, default="")
    status = models.CharField(max_length=20, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE)
    avatar = models.URLField(max_length=500, null=True, blank=True)
    settings = models.JSONField(default=dict, blank=True)
    # None or [] means no restriction; otherwise single IPs and CIDR ranges.
    allowed_ips = models.JSONField(null=True, blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Signs the bodies of the agents' custom function calls (HMAC-SHA256), so the
    # customer's endpoint can tell a call came from us.
    signing_secret = models.CharField(max_length=64, default=new_signing_secret, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        # The platform admin's tenant list (GET /admin/customers: not deleted, newest first)
        # and its status filter, in its order (test_list_indexes.py).
        indexes = [
            models.Index(
                fields=["-created_at", "id"],
                name="customer_created_idx",
                condition=models.Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["status", "-created_at", "id"],
                name="customer_status_created_idx",
                condition=models.Q(deleted_at__isnull=True),
            ),
        ]

    def __str__(self):
        return self.company_name

    @property
    def is_active(self) -> bool:
        return self.status == CustomerStatus.ACTIVE and self.deleted_at is None


class ProviderKeyVendor(models.TextChoices):
    OPENAI = "openai", "OpenAI (or OpenAI-compatible)"
    DEEPGRAM = "deepgram", "Deepgram"
    ELEVENLABS = "elevenlabs", "ElevenLabs"


class ProviderKey(TimestampedModel):
    """A customer's own credentials for a model provider (bring your own key): used for
    that customer's calls before the platform's key. Encrypted at rest, never shown back
    (only its last four characters)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="provider_keys")
    vendor = models.CharField(max_length=20, choices=ProviderKeyVendor.choices)
    api_key = EncryptedTextField()
    key_last4 = models.CharField(max_length=4)
    # OpenAI-compatible only: a server other than api.openai.com (blank: OpenAI itself).
    base_url = models.URLField(max_length=500, blank=True, default="")
    checked_at = models.DateTimeField()

    class Meta:
        ordering = ["vendor"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "vendor"], name="provider_key_customer_vendor_unique")
        ]

    def __str__(self):
        return f"{self.get_vendor_display()} key …{self.key_last4}"
