"""The JSON form of the voice webhooks is not anonymous: an allow-list or our HMAC (issue 13, finding 1)."""

import json
import time

import pytest
from django.core.management import call_command

from calls.models import Call
from telephony.webhooks.signatures import morpheus_signature
from testsupport.api import assert_bare, assert_error

pytestmark = pytest.mark.django_db

INBOUND = "/api/v1/webhooks/voice/inbound"
STATUS = "/api/v1/webhooks/voice/status"
BODY = json.dumps({"From": "+15550009999", "To": "+15551234567"})
SECRET = "voice-webhook-secret-for-tests"


def post(client, url=INBOUND, body=BODY, **headers):
    return client.post(url, body, content_type="application/json", **headers)


def signed(timestamp=None, secret=SECRET, body=BODY):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "HTTP_X_MORPHEUS_TIMESTAMP": timestamp,
        "HTTP_X_MORPHEUS_SIGNATURE": morpheus_signature(secret, timestamp, body.encode()),
    }


@pytest.fixture
def neither(settings):
    settings.VOICE_WEBHOOK_ALLOWED_IPS = []
    settings.VOICE_WEBHOOK_SECRET = ""


def refused(response, livekit_server):
    assert_error(response, 403, "Webhook source not allowed")
    assert Call.objects.count() == 0 and livekit_server.requests == []


def test_production_without_settings_refuses_the_form(api_client, number, livekit_server, neither, settings):
    settings.DEBUG = False
    refused(post(api_client), livekit_server)
    refused(post(api_client, STATUS, json.dumps({"CallSid": "x", "CallStatus": "completed"})), livekit_server)


def test_debug_without_settings_accepts_loopback_only(api_client, number, livekit_server, neither, settings):
    settings.DEBUG = True
    refused(post(api_client, REMOTE_ADDR="203.0.113.9"), livekit_server)
    assert assert_bare(post(api_client))["action"] == "connect"


def test_an_address_outside_the_allow_list_is_refused(api_client, number, livekit_server, settings):
    settings.VOICE_WEBHOOK_ALLOWED_IPS = ["10.0.0.0/8", "2001:db8::/32"]
    refused(post(api_client), livekit_server)
    refused(post(api_client, REMOTE_ADDR="11.0.0.1"), livekit_server)
    assert assert_bare(post(api_client, REMOTE_ADDR="10.1.2.3"))["action"] == "connect"


def test_the_allow_list_checks_the_address_resolved_with_num_proxies(api_client, number, livekit_server, settings):
    settings.VOICE_WEBHOOK_ALLOWED_IPS = ["10.0.0.0/8"]
    settings.NUM_PROXIES = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    # A forged left-most entry does not help; the proxy's own entry (the right-most) counts.
    refused(post(api_client, HTTP_X_FORWARDED_FOR="10.0.0.1, 198.51.100.7"), livekit_server)
    assert assert_bare(post(api_client, HTTP_X_FORWARDED_FOR="198.51.100.7, 10.0.0.1"))["action"] == "connect"


def test_a_valid_signature_is_accepted_from_anywhere(api_client, number, livekit_server, settings):
    settings.VOICE_WEBHOOK_ALLOWED_IPS = []
    settings.VOICE_WEBHOOK_SECRET = SECRET
    assert assert_bare(post(api_client, REMOTE_ADDR="203.0.113.9", **signed()))["action"] == "connect"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_X_MORPHEUS_SIGNATURE": "00" * 32, "HTTP_X_MORPHEUS_TIMESTAMP": "1"},
        "wrong-secret",
        "stale",
        "other-body",
        "no-timestamp",
    ],
)
def test_a_missing_wrong_or_stale_signature_is_refused(api_client, number, livekit_server, settings, headers):
    settings.VOICE_WEBHOOK_ALLOWED_IPS = []
    settings.VOICE_WEBHOOK_SECRET = SECRET
    if headers == "wrong-secret":
        headers = signed(secret="another-secret")
    elif headers == "stale":
        headers = signed(timestamp=int(time.time()) - 301)
    elif headers == "other-body":
        headers = signed(body=json.dumps({"From": "+15550000000", "To": "+15551234567"}))
    elif headers == "no-timestamp":
        headers = {"HTTP_X_MORPHEUS_SIGNATURE": signed()["HTTP_X_MORPHEUS_SIGNATURE"]}
    refused(post(api_client, REMOTE_ADDR="203.0.113.9", **headers), livekit_server)


def test_the_deploy_check_warns_when_the_form_is_refused(settings, capsys):
    from telephony.checks import voice_webhook_source_check

    settings.VOICE_WEBHOOK_ALLOWED_IPS, settings.VOICE_WEBHOOK_SECRET = [], ""
    [warning] = voice_webhook_source_check(None)
    assert warning.id == "telephony.W001" and "Webhook source not allowed" in warning.msg
    settings.VOICE_WEBHOOK_SECRET = SECRET
    assert voice_webhook_source_check(None) == []
    settings.VOICE_WEBHOOK_SECRET, settings.VOICE_WEBHOOK_ALLOWED_IPS = "", ["10.0.0.0/8"]
    call_command("check", "--deploy", "--tag", "security")  # registered: raises nothing at WARNING
    assert "telephony.W001" not in capsys.readouterr().err
