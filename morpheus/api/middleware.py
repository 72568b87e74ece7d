"""Request ids for logs, and the body-size limit answered in the envelope."""

import contextvars
import logging
import re
import uuid
from collections.abc import Callable, Mapping

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from .envelope import error_envelope
from .json import MorpheusJSONEncoder

API_PREFIX = "/api/"
_request_id = contextvars.ContextVar("request_id", default="-")


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class RequestIdMiddleware:
    """Tags the request (and its log lines) with an id, echoed as X-Request-ID."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


def envelope_error_response(
    request: HttpRequest, status: int, message: str, headers: Mapping[str, str] | None = None
) -> JsonResponse:
    """An error envelope for the few answers produced outside DRF views."""
    response = JsonResponse(
        error_envelope(request, status=status, message=message),
        status=status,
        encoder=MorpheusJSONEncoder,
    )
    for key, value in (headers or {}).items():
        response[key] = value
    return response


class ApiBodySizeMiddleware:
    """Refuses an API body over DATA_UPLOAD_MAX_MEMORY_SIZE with 413 before reading it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            # File uploads named in API_UPLOAD_LIMITS (a campaign's contacts CSV) stream to
            # disk and may be larger; every other body keeps the small limit.
            for pattern, upload_limit in getattr(settings, "API_UPLOAD_LIMITS", {}).items():
                if re.match(pattern, request.path) and (request.content_type or "").startswith("multipart/"):
                    limit = upload_limit
            if limit is not None and length > limit:
                return envelope_error_response(request, 413, "Request body too large")
        return self.get_response(request)


class ApiUnsafeInputMiddleware:
    """NUL characters in an API path or query string never reach a view (PostgreSQL
    refuses them in any text parameter): the path answers the envelope's 404, a query
    parameter a field error. Bodies are checked by the JSON and form parsers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            if "\x00" in request.path:
                return envelope_error_response(request, 404, "Resource not found!!")
            bad = sorted({key for key, value in request.GET.lists() for item in [key, *value] if "\x00" in item})
            if bad:
                errors = [
                    {"field": key.replace("\x00", "?"), "message": "Null characters are not allowed."} for key in bad
                ]
                response = JsonResponse(
                    error_envelope(request, status=400, message="Validation failed", errors=errors),
                    status=400,
                    encoder=MorpheusJSONEncoder,
                )
                return response
        return self.get_response(request)
