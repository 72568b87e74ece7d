"""The one place the response envelope's shape is defined (DESIGN.md, The envelope)."""

from typing import Any

from django.http import HttpRequest

from .request_info import request_info


def success_body(*, status: int, message: str, data: Any, info: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "status": status, "message": message, "data": data, "requestInfo": info}


def success_envelope(request: HttpRequest, *, status: int, message: str, data: Any) -> dict[str, Any]:
    return success_body(status=status, message=message, data=data, info=request_info(request))


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
