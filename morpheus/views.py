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


class HealthView(PublicView):
    success_messages = {"get": "System status retrieved"}

    @schema.health
    def get(self, request):
        report = health_report()
        if report["status"] == "healthy":
            return ok(report)
        return EnvelopeResponse(report, message="System is unhealthy", status=503)


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
