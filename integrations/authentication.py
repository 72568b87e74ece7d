"""API keys on the same authentication path as JWTs (docs/integrations.md, API keys).

`Authorization: Bearer mk_live_…` or `X-API-Key: mk_live_…`. This class runs before the
JWT one and answers None for anything that is not an API key, so the JWT path is
untouched. A key acts as the user who created it, inside the key's customer: the views'
own permissions then apply the same tenant scoping, suspension and IP allow-list checks
as for that user's JWT (and never more than that user may do now). On top of that:
- the key's scopes decide which resources and methods it may use (`scopes.py`); the
  platform admin API and `/auth/*` are never open to a key;
- an agent-restricted key reaches only agents and calls, and the base viewset narrows
  them to its agents;
- each key has its own rate limit (`api_key` throttle scope, THROTTLE_API_KEY);
- `lastUsedAt` is written at most once a minute per key.
"""

from __future__ import annotations

import datetime

from django.db.models import Q
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from morpheus.api.throttling import AtomicRateThrottle

from . import keys, scopes
from .models import ApiKey

INVALID_KEY_MESSAGE = "Invalid API key"
REVOKED_KEY_MESSAGE = "API key has been revoked"
EXPIRED_KEY_MESSAGE = "API key has expired"
ORPHANED_KEY_MESSAGE = "API key is no longer valid: the user who created it left or was deactivated"
SCOPE_MESSAGE = "This API key does not have the scope required for this request"
NOT_FOR_KEYS_MESSAGE = "API keys cannot be used on this endpoint"
AGENT_RESTRICTED_MESSAGE = "This API key is restricted to agents and their calls"
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)
API_KEY_HEADER = "HTTP_X_API_KEY"


class ApiKeyThrottle(AtomicRateThrottle):
    """Requests per key, whatever the view's own throttles."""

    scope = "api_key"

    def __init__(self, api_key: ApiKey):
        super().__init__()
        self.api_key = api_key

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.api_key.key_id}


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = _presented_key(request)
        if raw is None:
            return None
        api_key = _valid_key(raw)
        user = api_key.created_by
        if user is None or user.deleted_at is not None or not user.is_active or user.customer_id != api_key.customer_id:
            raise exceptions.AuthenticationFailed(ORPHANED_KEY_MESSAGE)
        _check_scope(api_key, request)
        throttle = ApiKeyThrottle(api_key)
        if not throttle.allow_request(request, None):
            raise exceptions.Throttled(wait=throttle.wait())
        _touch(api_key)
        user.api_key = api_key
        return user, api_key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


def _presented_key(request) -> str | None:
    header = get_authorization_header(request).split()
    if len(header) == 2 and header[0].lower() == b"bearer" and header[1].startswith(keys.KEY_PREFIX.encode()):
        return header[1].decode("ascii", errors="replace")
    value = request.META.get(API_KEY_HEADER)
    if value is not None:
        return value.strip()
    return None


def _valid_key(raw: str) -> ApiKey:
    parsed = keys.parse(raw)
    if parsed is None:
        raise exceptions.AuthenticationFailed(INVALID_KEY_MESSAGE)
    key_id, secret = parsed
    api_key = (
        ApiKey.objects.select_related("customer", "created_by", "created_by__customer").filter(key_id=key_id).first()
    )
    if api_key is None or not keys.secret_matches(secret, api_key.secret_hash):
        raise exceptions.AuthenticationFailed(INVALID_KEY_MESSAGE)
    if api_key.revoked_at is not None:
        raise exceptions.AuthenticationFailed(REVOKED_KEY_MESSAGE)
    if api_key.expires_at is not None and api_key.expires_at <= timezone.now():
        raise exceptions.AuthenticationFailed(EXPIRED_KEY_MESSAGE)
    return api_key


def _check_scope(api_key: ApiKey, request) -> None:
    resource = scopes.resource_of(request.path)
    if resource is None:
        raise exceptions.PermissionDenied(NOT_FOR_KEYS_MESSAGE)
    if not scopes.allows(api_key.scopes, resource=resource, method=request.method):
        raise exceptions.PermissionDenied(SCOPE_MESSAGE)
    if api_key.agent_ids is not None:
        if scopes.segment_of(request.path) not in scopes.AGENT_SCOPED_SEGMENTS:
            raise exceptions.PermissionDenied(AGENT_RESTRICTED_MESSAGE)
        if request.method not in scopes.SAFE_METHODS and not _names_one_object(request.path):
            # Creating agents or starting simulations would reach beyond the key's agents.
            raise exceptions.PermissionDenied(AGENT_RESTRICTED_MESSAGE)


def _names_one_object(path: str) -> bool:
    """`/api/v1/<resource>/<id>[/...]`: writes there go through the narrowed get_object."""
    parts = path.strip("/").split("/")
    return len(parts) >= 4 and parts[3].isdigit()


def _touch(api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    # Conditional: concurrent requests of one key write it once.
    ApiKey.objects.filter(pk=api_key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    api_key.last_used_at = now
