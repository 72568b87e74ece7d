"""Proof that a webhook comes from the carrier: Twilio's HMAC, Telnyx's Ed25519.

A carrier whose secret is not configured is refused outright (403), never trusted.
"""

import base64
import binascii
import time

from django.conf import settings
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import VerifyKey
from rest_framework.exceptions import PermissionDenied
from twilio.request_validator import RequestValidator, get_signature_algorithm

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
