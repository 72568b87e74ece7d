"""Parse and render /sip-trunks; the password is write-only."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from agents.serializers import PaginationOutput

from .models import SipTransport
from .trunks import NAME_MAX


class SipTrunkInput(serializers.Serializer):
    name = serializers.CharField(max_length=NAME_MAX, required=False)
    address = serializers.CharField(
        max_length=255, required=False, help_text="The carrier's SIP host or host:port (no `sip:`)."
    )
    transport = serializers.ChoiceField(choices=SipTransport.choices, required=False)
    authUsername = serializers.CharField(source="auth_username", max_length=255, required=False, allow_blank=True)
    authPassword = serializers.CharField(
        source="auth_password",
        max_length=255,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="Write-only; encrypted at rest. Blank clears it.",
    )
    phoneNumberIds = serializers.ListField(
        source="phone_number_ids",
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=1000,
        help_text="Your numbers that call out through this trunk (their caller id); replaces the list.",
    )


class SipTrunkOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    address = serializers.CharField()
    transport = serializers.ChoiceField(choices=SipTransport.choices)
    authUsername = serializers.CharField(source="auth_username")
    hasPassword = serializers.SerializerMethodField()
    phoneNumbers = serializers.SerializerMethodField()
    livekitTrunkId = serializers.CharField(source="livekit_trunk_id")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    def get_hasPassword(self, trunk) -> bool:
        return bool(trunk.auth_password)

    def get_phoneNumbers(self, trunk) -> list[dict]:
        return [{"id": n.pk, "phoneNumber": n.phone_number} for n in trunk.phone_numbers.all()]


@extend_schema_serializer(many=False)
class SipTrunkPageOutput(serializers.Serializer):
    sipTrunks = SipTrunkOutput(many=True)
    pagination = PaginationOutput()
