"""Parse and render /campaigns and /dnc; the rules are in services."""

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from agents.serializers import PaginationOutput

from .models import CampaignStatus, ContactStatus
from .selectors import progress_of


class WindowInput(serializers.Serializer):
    days = serializers.ListField(child=serializers.CharField(), help_text="mon … sun")
    start = serializers.CharField(help_text="HH:MM local time")
    end = serializers.CharField(help_text="HH:MM local time, later than start (24:00 is the end of the day)")


class ScheduleInput(serializers.Serializer):
    timezone = serializers.CharField(help_text="IANA zone for recipients whose number does not give one")
    windows = WindowInput(many=True)


class RetryInput(serializers.Serializer):
    maxAttempts = serializers.IntegerField(help_text="Attempts per contact, 1-10 (1 = no retry)")
    delayMinutes = serializers.IntegerField(help_text="Wait before a retry")
    on = serializers.ListField(child=serializers.CharField(), help_text="busy, no_answer, voicemail, failed")


class CampaignInput(serializers.Serializer):
    """Shapes are checked by the service (every problem reported at once, dotted fields)."""

    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    agentId = serializers.IntegerField(source="agent_id", required=False)
    fromNumberIds = serializers.ListField(source="from_number_ids", child=serializers.IntegerField(), required=False)
    schedule = serializers.JSONField(required=False)
    retry = serializers.JSONField(required=False)
    maxConcurrency = serializers.JSONField(source="max_concurrency", required=False)
    callsPerMinute = serializers.JSONField(source="calls_per_minute", required=False)


class ProgressOutput(serializers.Serializer):
    total = serializers.IntegerField()
    pending = serializers.IntegerField()
    inProgress = serializers.IntegerField()
    completed = serializers.IntegerField(help_text="A person answered")
    failed = serializers.IntegerField()
    voicemail = serializers.IntegerField()
    noAnswer = serializers.IntegerField()
    busy = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="On the do-not-call list")
    canceled = serializers.IntegerField()
    answerRate = serializers.FloatField(allow_null=True)


class CampaignOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    agentId = serializers.IntegerField(source="agent_id")
    fromNumberIds = serializers.SerializerMethodField()
    schedule = serializers.JSONField()
    retry = serializers.JSONField()
    maxConcurrency = serializers.IntegerField(source="max_concurrency")
    callsPerMinute = serializers.IntegerField(source="calls_per_minute")
    status = serializers.ChoiceField(choices=CampaignStatus.choices)
    statusReason = serializers.CharField(source="status_reason", help_text="Why it is paused or stopped")
    progress = serializers.SerializerMethodField()
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    def get_fromNumberIds(self, campaign) -> list[int]:
        return sorted(n.pk for n in campaign.from_numbers.all())

    @extend_schema_field(ProgressOutput)
    def get_progress(self, campaign):
        return progress_of(campaign)


@extend_schema_serializer(many=False)
class CampaignPageOutput(serializers.Serializer):
    campaigns = CampaignOutput(many=True)
    pagination = PaginationOutput()


class AttemptOutput(serializers.Serializer):
    number = serializers.IntegerField()
    callId = serializers.IntegerField(source="call_id", allow_null=True)
    outcome = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)


class ContactOutput(serializers.Serializer):
    id = serializers.IntegerField()
    phone = serializers.CharField(source="phone_number")
    variables = serializers.JSONField()
    timezone = serializers.CharField(help_text="The recipient's zone; '' = the campaign's")
    status = serializers.ChoiceField(choices=ContactStatus.choices)
    attempts = serializers.IntegerField()
    outcome = serializers.CharField(source="last_outcome")
    nextAttemptAt = serializers.DateTimeField(source="next_attempt_at", allow_null=True)
    callIds = serializers.SerializerMethodField()
    attemptHistory = AttemptOutput(source="attempt_rows", many=True)

    def get_callIds(self, contact) -> list[int]:
        return [a.call_id for a in contact.attempt_rows.all() if a.call_id]


@extend_schema_serializer(many=False)
class ContactPageOutput(serializers.Serializer):
    contacts = ContactOutput(many=True)
    pagination = PaginationOutput()


class ContactListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=ContactStatus.choices, required=False)


class ContactRowInput(serializers.Serializer):
    phone = serializers.CharField()
    variables = serializers.DictField(required=False)


class ContactsJsonInput(serializers.Serializer):
    contacts = ContactRowInput(many=True, help_text="At most 1000; upload a CSV (multipart `file`) for more")


class RowErrorOutput(serializers.Serializer):
    row = serializers.IntegerField(help_text="1-based JSON index, or the CSV line number")
    phone = serializers.CharField()
    message = serializers.CharField()


class UploadReportOutput(serializers.Serializer):
    received = serializers.IntegerField()
    added = serializers.IntegerField()
    merged = serializers.IntegerField(help_text="Duplicates merged into one contact per number (last row wins)")
    rejected = serializers.IntegerField()
    errors = RowErrorOutput(many=True, help_text="The first 100 rejected rows")


class DncInput(serializers.Serializer):
    phoneNumber = serializers.CharField(source="phone_number", max_length=32)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)


class DncRemovedOutput(serializers.Serializer):
    id = serializers.IntegerField()


class DncOutput(serializers.Serializer):
    id = serializers.IntegerField()
    phoneNumber = serializers.CharField(source="phone_number")
    reason = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")


@extend_schema_serializer(many=False)
class DncPageOutput(serializers.Serializer):
    doNotCall = DncOutput(many=True)
    pagination = PaginationOutput()


class DncListQuery(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=32)
