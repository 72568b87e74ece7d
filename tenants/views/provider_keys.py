"""/customers/me/provider-credentials (bring your own keys) and /providers/elevenlabs/voices."""

from accounts.models import MANAGER_ROLES
from morpheus.api.parsing import validated
from morpheus.api.responses import ok
from morpheus.api.viewsets import TenantScopedAPIView
from tenants import provider_keys, selectors

from .. import schema
from ..serializers import ProviderKeyInput, ProviderKeyOutput, VoiceOutput


def _listing(customer):
    return {"credentials": ProviderKeyOutput(selectors.provider_keys(customer_id=customer.pk), many=True).data}


class ProviderKeysView(TenantScopedAPIView):
    success_messages = {
        "get": "Provider credentials retrieved",
    }
    action_roles = {"get": MANAGER_ROLES}

    @schema.provider_keys_get
    def get(self, request):
        return ok(_listing(request.user.customer))


class ProviderKeyView(TenantScopedAPIView):
    success_messages = {
        "put": "Provider credential saved",
        "delete": "Provider credential deleted",
    }
    action_roles = {"put": MANAGER_ROLES, "delete": MANAGER_ROLES}

    @schema.provider_key_put
    def put(self, request, vendor):
        payload = validated(ProviderKeyInput, request.data)
        key = provider_keys.provider_key_save(
            customer=request.user.customer,
            vendor=vendor,
            api_key=payload["apiKey"],
            base_url=payload["baseUrl"],
        )
        return ok(ProviderKeyOutput(key).data)

    @schema.provider_key_delete
    def delete(self, request, vendor):
        provider_keys.provider_key_delete(customer=request.user.customer, vendor=vendor)
        return ok(_listing(request.user.customer))


class ElevenLabsVoicesView(TenantScopedAPIView):
    success_messages = {
        "get": "Voices retrieved",
    }

    @schema.eleven_labs_voices_get
    def get(self, request):
        voices = provider_keys.elevenlabs_voices(customer_id=request.user.customer_id)
        return ok({"voices": VoiceOutput(voices, many=True).data})
