"""The OpenAPI schema documents every identity endpoint truthfully."""

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from accounts.schema import LOGIN_USER

PUBLIC = [{}]
BEARER = [{"bearerAuth": []}]

# path -> method -> (security, request fields, required request fields, documented statuses)
ENDPOINTS = {
    "/api/v1/auth/register/request-verification": {
        "post": (PUBLIC, {"email"}, {"email"}, {"200", "400", "409", "429"}),
    },
    "/api/v1/auth/register/complete": {
        "post": (PUBLIC, {"token", "name", "password"}, {"token", "name", "password"}, {"201", "400", "409"}),
    },
    "/api/v1/auth/login": {
        "post": (PUBLIC, {"email", "password"}, {"email", "password"}, {"200", "400", "401", "403", "429"}),
    },
    "/api/v1/auth/refresh": {"post": (PUBLIC, {"refreshToken"}, {"refreshToken"}, {"200", "400", "401"})},
    "/api/v1/auth/logout": {"post": (PUBLIC, {"refreshToken"}, {"refreshToken"}, {"200", "400", "401"})},
    "/api/v1/auth/logout/all": {"post": (BEARER, None, None, {"200", "401"})},
    "/api/v1/auth/profile": {
        "get": (BEARER, None, None, {"200", "401"}),
        "patch": (BEARER, {"name"}, set(), {"200", "400", "401"}),
    },
    "/api/v1/auth/invite/accept": {
        "post": (PUBLIC, {"token", "password", "name"}, {"token", "password"}, {"200", "400"}),
    },
    "/api/v1/auth/password/forgot": {"post": (PUBLIC, {"email"}, {"email"}, {"200", "400", "429"})},
    "/api/v1/auth/password/reset": {"post": (PUBLIC, {"token", "password"}, {"token", "password"}, {"200", "400"})},
    "/api/v1/auth/password/change": {
        "post": (BEARER, {"currentPassword", "newPassword"}, {"currentPassword", "newPassword"}, {"200", "400", "401"}),
    },
}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_the_schema_is_valid_openapi(schema):
    validate_schema(schema)


@pytest.mark.parametrize(("path", "method"), [(p, m) for p, methods in ENDPOINTS.items() for m in methods])
def test_each_endpoint_is_documented(schema, path, method):
    security, fields, required, statuses = ENDPOINTS[path][method]
    operation = schema["paths"][path][method]

    assert operation["tags"] == ["auth"]
    assert operation["summary"]
    assert operation.get("security", BEARER) == security
    assert statuses <= set(operation["responses"]), set(operation["responses"])
    if fields is None:
        assert "requestBody" not in operation
    else:
        body = _resolve(schema, operation["requestBody"]["content"]["application/json"]["schema"])
        assert set(body["properties"]) == fields
        assert set(body.get("required", [])) == required
    success = next(code for code in operation["responses"] if code.startswith("2"))
    envelope = operation["responses"][success]["content"]["application/json"]["schema"]
    assert set(envelope["required"]) == {"success", "status", "message", "data", "requestInfo"}


def test_user_shapes_follow_the_spec(schema):
    components = schema["components"]["schemas"]
    assert list(components["AuthUserOutput"]["properties"]) == list(LOGIN_USER)
    registered = components["RegisteredUserOutput"]["properties"]
    assert "tokens" in registered and "deletedAt" in registered
    for component in ("AuthUserOutput", "RegisteredUserOutput", "ProfileOutput"):
        assert not [name for name in components[component]["properties"] if "password" in name.lower()]
    assert components["UserRoleEnum"]["enum"] == ["platform_admin", "owner", "admin", "member"]
    assert components["UserStatusEnum"]["enum"] == ["active", "invited", "suspended"]


def test_examples_show_the_spec_messages(schema):
    login = schema["paths"]["/api/v1/auth/login"]["post"]["responses"]["200"]["content"]["application/json"]
    [example] = login["examples"].values()
    assert example["value"]["message"] == "Login successful"
    assert set(example["value"]["data"]["auth"]) == {"user", "tokens"}
