from django.db import models

from morpheus.crypto import EncryptedTextField
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
    # The outbound trunk calls from this number go through (null: the platform trunk, if any).
    sip_trunk = models.ForeignKey(
        "telephony.SipTrunk", null=True, blank=True, on_delete=models.SET_NULL, related_name="phone_numbers"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        # GET /phone-numbers and its agent filter, in the list's order (test_list_indexes.py).
        indexes = [
            models.Index(fields=["customer", "-created_at", "-id"], name="phone_customer_created_idx"),
            models.Index(fields=["customer", "agent", "-created_at", "-id"], name="phone_customer_agent_idx"),
        ]

    def __str__(self):
        return self.phone_number


class SipTransport(models.TextChoices):
    AUTO = "auto", "Auto"
    UDP = "udp", "UDP"
    TCP = "tcp", "TCP"
    TLS = "tls", "TLS"


class SipTrunk(TimestampedModel):
    """An outbound carrier trunk LiveKit dials through (CreateSIPOutboundTrunk).

    `customer` null is the platform's own trunk (`setup_livekit_sip --outbound`): numbers
    without a trunk of their own dial through it. The row mirrors the LiveKit trunk
    `livekit_trunk_id`; the password is encrypted at rest and never rendered.
    """

    customer = models.ForeignKey(
        "tenants.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="sip_trunks"
    )
    name = models.CharField(max_length=120)
    address = models.CharField(max_length=255, help_text="The carrier's SIP host[:port], e.g. example.pstn.twilio.com")
    transport = models.CharField(max_length=4, choices=SipTransport.choices, default=SipTransport.AUTO)
    auth_username = models.CharField(max_length=255, blank=True, default="")
    auth_password = EncryptedTextField(blank=True, default="")
    livekit_trunk_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="trunk_customer_created_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["livekit_trunk_id"], condition=~models.Q(livekit_trunk_id=""), name="trunk_unique_livekit_id"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.address})"

    @property
    def is_platform(self) -> bool:
        return self.customer_id is None
