"""What an API key's scopes allow (docs/integrations.md, API keys).

`read` and `write` (`write` implies `read`) cover the ordinary tenant resources: agents
and the provider catalogue, calls and analytics, phone numbers, webhooks, and whatever
tenant resource later apps add. Per-resource scopes (`calls:read`, `agents:write`, ...)
narrow a key to one resource. Team management (`users`), key management (`api-keys`)
and company settings (`customer`) are reached only with their own scope, never by plain
`read`/`write`; the platform admin API and a user's own account (`/auth/*`) never.
"""

from __future__ import annotations

GENERAL_SCOPES = ("read", "write")
RESOURCES = ("agents", "calls", "phone-numbers", "webhooks", "customer", "users", "api-keys")
# Reached only with their own scope: `read`/`write` do not cover them.
PRIVILEGED_RESOURCES = ("customer", "users", "api-keys")
ALL_SCOPES = (*GENERAL_SCOPES, *(f"{resource}:{level}" for resource in RESOURCES for level in GENERAL_SCOPES))

# First path segment under /api/v1/ -> resource. Anything else is an ordinary resource
# named after its segment (covered by `read`/`write`), except NEVER.
SEGMENT_RESOURCES = {
    "agents": "agents",
    "providers": "agents",
    "calls": "calls",
    "analytics": "calls",
    "phone-numbers": "phone-numbers",
    "webhook-endpoints": "webhooks",
    "webhook-deliveries": "webhooks",
    "customers": "customer",
    "users": "users",
    "api-keys": "api-keys",
}
NEVER = ("admin", "auth")
# What an agent-restricted key may use: agents, calls (narrowed to its agents by the base
# viewset's `agent_field`) and the provider catalogue (not tenant data).
AGENT_SCOPED_SEGMENTS = ("agents", "calls", "providers")

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def segment_of(path: str) -> str:
    prefix = "/api/v1/"
    return path[len(prefix) :].split("/", 1)[0] if path.startswith(prefix) else ""


def resource_of(path: str) -> str | None:
    """The resource of an /api/v1 path; None for paths no key may use."""
    segment = segment_of(path)
    if not segment or segment in NEVER:
        return None
    return SEGMENT_RESOURCES.get(segment, segment)


def allows(scopes: list[str], *, resource: str, method: str) -> bool:
    level = "read" if method.upper() in SAFE_METHODS else "write"
    wanted = {f"{resource}:write"} if level == "write" else {f"{resource}:read", f"{resource}:write"}
    if resource not in PRIVILEGED_RESOURCES:
        wanted |= {"write"} if level == "write" else {"read", "write"}
    return bool(wanted & set(scopes))
