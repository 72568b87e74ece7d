"""The OpenAPI schema documents the voice-configuration endpoints truthfully."""

import json

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from agents import examples

pytestmark = pytest.mark.django_db

OPERATIONS = {
    "/api/v1/providers": {"get"},
    "/api/v1/agents": {"get", "post"},
    "/api/v1/agents/{id}": {"get", "patch", "delete"},
    "/api/v1/phone-numbers": {"get", "post"},
    "/api/v1/phone-numbers/{id}": {"get", "patch", "delete"},
}
MY_CODE = ("agents/", "telephony/", "Agent", "PhoneNumber", "Provider")


@pytest.fixture(scope="module")
def schema():
    GENERATOR_STATS.reset()
    generated = SchemaGenerator().get_schema(request=None, public=True)
    warnings = [w for w in GENERATOR_STATS._warn_cache if any(mark in w for mark in MY_CODE)]
    errors = [e for e in GENERATOR_STATS._error_cache if any(mark in e for mark in MY_CODE)]
    return {"schema": generated, "warnings": warnings, "errors": errors}


def test_the_schema_is_valid_and_my_endpoints_raise_no_warnings(schema):
    validate_schema(schema["schema"])
    assert schema["warnings"] == [] and schema["errors"] == []
    assert "AgentStatusEnum" in schema["schema"]["components"]["schemas"]


def test_every_operation_is_documented_with_examples(schema):
    paths = schema["schema"]["paths"]
    for path, methods in OPERATIONS.items():
        assert set(paths[path]) - {"parameters"} == methods, path
        for method in methods:
            operation = paths[path][method]
            success = next(code for code in operation["responses"] if code.startswith("2"))
            assert operation["responses"][success]["content"]["application/json"].get("examples"), (path, method)


def test_examples_are_the_spec_bodies_in_the_real_envelope(schema):
    agents = schema["schema"]["paths"]["/api/v1/agents"]
    request = agents["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert examples.AGENT_CREATE_REQUEST.value in [example["value"] for example in request.values()]
    [listed] = agents["get"]["responses"]["200"]["content"]["application/json"]["examples"].values()
    assert set(listed["value"]) == {"success", "status", "message", "data", "requestInfo"}
    assert listed["value"]["message"] == "Agents retrieved successfully"
    assert set(listed["value"]["data"]) == {"agents", "pagination"}
    created = agents["post"]["responses"]["201"]["content"]["application/json"]["examples"]
    assert [e["value"]["message"] for e in created.values()] == ["Agent created successfully"]


def test_conflicts_are_documented(schema):
    paths = schema["schema"]["paths"]
    assert "409" in paths["/api/v1/agents/{id}"]["delete"]["responses"]
    assert "409" in paths["/api/v1/phone-numbers"]["post"]["responses"]
    assert "409" in paths["/api/v1/phone-numbers/{id}"]["delete"]["responses"]


def test_the_schema_endpoint_serves_it(api_client):
    response = api_client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    assert "/api/v1/phone-numbers" in json.loads(response.content)["paths"]
