"""Bring your own keys: checked with the vendors' official SDKs against local stand-ins that
speak their APIs, stored encrypted, write-only, owner/admin only, per tenant; the voice
worker's credential lookup returns the customer's key first; ElevenLabs voices listed
(cached) and checked on agent saves; the rotation command re-encrypts them."""

import io

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection

from agents.models import TTSProvider
from agents.tests.factories import AgentFactory
from tenants.credentials import provider_credential, provider_credentials
from tenants.models import ProviderKey
from testsupport.api import assert_error, assert_success
from testsupport.voice_providers import DeepgramServer, ElevenLabsServer, OpenAIServer

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/me/provider-credentials"
VOICES = "/api/v1/providers/elevenlabs/voices"


@pytest.fixture
def stand_ins(settings):
    with (
        OpenAIServer(api_key="sk-customer-1234") as openai,
        DeepgramServer(api_key="dg-customer-5678") as deepgram,
        ElevenLabsServer(api_key="el-customer-9012") as elevenlabs,
    ):
        settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = "sk-platform", ""
        settings.DEEPGRAM_API_KEY, settings.DEEPGRAM_BASE_URL = "dg-platform", deepgram.listen_url
        settings.ELEVENLABS_API_KEY, settings.ELEVENLABS_BASE_URL = "", elevenlabs.base_url
        cache.clear()
        yield openai, deepgram, elevenlabs


def stored_ciphertext(key: ProviderKey) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT api_key FROM {ProviderKey._meta.db_table} WHERE id = %s", [key.pk])
        return cursor.fetchone()[0]


def test_an_owner_stores_each_vendors_key_checked_encrypted_and_never_shown(alice_client, customer_a, stand_ins):
    openai, deepgram, elevenlabs = stand_ins
    bodies = {
        "openai": {"apiKey": "sk-customer-1234", "baseUrl": openai.base_url},
        "deepgram": {"apiKey": "dg-customer-5678"},
        "elevenlabs": {"apiKey": "el-customer-9012"},
    }
    for vendor, body in bodies.items():
        data = assert_success(
            alice_client.put(f"{URL}/{vendor}", body, format="json"), 200, "Provider credential saved"
        )
        assert data["vendor"] == vendor and data["keyLast4"] == body["apiKey"][-4:]
        assert "apiKey" not in data and body["apiKey"] not in str(data)

    listing = assert_success(alice_client.get(URL), 200, "Provider credentials retrieved")
    assert [(c["vendor"], c["keyLast4"]) for c in listing["credentials"]] == [
        ("deepgram", "5678"),
        ("elevenlabs", "9012"),
        ("openai", "1234"),
    ]
    key = ProviderKey.objects.get(customer=customer_a, vendor="deepgram")
    assert key.api_key == "dg-customer-5678" and "dg-customer" not in stored_ciphertext(key)
    # The worker and every other caller now get the customer's key first, the platform's after.
    assert [c.source for c in provider_credentials(customer_id=customer_a.pk, vendor="deepgram")] == [
        "customer",
        "platform",
    ]
    openai_key = provider_credential(customer_id=customer_a.pk, vendor="openai")
    assert (openai_key.api_key, openai_key.base_url, openai_key.source) == (
        "sk-customer-1234",
        openai.base_url,
        "customer",
    )


@pytest.mark.parametrize("vendor", ["openai", "deepgram", "elevenlabs"])
def test_a_refused_key_is_a_clear_400_and_nothing_is_stored(alice_client, customer_a, stand_ins, vendor):
    openai = stand_ins[0]
    body = {"apiKey": "revoked-key-0000"}
    if vendor == "openai":
        body["baseUrl"] = openai.base_url
    labels = {"openai": "OpenAI", "deepgram": "Deepgram", "elevenlabs": "ElevenLabs"}
    response = alice_client.put(f"{URL}/{vendor}", body, format="json")
    body = assert_error(response, 400)
    assert body["message"].startswith(f"{labels[vendor]} refused the key")
    assert not ProviderKey.objects.filter(customer=customer_a).exists()


