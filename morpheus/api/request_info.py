"""Who is calling: the client address and the `requestInfo` block of every envelope."""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The caller's address.

    X-Forwarded-For is trusted only for the NUM_PROXIES hops we run ourselves: each
    proxy appends the address it saw, so the client is the entry NUM_PROXIES from the
    right. Anything left of that was written by the client and may be forged.
    """
    remote_addr = str(request.META.get("REMOTE_ADDR", "") or "")
    num_proxies: int = settings.NUM_PROXIES
    if num_proxies <= 0:
        return remote_addr
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote_addr
    return str(hops[-min(num_proxies, len(hops))])


def request_info(request: HttpRequest) -> dict[str, str]:
    return {"url": request.path, "ip": client_ip(request), "method": request.method or ""}
