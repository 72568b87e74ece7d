"""Every URL under /api/v1 is tenant-scoped, platform-admin, or on PUBLIC with a reason.

The test walks the real URL conf, so a new endpoint is checked the moment it is routed.
Each protected URL is also called, for every method it answers: anonymous callers get
401, tenant URLs refuse a user without a customer (403), admin URLs refuse a tenant
owner (403). None of these calls reach a handler, so the walk needs no data.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from morpheus.api.permissions import HasActionRole, IsPlatformAdmin, IsTenantMember
from morpheus.api.viewsets import PlatformAdminAccessMixin, TenantAccessMixin
from testsupport.api import assert_error

# url name -> why anyone (or any signed-in user, customer or not) may call it.
PUBLIC = {
    "health": "load balancers and uptime checks probe it without credentials",
    "schema": "the OpenAPI document is public so clients can be generated",
    "docs": "Swagger UI over the public schema",
    "api-index": "the API root: name, version and links, nothing tenant-owned",
    "api-not-found": "the catch-all that turns unknown /api/v1 paths into the envelope's 404",
    "auth-request-verification": "registration starts signed out",
    "auth-register-complete": "registration completes signed out",
    "auth-login": "signing in starts signed out",
    "auth-refresh": "a refresh token, not an access token, authenticates it",
    "auth-logout": "revokes the caller's own refresh token",
    "auth-logout-all": "revokes the caller's own sessions; works before onboarding",
    "auth-profile": "the caller's own user; works before onboarding and for platform admins",
    "auth-invite-accept": "the invitation token authenticates it",
    "auth-password-forgot": "signed out by definition",
    "auth-password-reset": "the reset token authenticates it",
    "auth-password-change": "the caller's own password; works before onboarding",
    "customer-onboard": "a signed-in user without a customer creates one here",
    "providers": "the provider catalogue is the same for everyone; the dashboard's pickers read it",
    "voice-inbound-webhook": "carriers call it; the carrier's signature authenticates it",
    "voice-status-webhook": "carriers call it; the carrier's signature authenticates it",
    "voice-transfer-webhook": "carriers call it; the carrier's signature authenticates it",
    "livekit-webhook": "LiveKit calls it; its signed JWT authenticates it",
}

HOW_TO_FIX = """
{where} is neither tenant-scoped nor platform-admin, and not on the public list.
Pick one:
  - tenant data: subclass morpheus.api.viewsets.TenantScopedViewSet (model collections)
    or TenantScopedAPIView (other endpoints); add checks with `permission_classes` and
    `action_roles`, never by replacing the base permissions;
  - platform admins only: subclass PlatformAdminViewSet or PlatformAdminAPIView;
  - really public, or open to any signed-in user with or without a customer: give the
    route a name and add it to PUBLIC in morpheus/tests/test_url_scope.py with the reason:
        "{name}": "<why anyone may call it>",
