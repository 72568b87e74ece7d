"""/customers/me/provider-credentials (bring your own keys) and /providers/elevenlabs/voices."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers

from accounts.models import MANAGER_ROLES
from morpheus.api.responses import ok
from morpheus.api.viewsets import TenantScopedAPIView
from tenants import provider_keys, selectors


class ProviderKeyOutput(serializers.Serializer):
    """Write-only secret: only its last four characters are ever shown."""

    vendor = serializers.CharField()
    keyLast4 = serializers.CharField(source="key_last4")
    baseUrl = serializers.CharField(source="base_url")
    checkedAt = serializers.DateTimeField(source="checked_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class ProviderKeyInput(serializers.Serializer):
    apiKey = serializers.CharField(max_length=500, trim_whitespace=True)
    baseUrl = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")


class VoiceOutput(serializers.Serializer):
    voiceId = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()


class ProviderKeyListOutput(serializers.Serializer):
    credentials = ProviderKeyOutput(many=True)


def _listing(customer):
    return {"credentials": ProviderKeyOutput(selectors.provider_keys(customer_id=customer.pk), many=True).data}


class ProviderKeysView(TenantScopedAPIView):
    success_messages = {
        "get": "Provider credentials retrieved",
    }
    action_roles = {"get": MANAGER_ROLES}

    @extend_schema(
        tags=["customers"],
        summary="Your own provider keys",
        description="Owners and admins. The stored keys by vendor, with their last four characters only.",
        responses={200: ProviderKeyListOutput},
    )
    def get(self, request):
        return ok(_listing(request.user.customer))


class ProviderKeyView(TenantScopedAPIView):
    success_messages = {
        "put": "Provider credential saved",
        "delete": "Provider credential deleted",
    }
    action_roles = {"put": MANAGER_ROLES, "delete": MANAGER_ROLES}

    @extend_schema(
        tags=["customers"],
        summary="Store your own key for a provider",
        description=(
            "Owners and admins. `vendor` is `openai` (any OpenAI-compatible server with `baseUrl`), "
            "`deepgram` or `elevenlabs`. The key is checked first with a cheap real call through the "
            "vendor's SDK: 400 when the provider refuses it, 503 when it cannot be reached. Stored "
            "encrypted; your calls use it before the platform's key."
        ),
        request=ProviderKeyInput,
        responses={200: ProviderKeyOutput, 400: OpenApiResponse(description="The provider refused the key")},
    )
    def put(self, request, vendor):
        payload = ProviderKeyInput(data=request.data)
        payload.is_valid(raise_exception=True)
        key = provider_keys.provider_key_save(
            customer=request.user.customer,
            vendor=vendor,
            api_key=payload.validated_data["apiKey"],
            base_url=payload.validated_data["baseUrl"],
        )
        return ok(ProviderKeyOutput(key).data)

    @extend_schema(tags=["customers"], summary="Remove your own key for a provider", responses={200: None})
    def delete(self, request, vendor):
        provider_keys.provider_key_delete(customer=request.user.customer, vendor=vendor)
        return ok(_listing(request.user.customer))


class ElevenLabsVoicesView(TenantScopedAPIView):
    success_messages = {
        "get": "Voices retrieved",
    }

    @extend_schema(
        tags=["agents"],
        summary="The ElevenLabs voices your key can use",
        description="Any role. With your own ElevenLabs key, else the platform's; cached for a few minutes.",
        responses={200: VoiceOutput(many=True)},
    )
    def get(self, request):
        voices = provider_keys.elevenlabs_voices(customer_id=request.user.customer_id)
        return ok({"voices": VoiceOutput(voices, many=True).data})
