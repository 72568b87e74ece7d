"""OpenAPI: the schema shows the envelope every response really has, with true examples.

Examples in each app's schema.py carry only what varies: a success example's `data`, an
error's `message` (and `errors`), through `error(status, message)`. The envelope around
them is added here, with the status of the response it documents and, for a success,
the message the view declares in `success_messages` (morpheus/api/responses.py), so no
message is written twice. Standard errors get the message the code really answers.
"""

import re
from collections.abc import Mapping
from typing import Any

from drf_spectacular.drainage import warn
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_lib_doc_excludes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view

from morpheus.errors import FORBIDDEN_MESSAGE

from .envelope import success_body
from .exceptions import DEPENDENCY_DOWN_MESSAGE, INTERNAL_ERROR_MESSAGE, NOT_FOUND_MESSAGE, VALIDATION_FAILED_MESSAGE
from .responses import declared_message

# The id an example 404 names: none of the examples' rows has it.
MISSING_ID = 999999
EXAMPLE_IP = "::1"
SUCCESS_MESSAGE = "x-morpheus-success-message"
NOT_FOUND = "x-morpheus-not-found"
BARE_SUCCESS = "x-morpheus-bare-success"

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
        "statusCode": {"type": "integer"},
        "message": {"type": "string"},
        "data": {"nullable": True},
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


# The message each standard error really answers with (the exception handler's, DRF's).
STANDARD_MESSAGES = {
    "400": VALIDATION_FAILED_MESSAGE,
    "401": "Authentication credentials were not provided.",
    "403": FORBIDDEN_MESSAGE,
    "404": NOT_FOUND_MESSAGE,
    "405": 'Method "{method}" not allowed.',
    "409": "Resource already exists",
    "413": "Request body too large",
    "415": 'Unsupported media type "text/plain" in request.',
    "429": "Too many requests. Try again in 30 seconds.",
    "500": INTERNAL_ERROR_MESSAGE,
    "503": DEPENDENCY_DOWN_MESSAGE,
}


def error(status: int, message: str, *more: str, description: str = "", data: Any = None) -> OpenApiResponse:
    """An error an operation documents, with each message the code raises for it:
    `409: error(409, DUPLICATE_MESSAGE)`. The envelope is added by the hook; `data` is for
    the one kind of error that carries some (a health report that is down)."""
    extra = {} if data is None else {"data": data}
    return OpenApiResponse(
        description=description or message,
        examples=[
            OpenApiExample(text, value={"message": text, **extra}, status_codes=[str(status)], response_only=True)
            for text in (message, *more)
        ],
    )


def response_example(name: str, data: Any, status: int = 200) -> OpenApiExample:
    """A success example of an operation: the answer's `data` only (the hook adds the
    envelope, with this status and the view's declared message)."""
    return OpenApiExample(name, value=data, response_only=True, status_codes=[str(status)])


def request_example(name: str, body: Any) -> OpenApiExample:
    """An example request body."""
    return OpenApiExample(name, value=body, request_only=True)


def invalid(field: str, *messages: str, description: str = "") -> OpenApiResponse:
    """A 400 an operation documents: "Validation failed" with each message its field gets."""
    return OpenApiResponse(
        description=description or messages[0],
        examples=[
            OpenApiExample(
                text,
                value={"message": VALIDATION_FAILED_MESSAGE, "errors": [{"field": field, "message": text}]},
                status_codes=["400"],
                response_only=True,
            )
            for text in messages
        ],
    )


