"""Carrier requests as Twilio and Telnyx send them, signed with their real schemes."""

import base64
import time
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

from nacl.signing import SigningKey
from twilio.request_validator import RequestValidator

from .conftest import TWILIO_TOKEN

BASE = "http://testserver"


def twilio_call_params(**overrides) -> dict:
    params = {
        "AccountSid": "AC" + "1" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": "CA" + "a" * 32,
        "CallStatus": "ringing",
        "Called": "+15551234567",
        "Caller": "+15550009999",
        "Direction": "inbound",
        "From": "+15550009999",
        "FromCountry": "US",
        "To": "+15551234567",
        "ToCountry": "US",
    }
    params.update(overrides)
    return params


def twilio_post(client, path: str, params: dict, *, token: str = TWILIO_TOKEN, signature: str | None = None, **extra):
    """Posts like Twilio: form-encoded, X-Twilio-Signature computed by twilio's own validator."""
    if signature is None:
        signature = RequestValidator(token).compute_signature(f"{BASE}{path}", params)
    return client.post(
        path,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
        **extra,
    )


class Telnyx:
    """A Telnyx account: its Ed25519 key pair; the public half goes to TELNYX_PUBLIC_KEY."""

    def __init__(self):
        self.signing_key = SigningKey.generate()

    @property
    def public_key(self) -> str:
        return base64.b64encode(bytes(self.signing_key.verify_key)).decode()

    def headers(self, body: bytes, *, timestamp: int | None = None) -> dict:
        timestamp = int(time.time()) if timestamp is None else timestamp
        signed = self.signing_key.sign(f"{timestamp}|".encode() + body).signature
        return {
            "HTTP_TELNYX_SIGNATURE_ED25519": base64.b64encode(signed).decode(),
            "HTTP_TELNYX_TIMESTAMP": str(timestamp),
        }

    def post(self, client, path: str, body: bytes, content_type: str, *, timestamp=None, headers=None):
        return client.post(
            path, body, content_type=content_type, **(headers or self.headers(body, timestamp=timestamp))
        )


def parse_xml(response) -> ET.Element:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml"), response["Content-Type"]
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    return root
