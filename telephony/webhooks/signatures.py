"""Proof that a webhook comes from the carrier: Twilio's HMAC, Telnyx's Ed25519, and for
the generic JSON form an address allow-list or our own HMAC (X-Morpheus-Signature).

A carrier whose secret is not configured is refused outright (403), never trusted.
"""

import base64
import binascii
import hashlib
import hmac
import ipaddress
import time

from django.conf import settings
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import VerifyKey
from rest_framework.exceptions import PermissionDenied
from twilio.request_validator import RequestValidator, get_signature_algorithm

from morpheus.api.request_info import client_ip
from tenants.ip_rules import ip_allowed

TWILIO_SIGNATURE = "X-Twilio-Signature"
TWILIO_SIGNATURE_SETTINGS = "X-Twilio-Webhooks-Signature-Settings"
TELNYX_SIGNATURE = "telnyx-signature-ed25519"
TELNYX_TIMESTAMP = "telnyx-timestamp"

INVALID_SIGNATURE = "Invalid webhook signature"
MISSING_SIGNATURE = "Missing webhook signature"


class WebhookForbidden(PermissionDenied):
    pass


def verify_twilio(request, params) -> None:
    """X-Twilio-Signature: HMAC of the full URL Twilio requested plus the sorted POST params."""
    token = settings.TWILIO_AUTH_TOKEN
    if not token:
        raise WebhookForbidden("Twilio webhooks are not configured")
    signature = request.headers.get(TWILIO_SIGNATURE, "")
    algorithm = get_signature_algorithm(request.headers.get(TWILIO_SIGNATURE_SETTINGS))
    # The URL as Twilio saw it: behind a proxy this relies on ALLOWED_HOSTS and
    # SECURE_PROXY_SSL_HEADER giving Django the public scheme and host.
    url = request.build_absolute_uri()
    if not signature or not RequestValidator(token).validate(url, params, signature, algorithm):
        raise WebhookForbidden(INVALID_SIGNATURE)


def verify_telnyx(request, body: bytes) -> None:
    """telnyx-signature-ed25519: Ed25519 over `<telnyx-timestamp>|<raw body>`, with the
    timestamp within TELNYX_TIMESTAMP_TOLERANCE_SECONDS of now (replay protection)."""
    public_key = settings.TELNYX_PUBLIC_KEY
    if not public_key:
        raise WebhookForbidden("Telnyx webhooks are not configured")
    timestamp = request.headers.get(TELNYX_TIMESTAMP, "")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookForbidden(INVALID_SIGNATURE)
    if abs(time.time() - sent_at) > settings.TELNYX_TIMESTAMP_TOLERANCE_SECONDS:
        raise WebhookForbidden("Webhook timestamp is outside the allowed tolerance")
    try:
        signature = base64.b64decode(request.headers.get(TELNYX_SIGNATURE, ""), validate=True)
        VerifyKey(base64.b64decode(public_key)).verify(timestamp.encode() + b"|" + body, signature)
    except (BadSignatureError, CryptoError, binascii.Error, ValueError, TypeError):
        raise WebhookForbidden(INVALID_SIGNATURE)


# --- The generic JSON form (SIP integrations): an allow-list or our own HMAC ------------

MORPHEUS_SIGNATURE = "X-Morpheus-Signature"
MORPHEUS_TIMESTAMP = "X-Morpheus-Timestamp"
SOURCE_NOT_ALLOWED = "Webhook source not allowed"


def morpheus_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of `<timestamp>.<raw body>`, what X-Morpheus-Signature carries."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _signed_by_us(request, body: bytes) -> bool:
    secret = settings.VOICE_WEBHOOK_SECRET
    signature = request.headers.get(MORPHEUS_SIGNATURE, "").strip().removeprefix("sha256=")
    timestamp = request.headers.get(MORPHEUS_TIMESTAMP, "").strip()
    if not secret or not signature or not timestamp.isdigit():
        return False
    if abs(time.time() - int(timestamp)) > settings.VOICE_WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(morpheus_signature(secret, timestamp, body), signature)


def _loopback(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return address.is_loopback or bool(address.version == 6 and address.ipv4_mapped and address.ipv4_mapped.is_loopback)


def verify_json_source(request, body: bytes) -> None:
    """The unsigned-by-a-carrier JSON form creates calls and rooms, so it is not public:
    a valid X-Morpheus-Signature, or a client address in VOICE_WEBHOOK_ALLOWED_IPS. With
    neither configured, DEBUG accepts loopback only and production refuses the form."""
    if _signed_by_us(request, body):
        return
    allowed = settings.VOICE_WEBHOOK_ALLOWED_IPS
    ip = client_ip(request)
    if allowed and ip_allowed(allowed, ip):
        return
    if not allowed and not settings.VOICE_WEBHOOK_SECRET and settings.DEBUG and _loopback(ip):
        return
    raise WebhookForbidden(SOURCE_NOT_ALLOWED)
