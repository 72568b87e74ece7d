"""Django-level error views: JSON envelopes under /api/, Django's defaults elsewhere."""

from django.views import defaults

from .api.exceptions import INTERNAL_ERROR_MESSAGE
from .api.middleware import API_PREFIX, envelope_error_response


def server_error(request, *args, **kwargs):
    if request.path.startswith(API_PREFIX):
        return envelope_error_response(request, 500, INTERNAL_ERROR_MESSAGE)
    return defaults.server_error(request, *args, **kwargs)
