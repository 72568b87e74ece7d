"""Bring your own keys: a customer's own credentials for OpenAI(-compatible), Deepgram and
ElevenLabs, checked with a cheap real call through each vendor's official SDK before they
are stored (encrypted, `ProviderKey`). `tenants.credentials` hands them out first.
"""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from morpheus import crypto
from morpheus.errors import BadRequest, NotFound, ServiceUnavailable, ValidationFailed

from .models import Customer, ProviderKey, ProviderKeyVendor

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 10.0
VENDOR_LABELS = {"openai": "OpenAI", "deepgram": "Deepgram", "elevenlabs": "ElevenLabs"}


class KeyRefused(Exception):
    """The provider answered that the key is not valid."""


class ProviderUnreachable(Exception):
    """The provider could not be asked (down, timed out)."""


def _deepgram_rest_base() -> str:
    """Deepgram's REST API root; DEEPGRAM_BASE_URL names the live endpoint (…/v1/listen)."""
    configured = getattr(settings, "DEEPGRAM_BASE_URL", "") or "https://api.deepgram.com/v1/listen"
    parts = urlsplit(configured)
    scheme = {"wss": "https", "ws": "http"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}"


def _elevenlabs_base() -> str:
    """The SDK wants the host; ELEVENLABS_BASE_URL is the plugin's …/v1."""
    configured = getattr(settings, "ELEVENLABS_BASE_URL", "") or "https://api.elevenlabs.io/v1"
    return configured.removesuffix("/").removesuffix("/v1")


def check_key(*, vendor: str, api_key: str, base_url: str = "") -> None:
    """One cheap authenticated call; raises KeyRefused or ProviderUnreachable."""
    try:
        if vendor == ProviderKeyVendor.OPENAI:
            import openai

            client = openai.OpenAI(
                api_key=api_key,
                base_url=base_url or getattr(settings, "OPENAI_BASE_URL", "") or None,
                timeout=CHECK_TIMEOUT_SECONDS,
                max_retries=0,
            )
            try:
                client.models.list()
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise KeyRefused(str(getattr(exc, "message", exc))) from exc
            except (openai.APIConnectionError, openai.APITimeoutError, openai.InternalServerError) as exc:
                raise ProviderUnreachable(str(exc)) from exc
        elif vendor == ProviderKeyVendor.DEEPGRAM:
            from deepgram import DeepgramClient
            from deepgram.core.api_error import ApiError
            from deepgram.environment import DeepgramClientEnvironment

            base = _deepgram_rest_base()
            environment = DeepgramClientEnvironment(
                base=base, production=base.replace("http", "ws", 1), agent=base, agent_rest=base
            )
            client = DeepgramClient(api_key=api_key, environment=environment, timeout=CHECK_TIMEOUT_SECONDS)
            try:
                client.manage.v1.projects.list()
            except ApiError as exc:
                if exc.status_code in (401, 403):
                    raise KeyRefused(f"HTTP {exc.status_code}") from exc
                raise ProviderUnreachable(f"HTTP {exc.status_code}") from exc
        elif vendor == ProviderKeyVendor.ELEVENLABS:
            from elevenlabs import ElevenLabs
            from elevenlabs.core.api_error import ApiError as ElevenLabsError

            client = ElevenLabs(api_key=api_key, base_url=_elevenlabs_base(), timeout=CHECK_TIMEOUT_SECONDS)
            try:
                client.user.get()
            except ElevenLabsError as exc:
                if exc.status_code in (401, 403):
                    raise KeyRefused(f"HTTP {exc.status_code}") from exc
                raise ProviderUnreachable(f"HTTP {exc.status_code}") from exc
        else:
            raise ValueError(vendor)
    except (KeyRefused, ProviderUnreachable):
        raise
    except Exception as exc:  # transport errors of the SDKs' HTTP clients
        raise ProviderUnreachable(f"{type(exc).__name__}: {exc}") from exc


def provider_key_save(*, customer: Customer, vendor: str, api_key: str, base_url: str = "") -> ProviderKey:
    """Checks the key with the provider, then stores it (replacing the previous one)."""
    label = VENDOR_LABELS.get(vendor)
    if label is None:
        raise NotFound(f"Unknown provider '{vendor}'; use one of: {', '.join(VENDOR_LABELS)}")
    api_key = (api_key or "").strip()
    if not api_key:
        raise ValidationFailed({"apiKey": ["This field is required."]})
    if base_url and vendor != ProviderKeyVendor.OPENAI:
        raise ValidationFailed({"baseUrl": [f"Only OpenAI-compatible keys take a base URL, not {label}"]})
    try:
        check_key(vendor=vendor, api_key=api_key, base_url=base_url)
    except KeyRefused as exc:
        raise BadRequest(f"{label} refused the key: {exc}")
    except ProviderUnreachable as exc:
        logger.warning("could not check a %s key: %s", vendor, exc)
        raise ServiceUnavailable(f"{label} could not be reached to check the key; please try again later")
    with transaction.atomic():
        key, _ = ProviderKey.objects.update_or_create(
            customer=customer,
            vendor=vendor,
            defaults={
                "api_key": api_key,
                "key_last4": crypto.last4(api_key),
                "base_url": base_url,
                "checked_at": timezone.now(),
            },
        )
    return key


@transaction.atomic
def provider_key_delete(*, customer: Customer, vendor: str) -> None:
    deleted, _ = ProviderKey.objects.filter(customer=customer, vendor=vendor).delete()
    if not deleted:
        raise NotFound(f"No {VENDOR_LABELS.get(vendor, vendor)} key is stored")


def elevenlabs_voices(*, customer_id) -> list[dict]:
    """The voices the customer's ElevenLabs key (or the platform's) can use, cached per key."""
    from .credentials import provider_credential

    credential = provider_credential(customer_id=customer_id, vendor="elevenlabs")
    if credential is None:
        raise ServiceUnavailable("No ElevenLabs key is configured: store one or ask the platform to set one")
    # Per key, never the key itself: a digest names the cache entry.
    cache_key = f"elevenlabs-voices:{hashlib.sha256(credential.api_key.encode()).hexdigest()[:32]}"
    voices = cache.get(cache_key)
    if voices is not None:
        return voices
    from elevenlabs import ElevenLabs
    from elevenlabs.core.api_error import ApiError as ElevenLabsError

    client = ElevenLabs(api_key=credential.api_key, base_url=_elevenlabs_base(), timeout=CHECK_TIMEOUT_SECONDS)
    try:
        response = client.voices.get_all()
    except ElevenLabsError as exc:
        if exc.status_code in (401, 403):
            raise BadRequest("ElevenLabs refused the key; store a valid one")
        raise ServiceUnavailable("ElevenLabs could not be reached; please try again later")
    except Exception:
        raise ServiceUnavailable("ElevenLabs could not be reached; please try again later")
    voices = [
        {"voiceId": v.voice_id, "name": v.name or "", "category": getattr(v, "category", None) or ""}
        for v in response.voices
    ]
    cache.set(cache_key, voices, getattr(settings, "ELEVENLABS_VOICES_CACHE_SECONDS", 600))
    return voices
