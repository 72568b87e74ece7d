"""Endpoints that belong to the platform itself: the index, health and the API's 404."""

from django.conf import settings
from django.urls import reverse
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from . import schema
from .api.responses import EnvelopeResponse, ok
from .health import health_report


class PublicView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]


UNHEALTHY_MESSAGE = "System is unhealthy"
# A probe's Accept for which DRF's content negotiation can only pick the envelope renderer
# (anything else, or a ?format=, goes through it: a 406, a 404...).
PLAIN_ACCEPT = {"", "*/*", "application/*", "application/json"}


class HealthView(PublicView):
    success_messages = {"get": "System status retrieved"}

    def dispatch(self, request, *args, **kwargs):
        """A load balancer's GET skips DRF's request cycle, which costs as much as the probe
        itself and does nothing here (no parsers, authenticators, permissions or throttles
        to run, one renderer to pick): the view's own `get`, then DRF's finalize_response and
        renderer, so the bytes and headers are the same. Any other method or Accept: DRF."""
        accept = request.META.get("HTTP_ACCEPT", "").strip()
        if request.method != "GET" or accept not in PLAIN_ACCEPT or "format" in request.GET:
            return super().dispatch(request, *args, **kwargs)
        self.args, self.kwargs, self.request = args, kwargs, request
        self.headers = self.default_response_headers
        renderer = self.renderer_classes[0]()
        request.accepted_renderer, request.accepted_media_type = renderer, renderer.media_type
        try:
            response = self.get(request)
        except Exception as exc:  # noqa: BLE001 - the one exception handler answers, as through DRF
            response = self.handle_exception(exc)
        return self.finalize_response(request, response, *args, **kwargs)

    @schema.health
    def get(self, request):
        report = health_report()
        if report["status"] == "healthy":
            return ok(report)
        return EnvelopeResponse(report, message=UNHEALTHY_MESSAGE, status=503)


class IndexView(PublicView):
    success_messages = {"get": "Morpheus API"}

    @schema.index
    def get(self, request):
        spectacular = settings.SPECTACULAR_SETTINGS
        links = {name: request.build_absolute_uri(reverse(name)) for name in ("health", "schema", "docs")}
        return ok({"name": spectacular["TITLE"], "version": spectacular["VERSION"], "links": links})


@schema.excluded
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([AllowAny])
def api_not_found(request, *args, **kwargs):
    raise NotFound()
