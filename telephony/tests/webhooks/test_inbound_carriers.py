"""POST /webhooks/voice/inbound from Twilio (TwiML) and Telnyx (TeXML), signatures and all."""

import json
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from twilio.request_validator import RequestValidator

from agents.models import AgentStatus
from calls.models import Call, CallStatus
from telephony.livekit_sip import room_for_sip_user
from testsupport.api import assert_error

from .carriers import BASE, Telnyx, parse_xml, twilio_call_params, twilio_post
from .conftest import TWILIO_TOKEN

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/voice/inbound"
STATUS_URL = f"{BASE}/api/v1/webhooks/voice/status"


def assert_connects(root, call, *, time_limit: int):
    """TwiML that bridges the caller into the call's LiveKit room over SIP."""
    [dial] = list(root)
    assert dial.tag == "Dial"
    assert dial.attrib == {
        "action": STATUS_URL,
        "method": "POST",
        "timeLimit": str(time_limit),
        "referUrl": f"{BASE}/api/v1/webhooks/voice/transfer",
    }
    [sip] = list(dial)
    assert sip.tag == "Sip"
    uri = urlsplit(sip.text)
    assert uri.scheme == "sip"
    user, host_and_params = uri.path.split("@")
    assert host_and_params == "morpheus.sip.example.com;transport=tcp"
    # What LiveKit's callee dispatch rule (prefix "call-") makes of the SIP user: our room.
    assert room_for_sip_user(user) == call.room_name
    assert parse_qs(uri.query) == {"X-Morpheus-Call-Id": [str(call.id)]}


# --- Twilio -----------------------------------------------------------------------


def test_twilio_gets_twiml_that_dials_the_calls_room(
    api_client, number, livekit_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = twilio_post(api_client, URL, twilio_call_params())

    call = Call.objects.get()
    assert_connects(parse_xml(response), call, time_limit=600)
    assert call.carrier == "twilio" and call.carrier_call_id == "CA" + "a" * 32
    assert call.status == CallStatus.RINGING and call.agent == number.agent
    assert call.room_name in livekit_server.rooms
    [dispatch] = livekit_server.dispatches_in(call.room_name)
    assert json.loads(dispatch.metadata)["callId"] == call.id


def test_a_twilio_retry_gets_the_same_room_and_creates_nothing(
    api_client, number, livekit_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = twilio_post(api_client, URL, twilio_call_params())
    with django_capture_on_commit_callbacks(execute=True):
        second = twilio_post(api_client, URL, twilio_call_params())
    assert second.content == first.content
    assert Call.objects.count() == 1
    assert len(livekit_server.requests_for("CreateRoom")) == 1
    assert len(livekit_server.dispatches_in(Call.objects.get().room_name)) == 1


def test_twilio_signatures_with_sha256_settings_are_accepted(api_client, number):
    params = twilio_call_params()
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{BASE}{URL}", params, "HMAC_SHA256")
    response = twilio_post(
        api_client,
        URL,
        params,
        signature=signature,
        HTTP_X_TWILIO_WEBHOOKS_SIGNATURE_SETTINGS="key=webhooks_sharedkey_1,algorithm=HMAC_SHA256",
    )
    assert_connects(parse_xml(response), Call.objects.get(), time_limit=600)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda p: {"signature": "bm90IGEgc2lnbmF0dXJl"}, id="garbage"),
        pytest.param(lambda p: {"signature": ""}, id="empty"),
        pytest.param(lambda p: {"token": "someone-elses-auth-token-0123456789"}, id="other-account"),
        pytest.param(
            lambda p: {"signature": RequestValidator(TWILIO_TOKEN).compute_signature(f"{BASE}/other/url", p)},
            id="signed-for-another-url",
        ),
    ],
)
def test_a_forged_twilio_signature_is_403_and_nothing_is_created(api_client, number, livekit_server, forge):
    response = twilio_post(api_client, URL, twilio_call_params(), **forge(twilio_call_params()))
    assert_error(response, 403, "Invalid webhook signature")
    assert Call.objects.count() == 0 and livekit_server.requests == []


def test_tampered_parameters_break_the_twilio_signature(api_client, number, customer_a, livekit_server):
    signed = twilio_call_params(To="+15557654321")
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{BASE}{URL}", signed)
    response = twilio_post(api_client, URL, twilio_call_params(), signature=signature)
    assert_error(response, 403, "Invalid webhook signature")
    assert Call.objects.count() == 0


def test_twilio_is_refused_when_its_auth_token_is_not_configured(api_client, number, settings, livekit_server):
    settings.TWILIO_AUTH_TOKEN = ""
    assert_error(twilio_post(api_client, URL, twilio_call_params()), 403, "Twilio webhooks are not configured")
    assert Call.objects.count() == 0 and livekit_server.requests == []


def test_a_form_post_without_a_signature_is_refused(api_client, number, livekit_server):
    response = api_client.post(URL, urlencode(twilio_call_params()), content_type="application/x-www-form-urlencoded")
    assert_error(response, 403, "Missing webhook signature")
    assert Call.objects.count() == 0 and livekit_server.requests == []


def test_twilio_is_rejected_for_an_unknown_number(api_client, number, livekit_server):
    root = parse_xml(twilio_post(api_client, URL, twilio_call_params(To="+15557654321", Called="+15557654321")))
    [reject] = list(root)
    assert reject.tag == "Reject" and reject.attrib == {"reason": "rejected"}
    assert Call.objects.count() == 0 and livekit_server.requests == []


def test_twilio_is_rejected_for_an_unroutable_to(api_client, number, livekit_server):
    root = parse_xml(twilio_post(api_client, URL, twilio_call_params(To="sip:reception@pbx.example.com")))
    assert [child.tag for child in root] == ["Reject"]
    assert Call.objects.count() == 0


