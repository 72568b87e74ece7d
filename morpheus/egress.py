"""The one HTTP client for customer-controlled URLs (DESIGN.md: custom functions, webhooks).

Customers choose these URLs and our workers run inside our network, so every request:
- goes only to http(s) URLs with a host; plain HTTP only where the caller allows it;
- refuses private, loopback, link-local and other non-global addresses, checked on the
  addresses the connection actually uses when it is made (no DNS-rebinding gap between
  a check and the connect), unless the caller allows private networks (development);
- never follows redirects (a 3xx is returned as the answer);
- has a total timeout and reads at most `max_bytes` of the answer.

    response = await egress.apost(url, body=b"...", headers={...}, timeout=8, max_bytes=65536)
    response = egress.post(...)  # the same from synchronous code (Celery tasks)

Failures raise `EgressError` with a `kind` the caller turns into its own message.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp

INVALID_URL = "invalid_url"
HTTPS_REQUIRED = "https_required"
PRIVATE_ADDRESS = "private_address"
TIMEOUT = "timeout"
UNREACHABLE = "unreachable"


class EgressError(Exception):
    def __init__(self, kind: str, detail: str = ""):
        self.kind = kind
        self.detail = detail
        super().__init__(f"{kind}: {detail}" if detail else kind)


@dataclass(frozen=True)
class EgressResponse:
    status: int
    body: bytes  # at most max_bytes
    truncated: bool  # the answer had more than max_bytes
    duration_ms: int
    headers: dict[str, str] = field(default_factory=dict)


def check_url(url: str, *, allow_http: bool, allow_private: bool) -> None:
    """What can be said of a URL before connecting (also used to validate API input);
    names are checked again when they are resolved at request time."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise EgressError(INVALID_URL, url)
    if parts.scheme == "http" and not allow_http:
        raise EgressError(HTTPS_REQUIRED, url)
    if not allow_private and is_literal_private(parts.hostname):
        raise EgressError(PRIVATE_ADDRESS, parts.hostname)


def is_literal_private(host: str) -> bool:
    """An IP address written in the URL itself that is not a public address."""
    try:
        return not ipaddress.ip_address(host.strip("[]")).is_global
    except ValueError:
        return host.lower() == "localhost" or host.lower().endswith(".localhost")


async def apost(
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    max_bytes: int,
    allow_http: bool = False,
    allow_private: bool = False,
) -> EgressResponse:
    """POSTs `body` and returns the status and the first `max_bytes` of the answer."""
    check_url(url, allow_http=allow_http or allow_private, allow_private=allow_private)
    resolver = aiohttp.ThreadedResolver() if allow_private else _PublicOnlyResolver()
    connector = aiohttp.TCPConnector(resolver=resolver, force_close=True)
    started = time.monotonic()
    try:
        async with (
            aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.post(url, data=body, headers=headers, allow_redirects=False) as response,
        ):
            raw = await _read_capped(response.content, max_bytes + 1)
            status = response.status
            response_headers = dict(response.headers.items())
    except TimeoutError:
        raise EgressError(TIMEOUT, f"no answer within {timeout:g} seconds") from None
    except aiohttp.ClientError as exc:
        if isinstance(resolver, _PublicOnlyResolver) and resolver.blocked:
            raise EgressError(PRIVATE_ADDRESS, urlsplit(url).hostname or "") from None
        raise EgressError(UNREACHABLE, type(exc).__name__) from None
    return EgressResponse(
        status=status,
        body=raw[:max_bytes],
        truncated=len(raw) > max_bytes,
        duration_ms=int((time.monotonic() - started) * 1000),
        headers=response_headers,
    )


def post(url: str, **kwargs) -> EgressResponse:
    """`apost` for synchronous callers (Celery tasks); not for code already in an event loop."""
    return asyncio.run(apost(url, **kwargs))


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
