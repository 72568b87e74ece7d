"""The success response views return: bare data plus the envelope's message."""

from collections.abc import Mapping
from typing import Any

from rest_framework.response import Response


class EnvelopeResponse(Response):
    def __init__(
        self, data: Any = None, *, message: str, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(data=data, status=status, headers=headers)
        self.message = message


def ok(data: Any, message: str, *, status: int = 200, headers: Mapping[str, str] | None = None) -> EnvelopeResponse:
    return EnvelopeResponse(data, message=message, status=status, headers=headers)


def created(data: Any, message: str) -> EnvelopeResponse:
    return EnvelopeResponse(data, message=message, status=201)


class BareResponse(Response):
    """A success body rendered as-is, outside the envelope: only for the spec's one
    exception, the JSON inbound voice webhook (DESIGN.md, The envelope). Errors raised by
    the same view are still enveloped."""

    bare = True


def bare(data: Any, *, status: int = 200) -> BareResponse:
    return BareResponse(data, status=status)