def doc_excludes() -> list[type]:
    """Classes whose docstrings never describe an operation (SPECTACULAR_SETTINGS
    GET_LIB_DOC_EXCLUDES): drf-spectacular's own list plus our scoped bases, whose notes
    on permission classes are for developers. Without them every viewset without a
    docstring of its own published TenantAccessMixin's docstring as its description."""
    from . import viewsets

    return [
        *get_lib_doc_excludes(),  # type: ignore[no-untyped-call]
        viewsets.ProtectedAccessMixin,
        viewsets.TenantAccessMixin,
        viewsets.PlatformAdminAccessMixin,
        viewsets.ListKeyMixin,
        viewsets.TenantScopedAPIView,
        viewsets.PlatformAdminAPIView,
        viewsets.TenantScopedViewSet,
        viewsets.PlatformAdminViewSet,
        viewsets.ListMixin,
        viewsets.CreateMixin,
        viewsets.PartialUpdateMixin,
        viewsets.DestroyMixin,
        viewsets.NestedMixin,
    ]


STANDARD_ACTIONS = ("list", "create", "retrieve", "update", "partial_update", "destroy")


def resource_views(tag: str, namespace: Mapping[str, Any], prefix: str) -> Any:
    """The class decorator of a viewset: `tag` on every operation, and the documentation of
    its standard actions, which the view may inherit from DRF's or our mixins
    (morpheus/api/viewsets.py) and so has no method to decorate. Each is found in the app's
    schema module by name:

        phone_number = resource_views("phone-numbers", globals(), "phone_number_")

    documents the view's `list` with the module's `phone_number_list`, `create` with
    `phone_number_create`, and so on; they are looked up when the view class is decorated,
    so they may be defined below this line. Other actions keep their own `@schema.<name>`."""

    def decorate(view: Any) -> Any:
        found = {
            action: namespace[f"{prefix}{action}"]
            for action in STANDARD_ACTIONS
            if f"{prefix}{action}" in namespace and hasattr(view, action)
        }
        return extend_schema(tags=[tag])(extend_schema_view(**found)(view))

    return decorate


class MorpheusAutoSchema(AutoSchema):
    """Notes on each operation what only the view knows: its declared success message and
    the 404 message its lookup answers. `wrap_responses_in_envelope` consumes both."""

    def get_operation(self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any) -> Any:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        message = declared_message(self.view, method)
        if message:
            operation[SUCCESS_MESSAGE] = message
        elif not operation.get(BARE_SUCCESS) and any(
            str(code).startswith("2") and "application/json" in (response.get("content") or {})
            for code, response in operation["responses"].items()
        ):
            warn(f"{method} {path}: declare its message in the view's success_messages")
        not_found = self._not_found_message(path)
        if not_found:
            operation[NOT_FOUND] = not_found
        return operation

    def _get_response_for_code(
        self, serializer: Any, status_code: str, media_types: Any = None, direction: str = "response"
    ) -> Any:
        if not status_code.startswith(("4", "5")) or not isinstance(serializer, OpenApiResponse):
            return super()._get_response_for_code(  # type: ignore[no-untyped-call]
                serializer, status_code, media_types, direction
            )
        # An error documented with error(): keep its messages for the hook to envelope.
        examples = {
            _example_key(example.name): {"summary": example.name, "value": example.value}
            for example in serializer.examples or []
        }
        content = {"application/json": {"examples": examples}} if examples else {}
        return {"description": serializer.description or STANDARD_ERRORS.get(status_code, ""), "content": content}

    def _not_found_message(self, path: str) -> str | None:
        params = re.findall(r"{(\w+)}", path)
        if not params:
            return None
        parent_label = getattr(self.view, "parent_label", None)
        if parent_label:  # a nested route looks its parent up first (/agents/{agent_id}/...)
            return f"{parent_label} with ID {MISSING_ID} does not exist"
        not_found_message = getattr(self.view, "not_found_message", None)
        if not_found_message is None:
            return None
        self.view.kwargs = dict.fromkeys(params, MISSING_ID)
        return str(not_found_message(MISSING_ID))


def _example_key(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "", name.title()) or "Example"


def _is_json_success(code: Any, response: dict[str, Any]) -> bool:
    content = response.get("content")
    return str(code).startswith("2") and (not content or "application/json" in content)


