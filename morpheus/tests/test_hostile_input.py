"""Hostile bodies and paths never reach a 500 (issue 13, findings 7, 8 and 10)."""

import json
import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import User
from agents.tests.factories import AgentFactory
from morpheus.api.parsers import MAX_JSON_DEPTH, json_depth
from testsupport.api import assert_error, client_for

pytestmark = pytest.mark.django_db

NUL = "a\x00b"
SURROGATE = "a\ud800b"
DEEP = "[" * 2000 + "]" * 2000  # ~4 KB


def api_routes() -> list[str]:
    """Every concrete path under /api/v1, ids filled in (1 or a UUID)."""
    routes = []

    def walk(resolver, prefix):
        for pattern in resolver.url_patterns:
            text = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern, text)
            elif (
                isinstance(pattern, URLPattern)
                and text.startswith("api/v1/")
                and "\\Z" not in text
                and not text.endswith(("docs/", "schema/"))
            ):
                text = re.sub(r"\(\?P<pk>\[0-9\]\+\)", "1", text)
                text = re.sub(r"\(\?P<pk>[^)]*\)", str(uuid.uuid4()), text)
                routes.append("/" + text.replace("^", "").replace("$", ""))

    walk(get_resolver(), "")
    return sorted(set(routes))


def test_the_depth_counter_ignores_brackets_in_strings():
    assert json_depth(b'{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert json_depth(DEEP.encode()) == 2000


@pytest.mark.parametrize("who", ["anonymous", "owner"])
def test_deeply_nested_json_is_a_400_on_every_endpoint(who, alice):
    client = client_for(alice if who == "owner" else None)
    routes = api_routes()
    assert len(routes) >= 30
    for route in routes:
        for method in ("post", "put", "patch"):
            response = getattr(client, method)(route, DEEP, content_type="application/json")
            assert response.status_code < 500, (method, route, response.status_code, response.content[:300])
            assert response["Content-Type"].startswith("application/json"), (method, route)
            if response.status_code == 400:
                body = response.json()
                assert body["success"] is False and body["message"] == "Malformed JSON in request body", body


def test_nesting_at_the_limit_still_parses(alice_client):
    nested = {"v": 1}
    for _ in range(MAX_JSON_DEPTH - 2):
        nested = {"v": nested}
    response = alice_client.patch("/api/v1/customers/me", {"settings": nested}, format="json")
    assert response.status_code == 200, response.json()
    too_deep = {"settings": {"v": nested}}
    assert_error(
        alice_client.patch("/api/v1/customers/me", too_deep, format="json"), 400, "Malformed JSON in request body"
    )


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
@pytest.mark.parametrize(
    ("url", "field", "body"),
    [
        ("/api/v1/auth/login", "email", {"email": None, "password": "x"}),
        ("/api/v1/auth/login", "password", {"email": "alice@example.com", "password": None}),
        ("/api/v1/auth/register/request-verification", "email", {"email": None}),
        ("/api/v1/auth/password/forgot", "email", {"email": None}),
    ],
)
def test_nul_and_lone_surrogates_are_field_errors_on_anonymous_forms(api_client, alice, url, field, body, bad):
    body = {
        key: (f"alice{bad}@example.com" if key == "email" else bad) if value is None else value
        for key, value in body.items()
    }
    response = api_client.post(url, json.dumps(body), content_type="application/json")
    assert_error(response, 400, "Validation failed", fields=[field])


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
def test_password_change_refuses_them(alice_client, alice, bad):
    body = {"currentPassword": bad, "newPassword": f"Strong-{bad}-Password-1"}
    response = alice_client.post("/api/v1/auth/password/change", json.dumps(body), content_type="application/json")
    assert_error(response, 400, "Validation failed", fields=["currentPassword", "newPassword"])
    assert User.objects.get(pk=alice.pk).password == alice.password


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
def test_json_fields_are_checked_before_jsonb(alice_client, customer_a, bad):
    before = dict(customer_a.settings)
    body = {"settings": {"theme": {"name": bad}, bad: 1, "list": ["ok", bad]}}
    response = alice_client.patch("/api/v1/customers/me", json.dumps(body), content_type="application/json")
    assert_error(response, 400, "Validation failed", fields=["settings.theme.name", "settings.a?b", "settings.list.1"])
    customer_a.refresh_from_db()
    assert customer_a.settings == before

    agent = AgentFactory(customer=customer_a)
    metadata = {"metadata": {"note": bad}}
    response = alice_client.patch(f"/api/v1/agents/{agent.pk}", json.dumps(metadata), content_type="application/json")
    assert_error(response, 400, "Validation failed", fields=["metadata.note"])


def test_nul_in_a_query_parameter_is_a_field_error(alice_client):
    response = alice_client.get("/api/v1/calls?status=a%00b")
    assert_error(response, 400, "Validation failed", fields=["status"])


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/agents/1%0a",
        "/api/v1/agents/1%0d",
        "/api/v1/agents/%01",
        "/api/v1/calls/1%00/end",
        "/api/v1/nope%0a/x",
        "/api/v2/agents",
        "/api/%0a",
    ],
)
def test_paths_with_control_characters_get_the_envelope_404(alice_client, path):
    for method in ("get", "post", "delete"):
        response = getattr(alice_client, method)(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json"
        body = response.json()
        assert body["success"] is False and body["statusCode"] == 404, body
        assert body["message"] == "Resource not found!!" and body["data"] is None, body
        assert body["requestInfo"]["method"] == method.upper(), body
