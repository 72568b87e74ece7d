"""Webhook fixtures; `livekit_server` and eager Celery come from the root conftest."""

import pytest

from telephony.tests.factories import PhoneNumberFactory

TWILIO_TOKEN = "twilio-auth-token-for-tests-0123456789abcdef"


@pytest.fixture(autouse=True)
def fresh_webhook_throttle():
    """Every test client calls from 127.0.0.1: start each test with an empty throttle history."""
    from django.core.cache import cache

    cache.delete("throttle_webhook_127.0.0.1")


@pytest.fixture(autouse=True)
def json_form_allowed_from_the_test_client(settings):
    """The JSON form answers only allowed sources; test clients call from 127.0.0.1.
    test_json_source.py covers the refusals."""
    settings.VOICE_WEBHOOK_ALLOWED_IPS = ["127.0.0.1/32"]
    settings.VOICE_WEBHOOK_SECRET = ""


@pytest.fixture
def voice_settings(settings, livekit_server):
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.LIVEKIT_SIP_URI = "sip:morpheus.sip.example.com;transport=tcp"
    settings.VOICE_AGENT_NAME = "morpheus-voice-agent"
    return settings


@pytest.fixture
def number(customer_a, voice_settings):
    from agents.tests.factories import AgentFactory

    agent = AgentFactory(customer=customer_a, name="Reception", max_duration_seconds=600)
    return PhoneNumberFactory(customer=customer_a, phone_number="+15551234567", agent=agent)
