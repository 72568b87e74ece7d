"""Campaigns: contacts dialed by the dialer within calling windows, with retries.

One `ContactAttempt` row per (contact, attempt number): the dialer creates it in the
same transaction that claims the contact, so a duplicate tick or a redelivered task can
never dial a contact twice (the unique constraint refuses the second row).
"""

from django.conf import settings
from django.db import models

from morpheus.models import TimestampedModel


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    CANCELED = "canceled", "Canceled"


class Outcome(models.TextChoices):
    """How one attempt (and, once final, a contact) ended."""

    ANSWERED = "answered", "Answered by a person"
    VOICEMAIL = "voicemail", "Voicemail"
    NO_ANSWER = "no_answer", "No answer"
    BUSY = "busy", "Busy"
    FAILED = "failed", "Failed"
    DNC = "dnc", "On the do-not-call list"
    CANCELED = "canceled", "Canceled"


RETRYABLE_OUTCOMES = (Outcome.BUSY, Outcome.NO_ANSWER, Outcome.VOICEMAIL, Outcome.FAILED)


class ContactStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    VOICEMAIL = "voicemail", "Voicemail"
    NO_ANSWER = "no_answer", "No answer"
    BUSY = "busy", "Busy"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped (do not call)"
    CANCELED = "canceled", "Canceled"


OPEN_CONTACT_STATUSES = (ContactStatus.PENDING, ContactStatus.IN_PROGRESS)
# The final status of a contact whose last attempt ended in this outcome.
FINAL_STATUS = {
    Outcome.ANSWERED: ContactStatus.COMPLETED,
    Outcome.VOICEMAIL: ContactStatus.VOICEMAIL,
    Outcome.NO_ANSWER: ContactStatus.NO_ANSWER,
    Outcome.BUSY: ContactStatus.BUSY,
    Outcome.FAILED: ContactStatus.FAILED,
    Outcome.DNC: ContactStatus.SKIPPED,
    Outcome.CANCELED: ContactStatus.CANCELED,
}


def default_retry() -> dict:
    return {"maxAttempts": 1, "delayMinutes": 60, "on": ["busy", "no_answer"]}


class Campaign(TimestampedModel):
    customer = models.ForeignKey("tenants.Customer", on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=120)
    agent = models.ForeignKey("agents.Agent", on_delete=models.PROTECT, related_name="campaigns")
    from_numbers = models.ManyToManyField("telephony.PhoneNumber", related_name="campaigns")
    # {"timezone": "America/New_York", "windows": [{"days": ["mon", ...], "start": "09:00", "end": "17:00"}]}
    schedule = models.JSONField(default=dict)
    retry = models.JSONField(default=default_retry)
    max_concurrency = models.PositiveIntegerField(default=5)
    calls_per_minute = models.PositiveIntegerField(default=30)
    status = models.CharField(max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    # Why it is paused (the circuit breaker says so), or why it stopped.
    status_reason = models.CharField(max_length=500, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Round-robin over from_numbers.
    dial_sequence = models.PositiveBigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="campaign_customer_created_idx"),
            models.Index(fields=["status"], name="campaign_status_idx"),
        ]

    def __str__(self):
        return self.name


class Contact(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="contacts")
    customer = models.ForeignKey("tenants.Customer", on_delete=models.CASCADE, related_name="+")
    phone_number = models.CharField(max_length=16)
    variables = models.JSONField(default=dict, blank=True)
    # The recipient's IANA zone when their number's region has exactly one; "" = the campaign's.
    timezone = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=12, choices=ContactStatus.choices, default=ContactStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "phone_number"], name="contact_unique_campaign_phone"),
        ]
        indexes = [
            # The dialer's claim: due pending contacts of a campaign in a zone.
            models.Index(fields=["campaign", "status", "timezone", "next_attempt_at"], name="contact_due_idx"),
        ]

    def __str__(self):
        return self.phone_number


class ContactAttempt(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="attempt_rows")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    call = models.OneToOneField(
        "calls.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="campaign_attempt"
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["contact_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "number"], name="attempt_unique_contact_number"),
        ]
        indexes = [
            models.Index(fields=["campaign", "created_at"], name="attempt_campaign_created_idx"),
            models.Index(fields=["campaign", "-finished_at"], name="attempt_campaign_finished_idx"),
        ]

    def __str__(self):
        return f"{self.contact_id} #{self.number}"


class DoNotCall(models.Model):
    """A number the customer must never call: every campaign honours it at dial time."""

    customer = models.ForeignKey("tenants.Customer", on_delete=models.CASCADE, related_name="do_not_call")
    phone_number = models.CharField(max_length=16)
    reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "do-not-call number"
        constraints = [
            models.UniqueConstraint(fields=["customer", "phone_number"], name="dnc_unique_customer_phone"),
        ]

    def __str__(self):
        return self.phone_number
