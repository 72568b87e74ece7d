"""Django-level error views: JSON envelopes under /api/, Django's defaults elsewhere."""

import sys

from django.views import defaults

from .api.exceptions import DEPENDENCY_DOWN_MESSAGE, INTERNAL_ERROR_MESSAGE, NOT_FOUND_MESSAGE, dependency_down
from .api.middleware import API_PREFIX, envelope_error_response


def server_error(request, *args, **kwargs):
    if request.path.startswith(API_PREFIX):
        # Django calls this inside its `except` block: a dependency outage raised outside
        # a DRF view (middleware, a plain view) is a 503 like inside one.
        exc = sys.exc_info()[1]
        if exc is not None and dependency_down(exc):
            return envelope_error_response(request, 503, DEPENDENCY_DOWN_MESSAGE, headers={"Retry-After": "5"})
        return envelope_error_response(request, 500, INTERNAL_ERROR_MESSAGE)
    return defaults.server_error(request, *args, **kwargs)


def not_found(request, exception=None):
    """Paths under /api/ that no route took (e.g. /api/v2/...): the envelope's 404."""
    if request.path.startswith(API_PREFIX):
        return envelope_error_response(request, 404, NOT_FOUND_MESSAGE)
    return defaults.page_not_found(request, exception)
