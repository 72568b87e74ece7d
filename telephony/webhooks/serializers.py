"""Inputs and outputs of the voice webhooks. Field names are the carriers' (Twilio's
capitalised form parameters, which the spec's JSON form and TeXML share)."""

from rest_framework import serializers

from morpheus.e164 import from_carrier as e164

from .status import CARRIER_STATUSES


class InboundCallInput(serializers.Serializer):
    From = serializers.CharField(max_length=64, help_text="The caller: E.164, or a SIP URI")
    To = serializers.CharField(max_length=64, help_text="The number called, E.164 (tel:/sip: URIs accepted)")
    CallSid = serializers.CharField(
        max_length=128,
        required=False,
        allow_blank=True,
        default="",
        help_text="The carrier's call id. Retries with the same id return the same call (idempotent).",
    )

    def validate_To(self, value):
        number = e164(value)
        if number is None:
            raise serializers.ValidationError("Enter a phone number in E.164 format, e.g. +15551234567")
        return number


class CallStatusInput(serializers.Serializer):
    CallSid = serializers.CharField(max_length=128)
    CallStatus = serializers.ChoiceField(choices=CARRIER_STATUSES, required=False)
    CallDuration = serializers.IntegerField(min_value=0, required=False, help_text="Seconds, on final statuses")
    DialCallStatus = serializers.ChoiceField(
        choices=CARRIER_STATUSES, required=False, help_text="Sent by the <Dial action> callback instead of CallStatus"
    )
    DialCallDuration = serializers.IntegerField(min_value=0, required=False)

    def validate(self, attrs):
        if not attrs.get("DialCallStatus") and not attrs.get("CallStatus"):
            raise serializers.ValidationError({"CallStatus": "This field is required."})
        return attrs


class InboundConnectOutput(serializers.Serializer):
    action = serializers.ChoiceField(choices=["connect", "reject"])
    roomName = serializers.CharField(allow_null=True, help_text="The LiveKit room to bridge the caller into")
    agentId = serializers.IntegerField(allow_null=True)
    callId = serializers.IntegerField(allow_null=True)
    sipUri = serializers.CharField(
        allow_null=True, help_text="SIP URI that lands the caller in the room (null when LIVEKIT_SIP_URI is unset)"
    )
    reason = serializers.ChoiceField(
        choices=["customer_suspended", "no_agent", "agent_inactive", "too_many_ringing_calls"],
        allow_null=True,
        help_text="Why a known number rejects the call",
    )


class CallStatusOutput(serializers.Serializer):
    callId = serializers.IntegerField()
    status = serializers.CharField()


class TransferInput(serializers.Serializer):
    CallSid = serializers.CharField(max_length=128)
    ReferTransferTarget = serializers.CharField(max_length=500, help_text="The REFER's Refer-To URI")
