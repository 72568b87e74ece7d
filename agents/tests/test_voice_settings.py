"""An agent's voice settings through the API: stored complete, merged on update, every bad
value refused by name with nothing changed, fallback providers checked."""

import pytest

from agents import voice_settings as vs
from agents.models import Agent, LLMProvider, STTProvider, TTSProvider
from agents.tests.factories import AgentFactory
from testsupport.api import assert_error, assert_success

pytestmark = pytest.mark.django_db

URL = "/api/v1/agents"


@pytest.fixture
def keys(settings):
    settings.OPENAI_API_KEY = "sk-platform"
    settings.DEEPGRAM_API_KEY = "dg-platform"
    settings.ELEVENLABS_API_KEY = ""
    return settings


def test_a_new_agent_shows_every_setting_at_its_default(alice_client):
    data = assert_success(alice_client.post(URL, {"name": "Ava"}, format="json"), 201, "Agent created successfully")
    assert data["voiceSettings"] == vs.DEFAULTS
    assert data["voiceSettings"]["turnDetection"] == "model"


def test_an_update_changes_only_the_settings_sent(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a)
    body = {"voiceSettings": {"turnDetection": "stt", "endpointingMinDelay": 0.2, "interruptionMinWords": 2}}
    data = assert_success(
        alice_client.patch(f"{URL}/{agent.id}", body, format="json"), 200, "Agent updated successfully"
    )
    assert data["voiceSettings"] == {
        **vs.DEFAULTS,
        "turnDetection": "stt",
        "endpointingMinDelay": 0.2,
        "interruptionMinWords": 2,
    }
    body = {"voiceSettings": {"thinkingSound": "keyboard-typing", "falseInterruptionTimeout": None}}
    data = assert_success(alice_client.patch(f"{URL}/{agent.id}", body, format="json"), 200)
    assert data["voiceSettings"]["turnDetection"] == "stt"  # kept
    assert data["voiceSettings"]["thinkingSound"] == "keyboard-typing"
    assert data["voiceSettings"]["falseInterruptionTimeout"] is None
    assert Agent.objects.get(pk=agent.pk).voice_settings == data["voiceSettings"]


@pytest.mark.parametrize(
    "settings_, field",
    [
        ({"turnDetection": "cloud"}, "voiceSettings.turnDetection"),
        ({"endpointingMinDelay": -1}, "voiceSettings.endpointingMinDelay"),
        ({"endpointingMinDelay": 2.0, "endpointingMaxDelay": 1.0}, "voiceSettings.endpointingMaxDelay"),
        ({"interruptionMinWords": 1.5}, "voiceSettings.interruptionMinWords"),
        ({"resumeFalseInterruption": "yes"}, "voiceSettings.resumeFalseInterruption"),
        ({"providerTimeoutSeconds": 0}, "voiceSettings.providerTimeoutSeconds"),
        ({"thinkingSound": "elevator.mp3"}, "voiceSettings.thinkingSound"),
        ({"silenceReprompts": 9}, "voiceSettings.silenceReprompts"),
        ({"bargeIn": True}, "voiceSettings.bargeIn"),
        ({"fallbackProviders": {"llm": "2"}}, "voiceSettings.fallbackProviders.llm"),
        ({"fallbackProviders": {"video": []}}, "voiceSettings.fallbackProviders.video"),
    ],
)
def test_bad_settings_are_refused_by_name_and_change_nothing(alice_client, customer_a, settings_, field):
    agent = AgentFactory(customer=customer_a)
    before = Agent.objects.get(pk=agent.pk).voice_settings
    response = alice_client.patch(f"{URL}/{agent.id}", {"voiceSettings": settings_}, format="json")
    assert_error(response, 400, fields=[field])
    assert Agent.objects.get(pk=agent.pk).voice_settings == before


def test_fallback_providers_must_exist_play_the_role_and_have_credentials(alice_client, customer_a, keys):
    agent = AgentFactory(customer=customer_a)
    backup_llm = LLMProvider.objects.create(name="Backup", vendor="openai", default_model="gpt-4o-mini")
    elevenlabs = TTSProvider.objects.get(vendor="elevenlabs")
    deepgram = STTProvider.objects.get(vendor="deepgram")
    disabled = LLMProvider.objects.create(name="Old", vendor="openai", default_model="x", is_active=False)

    cases = [
        ({"llm": [9999]}, "voiceSettings.fallbackProviders.llm", "LLM provider with ID 9999 does not exist"),
        (
            {"llm": [disabled.pk]},
            "voiceSettings.fallbackProviders.llm",
            f"LLM provider Old (ID {disabled.pk}) is not active",
        ),
        (
            {"tts": [elevenlabs.pk]},
            "voiceSettings.fallbackProviders.tts",
            "TTS provider ElevenLabs has no credentials: store a elevenlabs key or set ELEVENLABS_API_KEY",
        ),
    ]
    for fallbacks, field, message in cases:
        response = alice_client.patch(
            f"{URL}/{agent.id}", {"voiceSettings": {"fallbackProviders": fallbacks}}, format="json"
        )
        body = assert_error(response, 400, fields=[field])
        assert body["errors"][0]["message"] == message

    body = {"voiceSettings": {"fallbackProviders": {"llm": [backup_llm.pk], "stt": [deepgram.pk]}}}
    data = assert_success(alice_client.patch(f"{URL}/{agent.id}", body, format="json"), 200)
    assert data["voiceSettings"]["fallbackProviders"] == {"llm": [backup_llm.pk], "stt": [deepgram.pk], "tts": []}