def test_twilio_hears_a_polite_goodbye_when_the_agent_is_paused(api_client, number, livekit_server):
    number.agent.status = AgentStatus.PAUSED
    number.agent.save()
    root = parse_xml(twilio_post(api_client, URL, twilio_call_params()))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert "cannot take calls right now" in root[0].text
    assert Call.objects.count() == 0 and livekit_server.requests == []


def test_a_malformed_twilio_request_is_a_400(api_client, number):
    params = twilio_call_params()
    del params["From"]
    assert_error(twilio_post(api_client, URL, params), 400, "Validation failed", fields=["From"])
    assert Call.objects.count() == 0


def test_twilio_gets_a_503_when_livekit_sip_is_not_configured(api_client, number, settings, livekit_server):
    settings.LIVEKIT_SIP_URI = ""
    assert_error(twilio_post(api_client, URL, twilio_call_params()), 503, "Voice service is not configured")
    assert Call.objects.count() == 0 and livekit_server.requests == []


def test_twilio_gets_a_503_when_livekit_is_down(api_client, number, livekit_server):
    livekit_server.stop()
    response = twilio_post(api_client, URL, twilio_call_params())
    assert_error(response, 503, "Voice service is unavailable, please try again later")
    assert list(Call.objects.values_list("status", "end_reason")) == [("failed", "error")]


# --- Telnyx TeXML -----------------------------------------------------------------


@pytest.fixture
def telnyx(settings):
    account = Telnyx()
    settings.TELNYX_PUBLIC_KEY = account.public_key
    return account


def telnyx_params(**overrides) -> dict:
    params = {
        "AccountSid": "a0b1c2d3-0000-4000-8000-000000000001",
        "CallSid": "v3:telnyx-call-control-id-1",
        "CallStatus": "ringing",
        "Direction": "inbound",
        "From": "+15550009999",
        "To": "+15551234567",
    }
    params.update(overrides)
    return params


def test_telnyx_form_posts_get_texml_that_dials_the_room(
    api_client, number, telnyx, livekit_server, django_capture_on_commit_callbacks
):
    body = urlencode(telnyx_params()).encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = telnyx.post(api_client, URL, body, "application/x-www-form-urlencoded")
    call = Call.objects.get()
    assert_connects(parse_xml(response), call, time_limit=600)
    assert call.carrier == "telnyx" and call.carrier_call_id == "v3:telnyx-call-control-id-1"
    assert len(livekit_server.dispatches_in(call.room_name)) == 1


def test_telnyx_json_posts_are_accepted(api_client, number, telnyx):
    body = json.dumps(telnyx_params()).encode()
    response = telnyx.post(api_client, URL, body, "application/json")
    assert_connects(parse_xml(response), Call.objects.get(), time_limit=600)


def test_a_telnyx_retry_is_idempotent(api_client, number, telnyx, livekit_server):
    body = urlencode(telnyx_params()).encode()
    first = telnyx.post(api_client, URL, body, "application/x-www-form-urlencoded")
    second = telnyx.post(api_client, URL, body, "application/x-www-form-urlencoded")
    assert first.content == second.content and Call.objects.count() == 1


@pytest.mark.parametrize(
    ("make_headers", "message"),
    [
        pytest.param(lambda t, b: Telnyx().headers(b), "Invalid webhook signature", id="another-key"),
        pytest.param(
            lambda t, b: {**t.headers(b), "HTTP_TELNYX_SIGNATURE_ED25519": "%%%"},
            "Invalid webhook signature",
            id="not-base64",
        ),
        pytest.param(lambda t, b: t.headers(b + b"&To=%2B15557654321"), "Invalid webhook signature", id="body-changed"),
        pytest.param(
            lambda t, b: {k: v for k, v in t.headers(b).items() if k != "HTTP_TELNYX_TIMESTAMP"},
            "Invalid webhook signature",
            id="no-timestamp",
        ),
        pytest.param(
            lambda t, b: t.headers(b, timestamp=int(time.time()) - 301),
            "Webhook timestamp is outside the allowed tolerance",
            id="replayed",
        ),
        pytest.param(
            lambda t, b: {**t.headers(b), "HTTP_TELNYX_TIMESTAMP": str(int(time.time()) + 1)},
            "Invalid webhook signature",
            id="timestamp-swapped",
        ),
    ],
)
def test_a_bad_telnyx_signature_is_403_and_nothing_is_created(
    api_client, number, telnyx, livekit_server, make_headers, message
):
    body = urlencode(telnyx_params()).encode()
    response = telnyx.post(
        api_client, URL, body, "application/x-www-form-urlencoded", headers=make_headers(telnyx, body)
    )
    assert_error(response, 403, message)
    assert Call.objects.count() == 0 and livekit_server.requests == []


def test_telnyx_is_refused_when_its_public_key_is_not_configured(api_client, number, telnyx, settings):
    settings.TELNYX_PUBLIC_KEY = ""
    body = urlencode(telnyx_params()).encode()
    response = telnyx.post(api_client, URL, body, "application/x-www-form-urlencoded")
    assert_error(response, 403, "Telnyx webhooks are not configured")
    assert Call.objects.count() == 0


def test_telnyx_is_rejected_for_an_unknown_number(api_client, number, telnyx):
    body = urlencode(telnyx_params(To="+15557654321")).encode()
    root = parse_xml(telnyx.post(api_client, URL, body, "application/x-www-form-urlencoded"))
    assert [child.tag for child in root] == ["Reject"]
    assert Call.objects.count() == 0
