"""Container health check of the API: exit 0 only when /api/v1/health answers 200 "healthy".

Run inside the `api` container (docker-compose healthcheck, the image's HEALTHCHECK):

    python deploy/healthcheck.py

Standard library only, so it costs no Django start-up. Plain HTTP on the container's
own port: settings exempt /api/v1/health from the HTTPS redirect. The Host header is
the first of ALLOWED_HOSTS, because Django answers 400 to any host it does not serve.
"""

import json
import os
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 5


def health_host() -> str:
    """A host name Django accepts: the first ALLOWED_HOSTS entry ("*" and ".domain" mapped)."""
    hosts = [host.strip() for host in os.environ.get("ALLOWED_HOSTS", "").split(",") if host.strip()]
    if not hosts:
        return "localhost"  # settings' default list starts with localhost
    host = hosts[0]
    if host == "*":
        return "localhost"
    return host.lstrip(".")


def check(port: int) -> tuple[bool, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/health",
        headers={"Host": health_host(), "Accept": "application/json", "User-Agent": "morpheus-healthcheck"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (fixed http URL)
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:  # 503 still carries the report
        status, body = error.code, error.read()
    except (OSError, ValueError) as error:
        return False, f"no answer: {error}"
    try:
        data = json.loads(body)["data"]
    except (ValueError, KeyError, TypeError):
        return False, f"HTTP {status}, not the health envelope: {body[:200]!r}"
    if status == 200 and data.get("status") == "healthy":
        return True, f"healthy (database {data.get('database')}, uptime {data.get('uptime')})"
    return False, f"HTTP {status}: status={data.get('status')} database={data.get('database')}"


def main() -> int:
    ok, detail = check(int(os.environ.get("PORT", "8000")))
    print(detail)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
