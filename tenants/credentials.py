"""Which provider credentials a tenant's work uses: its own first, the platform's after.

Every caller that talks to a model provider on a customer's behalf (the voice worker,
post-call analysis, agent tests) asks here, so bring-your-own keys apply everywhere at
once. A customer's stored key (`tenants.ProviderKey`, bring-your-own keys) comes first;
the platform key from settings is the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

PLATFORM_KEY_SETTINGS = {
    "openai": "OPENAI_API_KEY",
    "deepgram": "DEEPGRAM_API_KEY",
    "elevenlabs": "ELEVENLABS_API_KEY",
}


@dataclass(frozen=True)
class ProviderCredential:
    vendor: str
    api_key: str
    base_url: str | None
    source: str  # "customer" or "platform"


# The key sent to an OpenAI-compatible server configured without one (a local Ollama
# ignores it, but the OpenAI client insists on some key).
NO_KEY = "not-needed"


def provider_credential(*, customer_id, vendor: str) -> ProviderCredential | None:
    """The key (and OpenAI-compatible base URL) to use for `vendor`, or None if none is set."""
    found = provider_credentials(customer_id=customer_id, vendor=vendor)
    return found[0] if found else None


def provider_credentials(*, customer_id, vendor: str) -> list[ProviderCredential]:
    """Every usable credential for `vendor`, best first: the customer's own, then the
    platform's. The voice worker tries them in order, so a customer key revoked since it was
    saved falls back to the platform key within the call. For OpenAI, `OPENAI_BASE_URL`
    alone is enough: a local OpenAI-compatible server such as Ollama needs no key."""
    found = []
    if customer_id is not None:
        from .models import ProviderKey

        stored = ProviderKey.objects.filter(customer_id=customer_id, vendor=vendor).first()
        if stored is not None and stored.api_key:
            found.append(
                ProviderCredential(
                    vendor=vendor, api_key=stored.api_key, base_url=stored.base_url or None, source="customer"
                )
            )
    setting = PLATFORM_KEY_SETTINGS.get(vendor)
    key = getattr(settings, setting, "") if setting else ""
    base_url = (getattr(settings, "OPENAI_BASE_URL", "") or None) if vendor == "openai" else None
    if key or base_url:
        found.append(ProviderCredential(vendor=vendor, api_key=key or NO_KEY, base_url=base_url, source="platform"))
    return found


def platform_key_setting(vendor: str) -> str:
    """The environment variable to name in a 503 when nothing is configured."""
    return PLATFORM_KEY_SETTINGS.get(vendor, vendor.upper() + "_API_KEY")
