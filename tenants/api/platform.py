"""/admin/*: the platform admin's API (every tenant, system health)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins

from calls.selectors import call_capacity
from calls.services import call_capacity_update
from morpheus.api.responses import EnvelopeResponse, ok
from morpheus.api.viewsets import PlatformAdminAPIView, PlatformAdminViewSet
from tenants import selectors, system_health

from .serializers import (
    PlatformCustomerCapacityInput,
    PlatformCustomerDetailOutput,
    PlatformCustomerOutput,
    PlatformCustomerQuery,
    SystemHealthOutput,
)

PLATFORM_ADMIN_ONLY = 'Platform admins only; anyone else gets 403 "You do not have permission to access this resource".'

HEALTH_MESSAGES = {
    system_health.HEALTHY: ("System health check passed", 200),
    system_health.DEGRADED: ("System health check passed with degraded components", 200),
    system_health.UNHEALTHY: ("System health check failed", 503),
}


class PlatformCustomerViewSet(mixins.ListModelMixin, PlatformAdminViewSet):
    serializer_class = PlatformCustomerOutput
    list_key = "customers"
    success_messages = {"list": "Customers retrieved successfully"}
    lookup_value_regex = "[0-9a-fA-F-]{36}"  # customer ids are UUIDs

    def get_queryset(self):
        if self.action != "list":
            return selectors.platform_customers()
        query = PlatformCustomerQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.platform_customers(**query.validated_data)

    def _detail(self, customer):
        customer.capacity = call_capacity(customer_id=customer.pk)
        return PlatformCustomerDetailOutput(customer).data

    @extend_schema(
        tags=["admin"],
        summary="Every tenant on the platform",
        description="All customers (soft-deleted ones excluded), newest first, optionally searched by company "
        "name and filtered by status. " + PLATFORM_ADMIN_ONLY,
        parameters=[PlatformCustomerQuery],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        tags=["admin"],
        summary="A tenant with its call capacity",
        description="The customer, its effective `concurrencyLimit` and `reservedInboundConcurrency` (its own "
        "or the platform defaults, see `capacityIsDefault`) and the calls holding a slot now. " + PLATFORM_ADMIN_ONLY,
        responses={200: PlatformCustomerDetailOutput},
    )
    def retrieve(self, request, *args, **kwargs):
        return ok(self._detail(self.get_object()), "Customer retrieved successfully")

    @extend_schema(
        tags=["admin"],
        summary="Change a tenant's call capacity",
        description="`concurrencyLimit` (simultaneous calls) and `reservedInboundConcurrency` (slots only "
        "inbound calls may take): integers from 0, null = back to the platform default; the reserved slots "
        "may not exceed the limit (400, nothing changed). Calls already holding a slot keep it. "
        "Logged to the `morpheus.audit` logger. " + PLATFORM_ADMIN_ONLY,
        request=PlatformCustomerCapacityInput,
        responses={200: PlatformCustomerDetailOutput},
    )
    def partial_update(self, request, *args, **kwargs):
        customer = self.get_object()
        data = PlatformCustomerCapacityInput(data=request.data)
        data.is_valid(raise_exception=True)
        call_capacity_update(customer_id=customer.pk, changes=data.validated_data, actor=request.user)
        return ok(self._detail(customer), "Customer updated successfully")


class SystemHealthView(PlatformAdminAPIView):
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
        message, status = HEALTH_MESSAGES[report["status"]]
        return EnvelopeResponse({"health": report}, message=message, status=status)
