"""Domain errors: what services raise, free of any web framework.

Services and selectors raise these (or Django's ValidationError for field errors);
the one exception handler (`morpheus.api.exceptions`) turns each into the error
envelope with its status. Nothing below `api/`/`views.py` imports `rest_framework`.

    raise NotFound(f"Agent with ID {agent_id} does not exist")
    raise Conflict("Email already registered")
    raise ServiceUnavailable("Voice service is not configured")
    raise ValidationFailed({"to": ["Enter a valid phone number."]})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class DomainError(Exception):
    """Base of every error a service raises for the client to see."""

    status_code: int = 400
    default_message: str = "Bad request"

    def __init__(self, message: str | None = None, *, retry_after: float | None = None):
        self.message = message or self.default_message
        self.retry_after = retry_after
        super().__init__(self.message)


class BadRequest(DomainError):
    status_code = 400
    default_message = "Bad request"


class ValidationFailed(DomainError):
    """Field errors: {"field_name": ["message", ...]}; snake_case or dotted names are
    camelCased by the handler (`settings.theme`, `functions.0.name`)."""

    status_code = 400
    default_message = "Validation failed"

    def __init__(self, errors: Mapping[str, Sequence[str] | str]):
        self.errors = {key: [value] if isinstance(value, str) else list(value) for key, value in errors.items()}
        super().__init__(self.default_message)


class Unauthorized(DomainError):
    status_code = 401
    default_message = "Authentication credentials were not provided."


FORBIDDEN_MESSAGE = "You do not have permission to access this resource"


class PermissionDenied(DomainError):
    status_code = 403
    default_message = FORBIDDEN_MESSAGE


class NotFound(DomainError):
    status_code = 404
    default_message = "Resource not found!!"


class Conflict(DomainError):
    status_code = 409
    default_message = "Resource already exists"


class RateLimited(DomainError):
    status_code = 429
    default_message = "Too many requests"


class ServiceUnavailable(DomainError):
    status_code = 503
    default_message = "Service temporarily unavailable"
