"""Every example in the OpenAPI document is true: the status it shows is the status it
documents, a success is enveloped exactly as the renderer writes it with the message the
view declares, and an error says what the code really answers (asked of the running API
where the example can be reproduced: 401, 404, 405)."""

import re

import pytest
from django.urls import resolve
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from morpheus.api.exceptions import DEPENDENCY_DOWN_MESSAGE, INTERNAL_ERROR_MESSAGE, VALIDATION_FAILED_MESSAGE
from morpheus.api.schema import MISSING_ID
from morpheus.errors import FORBIDDEN_MESSAGE
from testsupport.api import client_for

pytestmark = pytest.mark.django_db

SUCCESS_KEYS = {"success", "status", "message", "data", "requestInfo"}
ERROR_KEYS = {"success", "statusCode", "message", "data", "requestInfo"}
# Statuses whose message is one constant of the code, whatever the operation.
FIXED_MESSAGES = {"500": INTERNAL_ERROR_MESSAGE, "503": DEPENDENCY_DOWN_MESSAGE, "413": "Request body too large"}
BARE = {("post", "/api/v1/webhooks/voice/inbound")}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    GENERATOR_STATS.reset()
    with django_db_blocker.unblock():
        generated = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(generated)
    assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache
    return generated


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield path, method, operation


def _named_examples(response):
    media = (response.get("content") or {}).get("application/json") or {}
    return {name: example["value"] for name, example in (media.get("examples") or {}).items()}


def _examples(response):
    return list(_named_examples(response).values())


EXAMPLE_UUID = "550e8400-e29b-41d4-a716-446655440000"


def _url(path, value=1):
    """The path with a value its route accepts (users and customers are looked up by UUID)."""
    for uuid_route in ("/users/{id}", "/admin/customers/{id}"):
        path = path.replace(uuid_route, uuid_route.replace("{id}", EXAMPLE_UUID))
    return re.sub(r"{\w+}", str(value), path)


def _declared_message(path, method):
    view = resolve(_url(path)).func
    action = (getattr(view, "actions", None) or {}).get(method) or method
    return view.cls.success_messages[action]


def test_every_example_shows_the_status_it_documents_in_the_envelope(schema):
    checked = 0
    for path, method, operation in _operations(schema):
        for code, response in operation["responses"].items():
            for name, value in _named_examples(response).items():
                checked += 1
                where = (method, path, code)
                if code.startswith("2") and (method, path) in BARE:
                    assert "success" not in value, where
                elif code.startswith("2"):
                    assert set(value) == SUCCESS_KEYS, where
                    assert value["success"] is True and value["status"] == int(code), where
                    assert value["message"] == _declared_message(path, method), where
                    assert value["requestInfo"]["method"] == method.upper(), where
                    assert resolve(value["requestInfo"]["url"]).func == resolve(_url(path)).func, where
                else:
                    assert set(value) - {"errors"} == ERROR_KEYS, where
                    assert value["success"] is False and value["statusCode"] == int(code), where
                    assert value["message"], where
                    assert value["data"] is None or code == "503", where  # a health report that is down
                    if code in FIXED_MESSAGES and name == f"Error{code}":  # not one the operation documents
                        assert value["message"] == FIXED_MESSAGES[code], where
                    if code == "400" and "errors" in value:
                        assert value["message"] == VALIDATION_FAILED_MESSAGE, where
    assert checked > 500


def test_every_error_response_has_its_own_example(schema):
    for path, method, operation in _operations(schema):
        for code, response in operation["responses"].items():
            if not code.startswith("2"):
                assert _examples(response), (method, path, code)


def test_every_json_success_declares_its_message_in_the_envelope_schema(schema):
    for path, method, operation in _operations(schema):
        for code, response in operation["responses"].items():
            media = (response.get("content") or {}).get("application/json")
            if not code.startswith("2") or not media or (method, path) in BARE:
                continue
            properties = media["schema"]["properties"]
            assert properties["status"]["enum"] == [int(code)], (method, path)
            assert properties["message"]["example"] == _declared_message(path, method), (method, path)


def _error_example(operation, code):
    [value, *_] = _examples(operation["responses"][code])
    return value["message"]


def test_401_examples_are_what_an_anonymous_request_gets(schema):
    anonymous = client_for()
    asked = 0
    for path, method, operation in _operations(schema):
        if "401" not in operation["responses"]:
            continue
        response = getattr(anonymous, method)(_url(path))
        if response.status_code == 401:
            asked += 1
            assert response.json()["message"] == _error_example(operation, "401"), (method, path)
    assert asked > 50


def test_404_examples_are_what_a_missing_id_gets(schema, alice, platform_admin):
    owner, admin = client_for(alice), client_for(platform_admin)
    asked = 0
    for path, method, operation in _operations(schema):
        ids = [p for p in operation.get("parameters", []) if p["in"] == "path"]
        integer_ids = all(p["schema"]["type"] == "integer" for p in ids)
        if "404" not in operation["responses"] or "{" not in path or not integer_ids:
            continue
        client = admin if path.startswith("/api/v1/admin/") else owner
        response = getattr(client, method)(_url(path, MISSING_ID), {}, format="json")
        if response.status_code == 400:
            continue  # the body is validated before the lookup
        assert response.status_code == 404, (method, path, response.json())
        asked += 1
        assert response.json()["message"] == _error_example(operation, "404"), (method, path)
    assert asked > 10


def test_405_and_403_examples_are_what_the_api_answers(schema, alice):
    owner = client_for(alice)
    response = owner.put("/api/v1/agents")
    assert response.status_code == 405
    assert response.json()["message"] == _error_example(schema["paths"]["/api/v1/agents"]["get"], "405")
    forbidden = owner.get("/api/v1/admin/customers")
    assert forbidden.status_code == 403 and forbidden.json()["message"] == FORBIDDEN_MESSAGE
    assert _error_example(schema["paths"]["/api/v1/admin/customers"]["get"], "403") == FORBIDDEN_MESSAGE


def test_tags_have_one_casing(schema):
    tags = {tag for _, _, operation in _operations(schema) for tag in operation.get("tags", [])}
    assert tags and all(re.fullmatch(r"[a-z]+(-[a-z]+)*", tag) for tag in tags), sorted(tags)


def test_a_simulation_starts_active(schema):
    [example] = _examples(schema["paths"]["/api/v1/calls/simulate"]["post"]["responses"]["200"])
    assert example["data"]["status"] == "active"


def test_no_operation_is_described_by_a_base_classs_developer_notes(schema):
    """A viewset without a docstring of its own used to publish the scoped base's notes on
    its permission classes ("Signed in, member of an active customer, ...") as the
    operation's description (drf-spectacular inherits class docstrings)."""
    from morpheus.api import viewsets

    base_docs = {
        " ".join(cls.__doc__.split())
        for cls in vars(viewsets).values()
        if isinstance(cls, type) and cls.__module__ == viewsets.__name__ and cls.__doc__
    }
    assert base_docs, "the bases have no docstrings: this check would check nothing"
    leaked = [
        f"{method.upper()} {path}"
        for path, method, operation in _operations(schema)
        if " ".join((operation.get("description") or "").split()) in base_docs
    ]
    assert not leaked, f"described by a base class's docstring: {leaked}"
