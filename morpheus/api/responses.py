"""The success response views return: bare data. The renderer wraps it in the envelope
with the message the view declares for the action (`success_messages`), and the OpenAPI
schema reads the same declaration, so each message is written once."""

from collections.abc import Mapping
from typing import Any

from rest_framework.response import Response


class EnvelopeResponse(Response):
    """`message` is only for an answer whose message depends on its outcome (a health
    report that is degraded or down); every other message is the view's declaration."""

    def __init__(
        self,
        data: Any = None,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        message: str | None = None,
    ) -> None:
        super().__init__(data=data, status=status, headers=headers)
        self.message = message


def ok(data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> EnvelopeResponse:
    return EnvelopeResponse(data, status=status, headers=headers)


def created(data: Any) -> EnvelopeResponse:
    return EnvelopeResponse(data, status=201)


def view_action(view: Any, method: str) -> str:
    """The key of `success_messages`: a viewset's action, else the HTTP method ("get")."""
    return str(getattr(view, "action", None) or method.lower())


def declared_message(view: Any, method: str) -> str | None:
    """The success message a view declares for what it is doing:
    `success_messages = {"retrieve": "Agent retrieved successfully", ...}`."""
    messages: Mapping[str, str] = getattr(view, "success_messages", None) or {}
    return messages.get(view_action(view, method))


class BareResponse(Response):
    """A success body rendered as-is, outside the envelope: only for the spec's one
    exception, the JSON inbound voice webhook (DESIGN.md, The envelope). Errors raised by
    the same view are still enveloped."""

    bare = True


def bare(data: Any, *, status: int = 200) -> BareResponse:
    return BareResponse(data, status=status)
