import json
import logging

import pytest
from django.core.cache import cache

from testsupport.api import assert_error, assert_success

pytestmark = [pytest.mark.django_db, pytest.mark.urls("morpheus.tests.urls")]


def test_it_answers_unknown_routes_with_the_envelope_404(api_client):
    response = api_client.get("/api/v1/unknown-route?x=1")
    body = assert_error(response, 404, "Resource not found!!")
    assert body["requestInfo"] == {"url": "/api/v1/unknown-route", "ip": "127.0.0.1", "method": "GET"}


def test_it_answers_unknown_routes_for_every_method(api_client):
    for method in ("post", "put", "patch", "delete"):
        assert_error(getattr(api_client, method)("/api/v1/nope/deeper"), 404, "Resource not found!!")


def test_it_lists_validation_errors_by_camel_case_and_dotted_field(api_client):
    response = api_client.post(
        "/api/v1/probe/validate",
        {
            "email": "not-an-email",
            "settings": {"theme": "pink"},
            "functions": [{"name": "ok"}, {"name": "far-too-long"}],
        },
        format="json",
    )
    body = assert_error(
        response, 400, "Validation failed", fields=["email", "companyName", "settings.theme", "functions.1.name"]
    )
    by_field = {e["field"]: e["message"] for e in body["errors"]}
    assert by_field["email"] == "Enter a valid email address."
    assert by_field["companyName"] == "This field is required."


def test_it_succeeds_with_the_success_envelope(api_client):
    response = api_client.post("/api/v1/probe/validate", {"email": "a@b.co", "companyName": "X"}, format="json")
    assert assert_success(response, 201, "Created") == {"ok": True}


def test_it_refuses_malformed_json_with_400(api_client):
    response = api_client.post("/api/v1/probe/validate", data='{"email": ', content_type="application/json")
    assert_error(response, 400, "Malformed JSON in request body")


def test_it_refuses_unsupported_media_types_with_415(api_client):
    response = api_client.post("/api/v1/probe/validate", data="email=a@b.co", content_type="text/plain")
    body = assert_error(response, 415)
    assert "text/plain" in body["message"]


def test_it_refuses_oversized_bodies_with_413(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    payload = json.dumps({"email": "a@b.co", "companyName": "x" * 2000})
    response = api_client.post("/api/v1/probe/validate", data=payload, content_type="application/json")
    assert_error(response, 413, "Request body too large")


def test_it_hides_unhandled_errors_behind_a_500_and_logs_them(api_client, caplog):
    with caplog.at_level(logging.ERROR, logger="morpheus.api"):
        response = api_client.get("/api/v1/probe/boom")
    body = assert_error(response, 500, "Internal server error!!")
    assert "secret internal detail" not in json.dumps(body)
    assert "Traceback" not in response.content.decode()
    assert any("secret internal detail" in (r.exc_text or str(r.exc_info)) for r in caplog.records)
    assert response["X-Request-ID"]


def test_it_answers_conflicts_and_unavailable_dependencies(api_client):
    assert_error(api_client.get("/api/v1/probe/conflict"), 409, "Email already registered")
    assert_error(api_client.get("/api/v1/probe/unavailable"), 503, "LiveKit is not available")


def test_it_throttles_with_429_and_retry_after(api_client):
    cache.clear()
    assert_success(api_client.get("/api/v1/probe/throttled"), 201)
    response = api_client.get("/api/v1/probe/throttled")
    body = assert_error(response, 429)
    assert body["message"].startswith("Too many requests")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_it_rejects_missing_and_bad_tokens_with_401(api_client):
    assert_error(api_client.get("/api/v1/probe/probe-agents"), 401, "Authentication credentials were not provided.")
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    assert_error(api_client.get("/api/v1/probe/probe-agents"), 401, "Invalid token")


def test_it_reports_the_forwarded_client_only_behind_trusted_proxies(api_client, settings):
    forged = {"HTTP_X_FORWARDED_FOR": "6.6.6.6, 10.0.0.7"}
    body = assert_error(api_client.get("/api/v1/nope", **forged), 404)
    assert body["requestInfo"]["ip"] == "127.0.0.1"
    settings.NUM_PROXIES = 1
    body = assert_error(api_client.get("/api/v1/nope", **forged), 404)
    assert body["requestInfo"]["ip"] == "10.0.0.7"


def test_it_echoes_the_request_id(api_client):
    response = api_client.get("/api/v1/health", HTTP_X_REQUEST_ID="abc123")
    assert response["X-Request-ID"] == "abc123"
