"""OpenAPI documentation of the platform's own endpoints: the index and health."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers

from morpheus.api.schema import error

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


UNHEALTHY = {
    "status": "unhealthy",
    "uptime": "2d 4h 12m 30s",
    "timestamp": "2026-02-05T21:30:00.000Z",
    "database": "disconnected",
    "memory": {"rss": "85.2 MB", "heapTotal": "85.2 MB", "heapUsed": "61.0 MB"},
    "system": {"platform": "linux", "pythonVersion": "3.11.9", "pid": 7, "loadAvg": [0.4, 0.3, 0.2]},
}

health = extend_schema(
    tags=["health"],
    summary="System health",
    auth=[],
    responses={
        200: HealthSerializer,
        503: error(503, "System is unhealthy", description="Database unreachable", data=UNHEALTHY),
    },
)

index = extend_schema(
    tags=["health"], summary="The API root: name, version and links", auth=[], responses=IndexSerializer
)

# The catch-all 404 under /api/v1 is not an operation.
excluded = extend_schema(exclude=True)
