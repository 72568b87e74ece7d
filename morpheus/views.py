"""Endpoints that belong to the platform itself: the index, health and the API's 404."""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny

from .api.responses import EnvelopeResponse
from .health import health_report

HealthSerializer = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["healthy", "unhealthy"]),
        "uptime": serializers.CharField(help_text='e.g. "2d 4h 12m 30s"'),
        "timestamp": serializers.DateTimeField(),
        "database": serializers.ChoiceField(choices=["connected", "disconnected"]),
        "memory": inline_serializer(
            "HealthMemory",
            {"rss": serializers.CharField(), "heapTotal": serializers.CharField(), "heapUsed": serializers.CharField()},
        ),
        "system": inline_serializer(
            "HealthSystem",
            {
                "platform": serializers.CharField(),
                "pythonVersion": serializers.CharField(),
                "pid": serializers.IntegerField(),
                "loadAvg": serializers.ListField(child=serializers.FloatField()),
            },
        ),
    },
)


@extend_schema(
    tags=["health"],
    summary="System health",
    auth=[],
    responses={200: HealthSerializer, 503: OpenApiResponse(HealthSerializer, description="Database unreachable")},
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def health(request):
    report = health_report()
    if report["status"] == "healthy":
        return EnvelopeResponse(report, message="System status retrieved")
    return EnvelopeResponse(report, message="System is unhealthy", status=503)


IndexSerializer = inline_serializer(
    "ApiIndex",
    {
        "name": serializers.CharField(),
        "version": serializers.CharField(),
        "links": inline_serializer(
            "ApiIndexLinks",
            {"health": serializers.URLField(), "schema": serializers.URLField(), "docs": serializers.URLField()},
        ),
    },
)


@extend_schema(tags=["health"], summary="The API root: name, version and links", auth=[], responses=IndexSerializer)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def index(request):
    spectacular = settings.SPECTACULAR_SETTINGS
    links = {name: request.build_absolute_uri(reverse(name)) for name in ("health", "schema", "docs")}
    data = {"name": spectacular["TITLE"], "version": spectacular["VERSION"], "links": links}
    return EnvelopeResponse(data, message="Morpheus API")


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([AllowAny])
def api_not_found(request, *args, **kwargs):
    raise NotFound()
