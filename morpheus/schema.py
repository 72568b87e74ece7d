"""OpenAPI documentation of the platform's own endpoints: the index and health."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers

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


health = extend_schema(
    tags=["health"],
    summary="System health",
    auth=[],
    responses={200: HealthSerializer, 503: OpenApiResponse(HealthSerializer, description="Database unreachable")},
)

index = extend_schema(
    tags=["health"], summary="The API root: name, version and links", auth=[], responses=IndexSerializer
)

# The catch-all 404 under /api/v1 is not an operation.
excluded = extend_schema(exclude=True)
