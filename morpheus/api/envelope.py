"""The one place the response envelope's shape is defined (DESIGN.md, The envelope)."""

from typing import Any

from django.http import HttpRequest

from .request_info import request_info


def success_body(*, status: int, message: str, data: Any, info: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "status": status, "message": message, "data": data, "requestInfo": info}


def success_envelope(request: HttpRequest, *, status: int, message: str, data: Any) -> dict[str, Any]:
    return success_body(status=status, message=message, data=data, info=request_info(request))


def example_envelope(data: Any, message: str, url: str, method: str, status: int = 200) -> dict[str, Any]:
    """A whole success body for OpenAPI examples, as the renderer would write it."""
    return success_body(status=status, message=message, data=data, info={"url": url, "ip": "::1", "method": method})


def error_envelope(
    request: HttpRequest, *, status: int, message: str, errors: list[dict[str, str]] | None = None, data: Any = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "success": False,
        "statusCode": status,
        "message": message,
        "data": data,
    }
    if errors is not None:
        body["errors"] = errors
    body["requestInfo"] = request_info(request)
    return body
