"""Custom functions: the agent calls the customer's HTTPS endpoint and reads its JSON answer.

Each call is a POST of `{"function", "arguments", "call"}` as JSON, signed so the endpoint
can tell it came from us and was not replayed:

    X-Morpheus-Timestamp: <unix seconds>
    X-Morpheus-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>." + raw body, keyed by
                          the customer's signing secret>

Whatever goes wrong — a timeout, a refused connection, a non-2xx status, a body that is
not JSON or is too large — becomes a `FunctionCallError` whose message is meant for the
model, so the agent can tell the caller instead of the call failing. Endpoints must be
public HTTPS hosts: plain HTTP, redirects and private, loopback or link-local addresses
are refused (the worker runs inside our network), except when
`VOICE_FUNCTIONS_ALLOW_PRIVATE_NETWORKS` is on for local development and tests.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp

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
    """What a customer's endpoint does with our headers (documented in docs/voice-worker.md)."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except (TypeError, ValueError):
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


def request_body(spec: FunctionSpec, arguments: dict, call: CallInfo) -> bytes:
    payload = {"function": spec.name, "arguments": arguments, "call": call.as_payload()}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


async def invoke(
    spec: FunctionSpec,
    arguments: dict,
    *,
    call: CallInfo,
    secret: str,
    timeout: float,
    allow_private: bool = False,
) -> Any:
    """POSTs the signed call and returns the endpoint's decoded JSON answer."""
    url = urlsplit(spec.url)
    if url.scheme not in ("https", "http") or not url.hostname:
        raise FunctionCallError(f"The function `{spec.name}` has an invalid URL.")
    if url.scheme == "http" and not allow_private:
        raise FunctionCallError(f"The function `{spec.name}` must use HTTPS.")
    if not allow_private and _is_literal_private(url.hostname):
        raise FunctionCallError(f"The function `{spec.name}` points to a private address, which is not allowed.")

    body = request_body(spec, arguments, call)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    resolver = _PublicOnlyResolver() if not allow_private else aiohttp.ThreadedResolver()
    connector = aiohttp.TCPConnector(resolver=resolver, force_close=True)
    try:
        async with (
            aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.post(spec.url, data=body, headers=headers, allow_redirects=False) as response,
        ):
            raw = await _read_capped(response.content, MAX_RESPONSE_BYTES + 1)
            status = response.status
    except TimeoutError:
        raise FunctionCallError(f"The function `{spec.name}` did not answer within {timeout:g} seconds.")
    except aiohttp.ClientError as exc:
        if isinstance(resolver, _PublicOnlyResolver) and resolver.blocked:
            raise FunctionCallError(f"The function `{spec.name}` points to a private address, which is not allowed.")
        raise FunctionCallError(f"The function `{spec.name}` could not be reached ({type(exc).__name__}).")

    if not 200 <= status < 300:
        raise FunctionCallError(f"The function `{spec.name}` failed with HTTP status {status}.")
    if len(raw) > MAX_RESPONSE_BYTES:
        raise FunctionCallError(f"The function `{spec.name}` answered with more than {MAX_RESPONSE_BYTES} bytes.")
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise FunctionCallError(f"The function `{spec.name}` answered with something that is not JSON.")


async def _read_capped(stream: aiohttp.StreamReader, limit: int) -> bytes:
    """Up to `limit` bytes of the body. StreamReader.read(n) returns whatever has arrived
    (possibly fewer than n bytes), so keep reading until the limit or the end."""
    raw = bytearray()
    while len(raw) < limit:
        chunk = await stream.read(limit - len(raw))
        if not chunk:
            break
        raw.extend(chunk)
    return bytes(raw)


def _is_literal_private(host: str) -> bool:
    """An IP address in the URL itself (names are checked when they are resolved)."""
    try:
        return not ipaddress.ip_address(host.strip("[]")).is_global
    except ValueError:
        return False


class _PublicOnlyResolver(aiohttp.ThreadedResolver):
    """Refuses names that resolve to non-public addresses. Checking the addresses the
    connection actually uses (not a separate lookup first) leaves no DNS-rebinding gap."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked = False

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET):
        infos = await super().resolve(host, port, family)
        if any(not ipaddress.ip_address(info["host"]).is_global for info in infos):
            self.blocked = True
            raise OSError(f"{host} resolves to a non-public address")
        return infos
