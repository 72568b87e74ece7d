"""The one place the response envelope's shape is defined (DESIGN.md, The envelope)."""

from .request_info import request_info


def success_envelope(request, *, status: int, message: str, data) -> dict:
    return {
        "success": True,
        "status": status,
        "message": message,
        "data": data,
        "requestInfo": request_info(request),
    }


def error_envelope(request, *, status: int, message: str, errors: list | None = None, data=None) -> dict:
    body = {
        "success": False,
        "statusCode": status,
        "message": message,
        "data": data,
    }
    if errors is not None:
        body["errors"] = errors
    body["requestInfo"] = request_info(request)
    return body