"""


def api_v1_urls():
    """(route, name, view class, methods) for every URL pattern under /api/v1/."""
    found = []

    def walk(patterns, prefix):
        for entry in patterns:
            raw = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, raw)
            elif isinstance(entry, URLPattern) and raw.startswith("api/v1/"):
                found.append((_route(raw), entry.name, *_view_and_methods(entry.callback)))

    walk(get_resolver().url_patterns, "")
    return found


SAMPLE_IDS = ("1", "00000000-0000-4000-8000-000000000000")


def _sample(group: re.Match) -> str:
    """An id the group accepts (routers use [0-9]+ for integer ids, a looser class for UUIDs)."""
    return next(v for v in SAMPLE_IDS if re.fullmatch(group["regex"], v))


def _route(text: str) -> str:
    text = re.sub(r"\(\?P<\w+>(?P<regex>[^)]*)\)", _sample, text)  # regex groups (routers)
    text = re.sub(r"<uuid:\w+>", SAMPLE_IDS[1], text)  # path converters
    text = re.sub(r"<(?:\w+:)?\w+>", SAMPLE_IDS[0], text)
    return text.replace("^", "").replace("$", "")


def _view_and_methods(callback):
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    actions = getattr(callback, "actions", None)
    if actions:
        methods = sorted(actions)
    else:
        methods = sorted(m for m in getattr(cls, "http_method_names", []) if m != "options" and hasattr(cls, m))
    return cls, methods


URLS = api_v1_urls()
TENANT = [(route, methods) for route, _, cls, methods in URLS if issubclass(cls, TenantAccessMixin)]
ADMIN = [(route, methods) for route, _, cls, methods in URLS if issubclass(cls, PlatformAdminAccessMixin)]


def _ids(items):
    return [route for route, _ in items]


def test_the_walk_sees_the_api():
    assert len(URLS) > 20 and TENANT and ADMIN


@pytest.mark.parametrize(("route", "name", "cls", "methods"), URLS, ids=[u[0] for u in URLS])
def test_every_api_view_is_scoped_or_explicitly_public(route, name, cls, methods):
    where = f"/{route} ({cls.__module__}.{cls.__name__}, url name {name!r})"
    assert issubclass(cls, APIView), where
    if issubclass(cls, TenantAccessMixin):
        assert name not in PUBLIC, f"{where} is tenant-scoped: remove it from PUBLIC"
        assert {IsTenantMember, HasActionRole} <= {type(p) for p in cls().get_permissions()}, where
    elif issubclass(cls, PlatformAdminAccessMixin):
        assert name not in PUBLIC, f"{where} is platform-admin: remove it from PUBLIC"
        assert IsPlatformAdmin in {type(p) for p in cls().get_permissions()}, where
    else:
        assert name in PUBLIC, HOW_TO_FIX.format(where=where, name=name or "<route name>")
        assert PUBLIC[name].strip(), f"{where}: give the reason it is public"


def test_the_public_list_names_only_routes_that_exist():
    names = {name for _, name, _, _ in URLS}
    assert set(PUBLIC) <= names, f"remove stale PUBLIC entries: {sorted(set(PUBLIC) - names)}"


def _calls(items):
    return [(route, method) for route, methods in items for method in methods]


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method"), _calls(TENANT + ADMIN), ids=lambda v: v)
def test_protected_urls_refuse_anonymous_callers(api_client, route, method):
    assert_error(getattr(api_client, method)(f"/{route}"), 401)


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method"), _calls(TENANT), ids=lambda v: v)
def test_tenant_urls_refuse_a_user_without_a_customer(platform_admin_client, route, method):
    assert_error(
        getattr(platform_admin_client, method)(f"/{route}"), 403, "Please complete onboarding to access this resource"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method"), _calls(ADMIN), ids=lambda v: v)
def test_admin_urls_refuse_a_tenant_owner(alice_client, route, method):
    assert_error(getattr(alice_client, method)(f"/{route}"), 403, "You do not have permission to access this resource")


def test_subclasses_cannot_replace_the_base_permissions():
    from morpheus.api.viewsets import TenantScopedAPIView, TenantScopedViewSet

    for base in (TenantScopedViewSet, TenantScopedAPIView):
        for name in ("get_permissions", "get_authenticators"):
            with pytest.raises(TypeError, match=name):
                type("Leaky", (base,), {name: lambda self: []})
        with pytest.raises(TypeError, match="authentication_classes"):
            type("Leaky", (base,), {"authentication_classes": []})
        mixin = type("Mixin", (), {"get_permissions": lambda self: []})
        with pytest.raises(TypeError, match="get_permissions"):
            type("LeakyThroughAMixin", (mixin, base), {})


def test_permission_classes_add_to_the_base_ones():
    from rest_framework.permissions import AllowAny

    from morpheus.api.viewsets import TenantScopedViewSet

    view = type("Extra", (TenantScopedViewSet,), {"permission_classes": [AllowAny]})()
    assert [type(p).__name__ for p in view.get_permissions()] == [
        "IsAuthenticated",
        "IsTenantMember",
        "HasActionRole",
        "AllowAny",
    ]
