"""The success response views return: bare data plus the envelope's message."""

from rest_framework.response import Response


class EnvelopeResponse(Response):
    def __init__(self, data=None, *, message: str, status: int = 200, headers=None):
        super().__init__(data=data, status=status, headers=headers)
        self.message = message


def ok(data, message: str, *, status: int = 200, headers=None) -> EnvelopeResponse:
    return EnvelopeResponse(data, message=message, status=status, headers=headers)


def created(data, message: str) -> EnvelopeResponse:
    return EnvelopeResponse(data, message=message, status=201)


class BareResponse(Response):
    """A success body rendered as-is, outside the envelope: only for the spec's one
    exception, the JSON inbound voice webhook (DESIGN.md, The envelope). Errors raised by
    the same view are still enveloped."""

    bare = True


def bare(data, *, status: int = 200) -> BareResponse:
    return BareResponse(data, status=status)