def _example_url(path: str, data: Any) -> str:
    """The path an example response answers: `{id}` is the example's id."""
    own_id = data.get("id") if isinstance(data, dict) else None

    def value(match: re.Match[str]) -> str:
        return str(own_id if own_id is not None and match.group(1) in ("id", "pk") else 1)

    return re.sub(r"{(\w+)}", value, path)


def _error_body(code: str, value: dict[str, Any], url: str, method: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "success": False,
        "statusCode": int(code),
        "message": value["message"],
        "data": value.get("data"),
    }
    if "errors" in value:
        body["errors"] = value["errors"]
    body["requestInfo"] = {"url": url, "ip": EXAMPLE_IP, "method": method}
    return body


def _standard_error(code: str, operation: dict[str, Any], allowed: set[str], schemas: dict[str, Any]) -> dict[str, Any]:
    message = STANDARD_MESSAGES.get(code, STANDARD_ERRORS.get(code, ""))
    if code == "404":
        message = operation.get(NOT_FOUND, message)
    if code == "405":
        refused = next(m for m in ("PUT", "PATCH", "DELETE", "POST", "GET") if m.lower() not in allowed)
        message = message.format(method=refused)
    value: dict[str, Any] = {"message": message}
    if code == "400":
        value["errors"] = [_field_error(operation, schemas)]
    return value


def _field_error(operation: dict[str, Any], schemas: dict[str, Any]) -> dict[str, str]:
    """What a 400 names: the body's first required field left out, else a query parameter
    given a value it refuses."""
    body = (operation.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema", {})
    required = schemas.get(str(body.get("$ref", "")).rsplit("/", 1)[-1], {}).get("required") or []
    if required:
        return {"field": str(required[0]), "message": "This field is required."}
    for parameter in operation.get("parameters") or []:
        if parameter.get("in") == "query":
            return {"field": str(parameter["name"]), "message": "Enter a valid value."}
    return {"field": "nonFieldErrors", "message": "Invalid data. Expected a dictionary, but got list."}


def _success_envelope(data_schema: dict[str, Any] | None, code: str, message: str | None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "success": {"type": "boolean", "enum": [True]},
            "status": {"type": "integer", "enum": [int(code)]},
            "message": {"type": "string", **({"example": message} if message else {})},
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
        allowed = {method for method, operation in operations.items() if isinstance(operation, dict)}
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            # The one operation whose success body is the spec's bare object (DESIGN.md).
            bare_success = operation.pop(BARE_SUCCESS, False)
            message = operation.pop(SUCCESS_MESSAGE, None)
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
            for code in needs:
                responses.setdefault(code, {"description": STANDARD_ERRORS[code]})
            for code, response in list(responses.items()):
                code = str(code)
                if code.startswith("2"):
                    if not _is_json_success(code, response) or bare_success or not message:
                        continue  # a CSV export or TwiML (no message declared), the bare webhook answer
                    media = (response.get("content") or {}).get("application/json", {})
                    media["schema"] = _success_envelope(media.get("schema"), code, message)
                    for example in (media.get("examples") or {}).values():
                        data = example["value"]
                        info = {"url": _example_url(path, data), "ip": EXAMPLE_IP, "method": method.upper()}
                        example["value"] = success_body(status=int(code), message=message or "", data=data, info=info)
                    others = {k: v for k, v in (response.get("content") or {}).items() if k != "application/json"}
                    response["content"] = {"application/json": media, **others}
                    continue
                media = (response.get("content") or {}).get("application/json", {})
                examples = media.get("examples") or {
                    f"Error{code}": {"value": _standard_error(code, operation, allowed, schemas)}
                }
                # A 404 names the missing id the example message does.
                url = re.sub(r"{\w+}", str(MISSING_ID), path) if code == "404" else _example_url(path, None)
                for example in examples.values():
                    example["value"] = _error_body(code, example["value"], url, method.upper())
                response["content"] = {"application/json": {"schema": error_ref, "examples": examples}}
            operation.pop(NOT_FOUND, None)
            operation["responses"] = dict(sorted(responses.items()))
    return result
