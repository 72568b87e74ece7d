"""The one place the response envelope's shape is defined (DESIGN.md, The envelope)."""

from .request_info import request_info


def success_body(*, status: int, message: str, data, info: dict) -> dict:
    return {"success": True, "status": status, "message": message, "data": data, "requestInfo": info}


def success_envelope(request, *, status: int, message: str, data) -> dict:
    return success_body(status=status, message=message, data=data, info=request_info(request))


def example_envelope(data, message: str, url: str, method: str, status: int = 200) -> dict:
    """A whole success body for OpenAPI examples, as the renderer would write it."""
    return success_body(status=status, message=message, data=data, info={"url": url, "ip": "::1", "method": method})


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
