"""Wraps every API payload in the envelope; views return bare data."""

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import JSONRenderer

from .envelope import error_envelope, success_envelope
from .json import MorpheusJSONEncoder
from .responses import declared_message

DEFAULT_SUCCESS_MESSAGE = "Request successful"


class EnvelopeRenderer(JSONRenderer):
    encoder_class = MorpheusJSONEncoder
    # The spec's examples use JSON without unicode escapes.
    ensure_ascii = False

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        renderer_context = renderer_context or {}
        response = renderer_context.get("response")
        request = renderer_context.get("request")
        if response is None or request is None:
            return bytes(super().render(data, accepted_media_type, renderer_context))
        status = response.status_code
        if getattr(response, "bare", False) and status < 400:
            return bytes(super().render(data, accepted_media_type, renderer_context))
        explicit_message = getattr(response, "message", None)
        if status >= 400 and explicit_message:
            # A view's own failure answer that still carries data (health when the DB is down).
            body = error_envelope(request, status=status, message=explicit_message, data=data)
        elif status >= 400:
            data = data if isinstance(data, dict) else {}
            body = error_envelope(
                request,
                status=status,
                message=data.get("message", "Request failed"),
                errors=data.get("errors"),
            )
        else:
            message = explicit_message or _view_message(renderer_context, request)
            body = success_envelope(request, status=status, message=message, data=data)
        return bytes(super().render(body, accepted_media_type, renderer_context))


def _view_message(renderer_context: Mapping[str, Any], request: Any) -> str:
    return declared_message(renderer_context.get("view"), request.method) or DEFAULT_SUCCESS_MESSAGE
