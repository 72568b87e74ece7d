"""OpenAPI post-processing: the schema shows the envelope every response really has."""

from typing import Any

REQUEST_INFO = {
    "type": "object",
    "properties": {
        "url": {"type": "string", "example": "/api/v1/agents"},
        "ip": {"type": "string", "example": "::1"},
        "method": {"type": "string", "example": "GET"},
    },
    "required": ["url", "ip", "method"],
}

ERROR_ENVELOPE = {
    "type": "object",
    "properties": {
        "success": {"type": "boolean", "enum": [False]},
        "statusCode": {"type": "integer", "example": 404},
        "message": {"type": "string", "example": "Resource not found!!"},
        "data": {"nullable": True, "example": None},
        "errors": {
            "type": "array",
            "description": "Present on validation errors (message 'Validation failed'); nested fields are dotted.",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                "required": ["field", "message"],
            },
        },
        "requestInfo": {"$ref": "#/components/schemas/RequestInfo"},
    },
    "required": ["success", "statusCode", "message", "data", "requestInfo"],
}

STANDARD_ERRORS = {
    "400": "Validation failed, or malformed JSON (also JSON nested deeper than 64 levels, NUL or unpaired "
    "surrogate characters in a string)",
    "401": "Missing, invalid or expired token ('Token expired')",
    "403": "You do not have permission to access this resource",
    "404": "Resource not found!!",
    "405": "Method not allowed on this path",
    "413": "Request body too large (over DATA_UPLOAD_MAX_MEMORY_SIZE, 1 MiB)",
    "415": "Unsupported media type: bodies are application/json",
    "429": "Too many requests; Retry-After says when to try again",
    "500": "Internal server error!!",
    "503": "Service temporarily unavailable: a dependency (database, Redis, broker, LiveKit) is down; "
    "Retry-After may say when to try again",
}
# Every operation can answer these, whatever it does (docs/operations.md, "When a
# dependency is down"); request-line/header limits (414/431) are gunicorn's, before any
# operation, and described in the API description instead.
ALWAYS = {"405", "415", "429", "500", "503"}


def _success_envelope(data_schema: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "success": {"type": "boolean", "enum": [True]},
            "status": {"type": "integer", "example": 200},
            "message": {"type": "string"},
            "data": data_schema or {"nullable": True},
            "requestInfo": {"$ref": "#/components/schemas/RequestInfo"},
        },
        "required": ["success", "status", "message", "data", "requestInfo"],
    }


def wrap_responses_in_envelope(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["RequestInfo"] = REQUEST_INFO
    schemas["ErrorEnvelope"] = ERROR_ENVELOPE
    error_ref = {"$ref": "#/components/schemas/ErrorEnvelope"}

    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            # The one operation whose success body is the spec's bare object (DESIGN.md).
            bare_success = operation.pop("x-morpheus-bare-success", False)
            for code, response in list(responses.items()):
                if (
                    str(code).startswith("2")
                    and response.get("content")
                    and "application/json" not in response["content"]
                ):
                    continue  # a documented non-JSON success (CSV export) is not enveloped
                content = response.get("content") or {"application/json": {}}
                media = content.setdefault("application/json", {})
                if str(code).startswith("2") and bare_success:
                    continue
                if str(code).startswith("2"):
                    media["schema"] = _success_envelope(media.get("schema"))
                    others = {k: v for k, v in content.items() if k != "application/json"}
                    response["content"] = {"application/json": media, **others}
                else:
                    response["content"] = {"application/json": {"schema": error_ref}}
            needs = set(ALWAYS)
            # Authenticated operations carry their security inline; public ones (health,
            # webhooks) have none or an empty entry and never answer 401.
            if any(requirement for requirement in operation.get("security") or []):
                needs |= {"401", "403"}
            if "requestBody" in operation or operation.get("parameters"):
                needs.add("400")
            if "requestBody" in operation:
                needs.add("413")
            if "{" in path:
                needs.add("404")
            for code in sorted(needs):
                responses.setdefault(
                    code,
                    {"description": STANDARD_ERRORS[code], "content": {"application/json": {"schema": error_ref}}},
                )
    return result
