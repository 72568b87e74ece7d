import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.catalogue import OPENAI_VOICES
from agents.models import LLMProvider, STTProvider, TTSProvider
from testsupport.api import assert_error, assert_success

pytestmark = pytest.mark.django_db

URL = "/api/v1/providers"


def test_it_lists_the_default_catalogue(alice_client):
    data = assert_success(alice_client.get(URL), 200, "Providers retrieved successfully")
    assert set(data) == {"llm", "stt", "tts"}
    assert data["llm"] == [
        {
            "id": 1,
            "name": "OpenAI",
            "vendor": "openai",
            "defaultModel": "gpt-4o-mini",
            "models": ["gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano"],
        }
    ]
    assert [(p["id"], p["name"], p["vendor"]) for p in data["stt"]] == [
        (1, "Deepgram", "deepgram"),
        (2, "OpenAI", "openai"),
    ]
    openai_tts, elevenlabs = data["tts"]
    assert (openai_tts["id"], openai_tts["vendor"], openai_tts["defaultVoice"]) == (1, "openai", "alloy")
    assert openai_tts["voices"] == OPENAI_VOICES and "echo" in openai_tts["voices"]
    assert (elevenlabs["id"], elevenlabs["vendor"], elevenlabs["voices"]) == (2, "elevenlabs", [])
    assert set(elevenlabs) == {"id", "name", "vendor", "defaultModel", "models", "defaultVoice", "voices"}


def test_inactive_providers_are_not_offered(alice_client):
    TTSProvider.objects.filter(pk=2).update(is_active=False)
    data = assert_success(alice_client.get(URL))
    assert [p["id"] for p in data["tts"]] == [1]


def test_members_and_platform_admins_can_read_it(charlie_client, platform_admin_client):
    assert_success(charlie_client.get(URL), 200, "Providers retrieved successfully")
    assert_success(platform_admin_client.get(URL), 200, "Providers retrieved successfully")


def test_it_requires_authentication(api_client):
    assert_error(api_client.get(URL), 401)


def test_it_keeps_a_constant_query_count_as_the_catalogue_grows(alice_client):
    with CaptureQueriesContext(connection) as few:
        assert_success(alice_client.get(URL))
    for index in range(5):
        LLMProvider.objects.create(name=f"Local {index}", vendor="openai", default_model="llama3")
        STTProvider.objects.create(name=f"STT {index}", vendor="deepgram", default_model="nova-3")
        TTSProvider.objects.create(name=f"TTS {index}", vendor="openai", default_model="tts-1", default_voice="alloy")
    with CaptureQueriesContext(connection) as many:
        data = assert_success(alice_client.get(URL))
    assert len(data["llm"]) == 6
    assert len(many) == len(few)
