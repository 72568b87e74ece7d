"""Shapes of /api-keys, /webhook-endpoints, /webhook-deliveries and the function secret."""

from rest_framework import serializers

from agents.serializers import PaginationOutput

from .catalogue import subscribable_event_types
from .models import ApiKey, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from .scopes import ALL_SCOPES

# The create inputs name each field after the service's keyword (`source`), so a view passes
# the validated body on as it is.


# --- API keys -------------------------------------------------------------------------------


class ApiKeyCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.CharField(max_length=40),
        allow_empty=False,
        help_text="Any of: " + ", ".join(ALL_SCOPES) + ". `write` implies `read`.",
    )
    agentIds = serializers.ListField(
        source="agent_ids",
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_null=True,
        help_text="Restrict the key to these agents and their calls; omitted or null: every agent.",
    )
    expiresAt = serializers.DateTimeField(source="expires_at", required=False, allow_null=True)


class ApiKeyOutput(serializers.ModelSerializer):
    prefix = serializers.CharField(help_text="The key's visible start, to recognise it; the rest is never shown again")
    agentIds = serializers.ListField(source="agent_ids", child=serializers.IntegerField(), allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    lastUsedAt = serializers.DateTimeField(source="last_used_at", allow_null=True)
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)
    revokedAt = serializers.DateTimeField(source="revoked_at", allow_null=True)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "scopes",
            "agentIds",
            "createdBy",
            "createdAt",
            "lastUsedAt",
            "expiresAt",
            "revokedAt",
            "revokedBy",
        ]

    createdBy = serializers.SerializerMethodField()
    revokedBy = serializers.SerializerMethodField()

    def get_createdBy(self, key) -> dict | None:  # noqa: N802
        return _person(key.created_by)

    def get_revokedBy(self, key) -> dict | None:  # noqa: N802
        return _person(key.revoked_by)


def _person(user) -> dict | None:
    return {"id": str(user.pk), "name": user.name, "email": user.email} if user else None


class ApiKeyCreatedOutput(ApiKeyOutput):
    key = serializers.SerializerMethodField(help_text="The full key: shown only in this response")

    class Meta(ApiKeyOutput.Meta):
        fields = [*ApiKeyOutput.Meta.fields, "key"]

    def get_key(self, _key) -> str:
        return self.context["plaintext"]


# --- Webhook endpoints ------------------------------------------------------------------------


class WebhookEndpointCreateInput(serializers.Serializer):
    url = serializers.CharField(max_length=500)
    events = serializers.ListField(
        child=serializers.CharField(max_length=100),
        help_text="Event types to receive; GET /webhook-endpoints/events lists them.",
    )
    agentIds = serializers.ListField(
        source="agent_ids", child=serializers.IntegerField(min_value=1), required=False, allow_null=True, default=None
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    enabled = serializers.BooleanField(required=False, default=True)


class WebhookEndpointUpdateInput(serializers.Serializer):
    url = serializers.CharField(max_length=500, required=False)
    events = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    agentIds = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, allow_null=True)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Give at least one field to change")
        if "agentIds" in attrs:
            attrs["agent_ids"] = attrs.pop("agentIds")
        return attrs


class WebhookEndpointOutput(serializers.ModelSerializer):
    agentIds = serializers.ListField(source="agent_ids", child=serializers.IntegerField(), allow_null=True)
    disabledReason = serializers.CharField(source="disabled_reason")
    failingSince = serializers.DateTimeField(source="failing_since", allow_null=True)
    secretRotatedUntil = serializers.DateTimeField(
        source="previous_secret_expires_at",
        allow_null=True,
        help_text="While in the future, the previous secret still signs alongside the current one",
    )
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "agentIds",
            "enabled",
            "disabledReason",
            "failingSince",
            "secretRotatedUntil",
            "createdAt",
            "updatedAt",
        ]


class WebhookEndpointWithSecretOutput(WebhookEndpointOutput):
    secret = serializers.SerializerMethodField(help_text="The signing secret (whsec_…): shown only in this response")

    class Meta(WebhookEndpointOutput.Meta):
        fields = [*WebhookEndpointOutput.Meta.fields, "secret"]

    def get_secret(self, _endpoint) -> str:
        return self.context["secret"]


class EventTypeOutput(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()


def event_catalogue() -> list[dict]:
    return EventTypeOutput(subscribable_event_types(), many=True).data


# --- Deliveries -----------------------------------------------------------------------------


class DeliveryListQuery(serializers.Serializer):
    endpointId = serializers.IntegerField(required=False, min_value=1)
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False)
    eventType = serializers.CharField(required=False, max_length=100)


class WebhookDeliveryOutput(serializers.ModelSerializer):
    endpointId = serializers.IntegerField(source="endpoint_id")
    eventId = serializers.CharField(source="event.message_id", help_text="The webhook-id header of every attempt")
    eventType = serializers.CharField(source="event.type")
    sequence = serializers.IntegerField(source="event_id")
    nextAttemptAt = serializers.DateTimeField(source="next_attempt_at", allow_null=True)
    lastAttemptAt = serializers.DateTimeField(source="last_attempt_at", allow_null=True)
    responseStatus = serializers.IntegerField(source="response_status", allow_null=True)
    responseBody = serializers.CharField(source="response_body", help_text="The first 1024 bytes of the answer")
    durationMs = serializers.IntegerField(source="duration_ms", allow_null=True)
    lastError = serializers.CharField(source="last_error")
    deliveredAt = serializers.DateTimeField(source="delivered_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpointId",
            "eventId",
            "eventType",
            "sequence",
            "status",
            "attempts",
            "nextAttemptAt",
            "lastAttemptAt",
            "responseStatus",
            "responseBody",
            "durationMs",
            "lastError",
            "deliveredAt",
            "createdAt",
        ]


class WebhookDeliveryDetailOutput(WebhookDeliveryOutput):
    payload = serializers.SerializerMethodField(help_text="The JSON body every attempt sends")

    class Meta(WebhookDeliveryOutput.Meta):
        fields = [*WebhookDeliveryOutput.Meta.fields, "payload"]

    def get_payload(self, delivery) -> dict:
        from .delivery import payload

        return payload(delivery.event)


# --- Function secret ----------------------------------------------------------------------


class FunctionSecretOutput(serializers.Serializer):
    secret = serializers.CharField(help_text="The new custom-function signing secret: shown only in this response")
    previousSecretValidUntil = serializers.DateTimeField(
        help_text="Until then calls carry a signature with the previous secret too"
    )


# --- Pages (the list payloads, for the OpenAPI schema) -------------------------------------


class ApiKeyPageOutput(serializers.Serializer):
    apiKeys = ApiKeyOutput(many=True)
    pagination = PaginationOutput()


class WebhookEndpointPageOutput(serializers.Serializer):
    webhookEndpoints = WebhookEndpointOutput(many=True)
    pagination = PaginationOutput()


class WebhookDeliveryPageOutput(serializers.Serializer):
    webhookDeliveries = WebhookDeliveryOutput(many=True)
    pagination = PaginationOutput()
