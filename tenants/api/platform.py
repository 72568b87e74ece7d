"""/admin/*: the platform admin's API (every tenant, system health)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins

from morpheus.api.responses import EnvelopeResponse
from morpheus.api.viewsets import PlatformAdminAPIView, PlatformAdminViewSet
from tenants import selectors, system_health

from .serializers import PlatformCustomerOutput, PlatformCustomerQuery, SystemHealthOutput

PLATFORM_ADMIN_ONLY = 'Platform admins only; anyone else gets 403 "You do not have permission to access this resource".'

# A healthy report answers the view's declared message; these outcomes answer their own.
OUTCOMES = {
    system_health.DEGRADED: ("System health check passed with degraded components", 200),
    system_health.UNHEALTHY: ("System health check failed", 503),
}


class PlatformCustomerViewSet(mixins.ListModelMixin, PlatformAdminViewSet):
    serializer_class = PlatformCustomerOutput
    list_key = "customers"
    success_messages = {"list": "Customers retrieved successfully"}

    def get_queryset(self):
        query = PlatformCustomerQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.platform_customers(**query.validated_data)

    @extend_schema(
        tags=["admin"],
        summary="Every tenant on the platform",
        description="All customers (soft-deleted ones excluded), newest first, optionally searched by company "
        "name and filtered by status. " + PLATFORM_ADMIN_ONLY,
        parameters=[PlatformCustomerQuery],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class SystemHealthView(PlatformAdminAPIView):
    success_messages = {"get": "System health check passed"}

    @extend_schema(
        tags=["admin"],
        summary="Deep system health",
        description=(
            "Each dependency with its status (`up`, `down`, `not_configured`, `eager`) and latency: the "
            "database (SELECT 1, vendor, CONN_MAX_AGE, and on PostgreSQL the server's connection counts "
            "and pool statistics), Redis (PING), Celery (workers answering a broadcast ping through the "
            "broker; `eager` when tasks run inline) and LiveKit (RoomService.ListRooms). "
            '`status` is `healthy`; `degraded` (still 200, message "System health check passed with '
            'degraded components") when Celery workers or LiveKit are down; `unhealthy` (503, message '
            '"System health check failed", the report in `data`) when the database or a configured '
            "Redis is down. " + PLATFORM_ADMIN_ONLY
        ),
        responses={
            200: SystemHealthOutput,
            503: OpenApiResponse(SystemHealthOutput, description="The database or Redis is down"),
        },
    )
    def get(self, request):
        report = system_health.system_health_report()
        message, status = OUTCOMES.get(report["status"], (None, 200))
        return EnvelopeResponse({"health": report}, message=message, status=status)