def test_an_unreachable_provider_is_a_503(alice_client, customer_a, settings):
    settings.DEEPGRAM_BASE_URL = "http://127.0.0.1:9/v1/listen"
    response = alice_client.put(f"{URL}/deepgram", {"apiKey": "dg-anything"}, format="json")
    assert_error(response, 503, "Deepgram could not be reached to check the key; please try again later")
    assert not ProviderKey.objects.exists()


def test_bad_input_is_refused(alice_client, stand_ins):
    assert_error(alice_client.put(f"{URL}/deepgram", {}, format="json"), 400, fields=["apiKey"])
    assert_error(alice_client.put(f"{URL}/anthropic", {"apiKey": "x"}, format="json"), 404)
    response = alice_client.put(
        f"{URL}/deepgram", {"apiKey": "dg-customer-5678", "baseUrl": "https://x.test"}, format="json"
    )
    assert_error(response, 400, fields=["baseUrl"])


def test_members_cannot_see_or_set_keys(charlie_client, stand_ins):
    assert_error(charlie_client.get(URL), 403)
    assert_error(charlie_client.put(f"{URL}/deepgram", {"apiKey": "dg-customer-5678"}, format="json"), 403)


def test_another_tenants_keys_are_neither_listed_nor_used_nor_removable(
    alice_client, bob_client, customer_a, customer_b, stand_ins
):
    assert_success(alice_client.put(f"{URL}/deepgram", {"apiKey": "dg-customer-5678"}, format="json"), 200)

    assert assert_success(bob_client.get(URL), 200)["credentials"] == []
    assert_error(bob_client.delete(f"{URL}/deepgram"), 404, "No Deepgram key is stored")
    assert ProviderKey.objects.filter(customer=customer_a).count() == 1
    assert provider_credential(customer_id=customer_b.pk, vendor="deepgram").source == "platform"

    assert_success(alice_client.delete(f"{URL}/deepgram"), 200, "Provider credential deleted")
    assert not ProviderKey.objects.exists()


def test_the_elevenlabs_voices_of_the_customers_key_are_listed_and_cached(alice_client, bob_client, stand_ins):
    elevenlabs = stand_ins[2]
    assert_error(bob_client.get(VOICES), 503)  # no key of its own, no platform key
    assert_success(alice_client.put(f"{URL}/elevenlabs", {"apiKey": "el-customer-9012"}, format="json"), 200)

    data = assert_success(alice_client.get(VOICES), 200, "Voices retrieved")
    assert [(v["voiceId"], v["name"]) for v in data["voices"]] == [("voice-rachel", "Rachel"), ("voice-adam", "Adam")]
    assert_success(alice_client.get(VOICES), 200)
    assert elevenlabs.voice_list_requests == 1  # the second answer came from the cache
    assert_error(bob_client.get(VOICES), 503)  # alice's key serves only alice


def test_agent_saves_reject_a_voice_the_customers_elevenlabs_key_does_not_have(alice_client, customer_a, stand_ins):
    assert_success(alice_client.put(f"{URL}/elevenlabs", {"apiKey": "el-customer-9012"}, format="json"), 200)
    agent = AgentFactory(customer=customer_a)
    elevenlabs = TTSProvider.objects.get(vendor="elevenlabs")
    body = {"ttsProviderId": elevenlabs.pk, "voiceId": "voice-nobody"}
    response = alice_client.patch(f"/api/v1/agents/{agent.pk}", body, format="json")
    assert_error(response, 400, fields=["voiceId"])
    body["voiceId"] = "voice-adam"
    data = assert_success(alice_client.patch(f"/api/v1/agents/{agent.pk}", body, format="json"), 200)
    assert data["voiceId"] == "voice-adam"


def test_rotating_the_encryption_keys_re_encrypts_stored_provider_keys(settings, customer_a):
    from cryptography.fernet import Fernet

    from morpheus import crypto

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    key = ProviderKey.objects.create(
        customer=customer_a, vendor="openai", api_key="sk-rotate-me", key_last4="e-me", checked_at="2026-01-01T00:00Z"
    )
    before = stored_ciphertext(key)

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_encryption_keys", stdout=io.StringIO())
    after = stored_ciphertext(key)

    assert after != before
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key can go: everything reads with the new one
    assert crypto.decrypt(after) == "sk-rotate-me"
    assert ProviderKey.objects.get(pk=key.pk).api_key == "sk-rotate-me"
