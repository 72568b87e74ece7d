"""Custom functions: the agent calls the customer's HTTPS endpoint and reads its JSON answer.

Each call is a POST of `{"function", "arguments", "call"}` as JSON, signed so the endpoint
can tell it came from us and was not replayed:

    X-Morpheus-Timestamp: <unix seconds>
    X-Morpheus-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>." + raw body, keyed by
                          the customer's signing secret>
                          During the 24 h after a rotation both the new and the previous
                          secret sign: "sha256=<new>,sha256=<previous>" (newest first).

Whatever goes wrong — a timeout, a refused connection, a non-2xx status, a body that is
not JSON or is too large — becomes a `FunctionCallError` whose message is meant for the
model, so the agent can tell the caller instead of the call failing. Endpoints must be
public HTTPS hosts: plain HTTP, redirects and private, loopback or link-local addresses
are refused (the worker runs inside our network), except when
`VOICE_FUNCTIONS_ALLOW_PRIVATE_NETWORKS` is on for local development and tests. The
HTTP itself goes through `morpheus.egress`, the one client for customer URLs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from morpheus import egress

from .config import CallInfo, FunctionSpec

SIGNATURE_HEADER = "X-Morpheus-Signature"
TIMESTAMP_HEADER = "X-Morpheus-Timestamp"
USER_AGENT = "Morpheus-Voice-Agent/1.0"
MAX_RESPONSE_BYTES = 64 * 1024
SIGNATURE_TOLERANCE_SECONDS = 300


class FunctionCallError(Exception):
    """A failed custom function call; the message is what the model is told."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: str,
    *,
    timestamp: str,
    body: bytes,
    signature: str,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """What a customer's endpoint does with our headers (documented in docs/voice-worker.md).
    `signature` may carry several comma-separated signatures (one per secret during a
    rotation); one match is enough."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except (TypeError, ValueError):
        return False
    expected = sign(secret, timestamp, body)
    candidates = [part.strip() for part in (signature or "").split(",")]
    return age <= tolerance and any(hmac.compare_digest(expected, candidate) for candidate in candidates)


def request_body(spec: FunctionSpec, arguments: dict, call: CallInfo) -> bytes:
    payload = {"function": spec.name, "arguments": arguments, "call": call.as_payload()}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


async def invoke(
    spec: FunctionSpec,
    arguments: dict,
    *,
    call: CallInfo,
    secret: str,
    previous_secret: str = "",
    timeout: float,
    allow_private: bool = False,
) -> Any:
    """POSTs the signed call and returns the endpoint's decoded JSON answer. During a
    secret rotation (`previous_secret` still valid) both signatures are sent."""
    try:
        egress.check_url(spec.url, allow_http=allow_private, allow_private=allow_private)
    except egress.EgressError as exc:
        raise FunctionCallError(_message(spec, exc, timeout)) from None

    body = request_body(spec, arguments, call)
    timestamp = str(int(time.time()))
    signatures = [sign(secret, timestamp, body)]
    if previous_secret:
        signatures.append(sign(previous_secret, timestamp, body))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: ",".join(signatures),
    }
    try:
        response = await egress.apost(
            spec.url,
            body=body,
            headers=headers,
            timeout=timeout,
            max_bytes=MAX_RESPONSE_BYTES,
            allow_http=allow_private,
            allow_private=allow_private,
        )
    except egress.EgressError as exc:
        raise FunctionCallError(_message(spec, exc, timeout)) from None

    if not 200 <= response.status < 300:
        raise FunctionCallError(f"The function `{spec.name}` failed with HTTP status {response.status}.")
    if response.truncated:
        raise FunctionCallError(f"The function `{spec.name}` answered with more than {MAX_RESPONSE_BYTES} bytes.")
    if not response.body.strip():
        return None
    try:
        return json.loads(response.body)
    except (UnicodeDecodeError, ValueError):
        raise FunctionCallError(f"The function `{spec.name}` answered with something that is not JSON.")


def _message(spec: FunctionSpec, error: egress.EgressError, timeout: float) -> str:
    """What the model is told when the endpoint could not be called."""
    name = spec.name
    if error.kind == egress.HTTPS_REQUIRED:
        return f"The function `{name}` must use HTTPS."
    if error.kind == egress.PRIVATE_ADDRESS:
        return f"The function `{name}` points to a private address, which is not allowed."
    if error.kind == egress.TIMEOUT:
        return f"The function `{name}` did not answer within {timeout:g} seconds."
    if error.kind == egress.UNREACHABLE:
        return f"The function `{name}` could not be reached ({error.detail})."
    return f"The function `{name}` has an invalid URL."
