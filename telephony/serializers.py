"""Parse and render the phone-number inventory; the rules are in services."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from agents.serializers import PaginationOutput

from .models import Carrier
from .services import CAPABILITIES, FRIENDLY_NAME_MAX


class PhoneNumberListQuery(serializers.Serializer):
    agentId = serializers.IntegerField(
        source="agent_id", min_value=1, required=False, help_text="Only numbers assigned to this agent."
    )
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="Matches the number or the friendly name."
    )


class PhoneNumberFields(serializers.Serializer):
    """What POST and PATCH share."""

    friendlyName = serializers.CharField(
        source="friendly_name", max_length=FRIENDLY_NAME_MAX, allow_blank=True, required=False
    )
    country = serializers.CharField(
        max_length=2,
        allow_blank=True,
        required=False,
        help_text="ISO 3166-1 alpha-2; checked against the number. Blank infers it from the number.",
    )
    capabilities = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text=f"A non-empty subset of: {', '.join(CAPABILITIES)}.",
    )
    carrier = serializers.ChoiceField(choices=Carrier.choices, required=False)
    agentId = serializers.IntegerField(
        source="agent_id",
        allow_null=True,
        required=False,
        help_text="An agent of your organization answers calls to this number; null unassigns.",
    )


class PhoneNumberCreateInput(PhoneNumberFields):
    phoneNumber = serializers.CharField(
        source="phone_number",
        max_length=32,
        help_text="E.164, e.g. +15559998888 (spaces, dashes and parentheses are removed).",
    )


class PhoneNumberUpdateInput(PhoneNumberFields):
    """PATCH accepts the number only to say it cannot change (a clear error, not silence)."""

    phoneNumber = serializers.CharField(
        source="phone_number", max_length=32, required=False, help_text="Cannot be changed."
    )


class PhoneNumberOutput(serializers.Serializer):
    id = serializers.IntegerField()
    phoneNumber = serializers.CharField(source="phone_number")
    friendlyName = serializers.CharField(source="friendly_name")
    country = serializers.CharField()
    capabilities = serializers.ListField(child=serializers.ChoiceField(choices=CAPABILITIES))
    carrier = serializers.ChoiceField(choices=Carrier.choices)
    agentId = serializers.IntegerField(source="agent_id", allow_null=True)
    agentName = serializers.CharField(source="agent.name", allow_null=True)
    customerId = serializers.UUIDField(source="customer_id")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


@extend_schema_serializer(many=False)
class PhoneNumberPageOutput(serializers.Serializer):
    phoneNumbers = PhoneNumberOutput(many=True)
    pagination = PaginationOutput()


class PhoneNumberDeleteOutput(serializers.Serializer):
    id = serializers.IntegerField()
