"""The schema documents every answer an operation can give, and the edges outside Django
are configured (issue 13, finding 10)."""

import re
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield f"{method.upper()} {path}", operation


def test_every_operation_documents_405_415_429_and_503_in_the_envelope(schema):
    missing = []
    for label, operation in operations(schema):
        for code in ("405", "415", "429", "500", "503"):
            response = operation["responses"].get(code)
            if response is None:
                missing.append(f"{label} {code}")
                continue
            assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}
    assert not missing, missing
    assert len(list(operations(schema))) >= 40


def test_operations_with_a_body_document_400_and_413(schema):
    for label, operation in operations(schema):
        if "requestBody" in operation:
            assert {"400", "413"} <= set(operation["responses"]), label


def test_a_non_json_success_is_not_wrapped_in_the_envelope(schema):
    csv = schema["paths"].get("/api/v1/calls/export.csv")
    if csv is None:
        pytest.skip("no CSV export on this branch")
    assert set(csv["get"]["responses"]["200"]["content"]) == {"text/csv"}


def test_the_json_inbound_webhook_documents_its_bare_body(schema):
    response = schema["paths"]["/api/v1/webhooks/voice/inbound"]["post"]["responses"]["200"]
    body = response["content"]["application/json"]["schema"]
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert {"action", "roomName", "agentId"} <= set(body["properties"])
    assert "success" not in body["properties"]


def test_the_caddyfile_answers_gunicorns_414_and_431_in_the_envelope():
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    matcher = re.search(r"@refused_by_gunicorn status 414 431", caddyfile)
    assert matcher, "the proxy must rewrite gunicorn's HTML 414/431"
    block = caddyfile[matcher.end() :]
    assert "handle_response @refused_by_gunicorn" in block
    assert '"success":false,"statusCode":{rp.status_code}' in block and "application/json" in block
