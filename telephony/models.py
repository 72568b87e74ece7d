from django.db import models

from morpheus.models import TimestampedModel


class Carrier(models.TextChoices):
    TWILIO = "twilio", "Twilio"
    TELNYX = "telnyx", "Telnyx"
    SIP = "sip", "SIP trunk"


def default_capabilities() -> list:
    return ["voice"]


class PhoneNumber(TimestampedModel):
    customer = models.ForeignKey("tenants.Customer", on_delete=models.CASCADE, related_name="phone_numbers")
    # E.164, unique across the platform: an inbound call must route to one tenant.
    phone_number = models.CharField(max_length=16, unique=True)
    friendly_name = models.CharField(max_length=120, blank=True, default="")
    country = models.CharField(max_length=2, blank=True, default="")
    capabilities = models.JSONField(default=default_capabilities, blank=True)
    agent = models.ForeignKey(
        "agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="phone_numbers"
    )
    carrier = models.CharField(max_length=10, choices=Carrier.choices, default=Carrier.TWILIO)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="phone_customer_created_idx")]

    def __str__(self):
        return self.phone_number
