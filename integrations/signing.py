"""Standard Webhooks signatures (https://www.standardwebhooks.com), with the reference
`standardwebhooks` package, so customers verify with any Standard Webhooks library:

    webhook-id:        evt_<32 hex>           (the same on every retry: dedupe on it)
    webhook-timestamp: <unix seconds of this attempt>
    webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">

During a secret rotation the new and the previous secret both sign, space-separated
(newest first): a verifier holding either secret accepts the message.
"""

from __future__ import annotations

import base64
import datetime
import secrets as _random

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(_random.token_bytes(32)).decode()


def signature_headers(*, message_id: str, timestamp: datetime.datetime, body: str, secrets: list[str]) -> dict:
    signatures = [Webhook(secret).sign(msg_id=message_id, timestamp=timestamp, data=body) for secret in secrets]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def previous_still_signing(previous: str, expires_at: datetime.datetime | None, now: datetime.datetime) -> str:
    """The one overlap rule of every rotated secret (webhook endpoints, custom functions):
    the previous secret keeps signing until its expiry, then never again."""
    return previous if previous and expires_at and expires_at > now else ""
