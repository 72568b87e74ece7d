"""Every API error becomes the error envelope here; views and services just raise.

Services raise `morpheus.errors` domain errors or Django's ValidationError (model-field
names); serializers raise DRF's ValidationError (already camelCase field names).
"""

import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings

from morpheus import errors as domain
from morpheus.errors import FORBIDDEN_MESSAGE, Conflict, ServiceUnavailable

# Views and tests may raise these from here too; they are the domain errors.
__all__ = ["FORBIDDEN_MESSAGE", "Conflict", "ServiceUnavailable", "envelope_exception_handler", "flatten_errors"]

from .casing import to_camel

logger = logging.getLogger("morpheus.api")

NOT_FOUND_MESSAGE = "Resource not found!!"
INTERNAL_ERROR_MESSAGE = "Internal server error!!"
VALIDATION_FAILED_MESSAGE = "Validation failed"
NON_FIELD = "nonFieldErrors"


class Unauthorized(exceptions.AuthenticationFailed):
    auth_header = 'Bearer realm="api"'


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large"
    default_code = "payload_too_large"


def flatten_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested error detail as [{field, message}] with dotted paths."""
    if isinstance(detail, dict):
        items: list[dict[str, str]] = []
        for key, value in detail.items():
            name = NON_FIELD if key in (api_settings.NON_FIELD_ERRORS_KEY, "__all__") else str(key)
            path = f"{prefix}.{name}" if prefix and name != NON_FIELD else (prefix or name)
            items.extend(flatten_errors(value, path))
        return items
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return [{"field": prefix or NON_FIELD, "message": str(item)} for item in detail]
        items = []
        for index, item in enumerate(detail):
            if item in ({}, [], None):
                continue
            items.extend(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
        return items
    return [{"field": prefix or NON_FIELD, "message": str(detail)}]


def _django_validation_detail(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            (key if key == "__all__" else to_camel(key)): [m for err in errors for m in err.messages]
            for key, errors in exc.error_dict.items()
        }
    return {"__all__": exc.messages}


def _error(
    message: str, http_status: int, errors: list[dict[str, str]] | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    data: dict[str, Any] = {"message": message}
    if errors is not None:
        data["errors"] = errors
    return Response(data, status=http_status, headers=headers)


def _from_domain(exc: domain.DomainError) -> exceptions.APIException:
    if isinstance(exc, domain.ValidationFailed):
        return exceptions.ValidationError(
            {
                key if key == "__all__" else ".".join(to_camel(p) for p in key.split(".")): v
                for key, v in exc.errors.items()
            }
        )
    if isinstance(exc, domain.RateLimited):
        return exceptions.Throttled(wait=exc.retry_after)
    if exc.status_code == status.HTTP_401_UNAUTHORIZED:
        return Unauthorized(exc.message)
    api_exc = exceptions.APIException(exc.message)
    api_exc.status_code = exc.status_code
    return api_exc


DEPENDENCY_DOWN_MESSAGE = "Service temporarily unavailable"


def dependency_down(exc: BaseException) -> str | None:
    """Which dependency an exception says is down ("database", "redis", "broker"), or None.

    Connection-level errors only: PostgreSQL refusing or dropping the connection (Django's
    OperationalError/InterfaceError, which also cover lock and statement timeouts), Redis
    unreachable, the Celery broker unreachable. A bug (ProgrammingError, IntegrityError,
    DataError) stays a 500."""
    from django.db import InterfaceError, OperationalError

    if isinstance(exc, (OperationalError, InterfaceError)):
        return "database"
    try:
        import redis

        if isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
            return "redis"
    except ImportError:  # pragma: no cover - redis is a pinned dependency
        pass
    try:
        import kombu.exceptions

        if isinstance(exc, kombu.exceptions.OperationalError):
            return "broker"
    except ImportError:  # pragma: no cover - celery brings kombu
        pass
    return None


def envelope_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response:
    down = dependency_down(exc)
    if down is not None:
        request = context.get("request")
        logger.error(
            "%s unavailable on %s %s: %s",
            down,
            getattr(request, "method", "?"),
            getattr(request, "path", "?"),
            exc,
        )
        return _error(DEPENDENCY_DOWN_MESSAGE, status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "5"})
    if isinstance(exc, domain.DomainError):
        exc = _from_domain(exc)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_validation_detail(exc))
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(NOT_FOUND_MESSAGE)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(FORBIDDEN_MESSAGE)

    if not isinstance(exc, exceptions.APIException):
        request = context.get("request")
        logger.exception("Unhandled error on %s %s", getattr(request, "method", "?"), getattr(request, "path", "?"))
        return _error(INTERNAL_ERROR_MESSAGE, status.HTTP_500_INTERNAL_SERVER_ERROR)

    headers = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = str(auth_header)
    wait = getattr(exc, "wait", None)
    if wait is not None:
        headers["Retry-After"] = str(max(1, int(round(wait))))

    if isinstance(exc, exceptions.ValidationError):
        return _error(VALIDATION_FAILED_MESSAGE, exc.status_code, flatten_errors(exc.detail))
    return _error(_message_for(exc), exc.status_code, headers=headers or None)


def _message_for(exc: exceptions.APIException) -> str:
    raw = exc.detail
    if isinstance(raw, (list, dict)):
        flat = flatten_errors(raw)
        detail = str(flat[0]["message"] if flat else exc.default_detail)
    else:
        detail = str(raw)
    if isinstance(exc, exceptions.PermissionDenied) and detail == str(exceptions.PermissionDenied.default_detail):
        return FORBIDDEN_MESSAGE
    if isinstance(exc, exceptions.NotFound) and detail == str(exceptions.NotFound.default_detail):
        return NOT_FOUND_MESSAGE
    if isinstance(exc, exceptions.ParseError):
        return "Malformed JSON in request body"
    if isinstance(exc, exceptions.Throttled):
        wait = getattr(exc, "wait", None) or 1
        return f"Too many requests. Try again in {max(1, int(round(wait)))} seconds."
    return detail
