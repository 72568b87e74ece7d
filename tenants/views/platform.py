"""/admin/*: the platform admin's API (every tenant, system health)."""

from rest_framework import mixins

from calls.selectors import call_capacity
from calls.services import call_capacity_update
from morpheus.api.parsing import validated
from morpheus.api.responses import EnvelopeResponse, ok
from morpheus.api.viewsets import PlatformAdminAPIView, PlatformAdminViewSet
from tenants import selectors, system_health

from .. import schema
from ..serializers import (
    PlatformCustomerCapacityInput,
    PlatformCustomerDetailOutput,
    PlatformCustomerOutput,
    PlatformCustomerQuery,
)

# A healthy report answers the view's declared message; these outcomes answer their own.
OUTCOMES = {
    system_health.DEGRADED: ("System health check passed with degraded components", 200),
    system_health.UNHEALTHY: ("System health check failed", 503),
}


@schema.platform_customer
class PlatformCustomerViewSet(mixins.ListModelMixin, PlatformAdminViewSet):
    serializer_class = PlatformCustomerOutput
    list_key = "customers"
    success_messages = {
        "list": "Customers retrieved successfully",
        "retrieve": "Customer retrieved successfully",
        "partial_update": "Customer updated successfully",
    }
    lookup_value_regex = "[0-9a-fA-F-]{36}"  # customer ids are UUIDs

    def get_queryset(self):
        if self.action != "list":
            return selectors.platform_customers()
        query = validated(PlatformCustomerQuery, self.request.query_params)
        return selectors.platform_customers(**query)

    def _detail(self, customer):
        customer.capacity = call_capacity(customer_id=customer.pk)
        return PlatformCustomerDetailOutput(customer).data

    def retrieve(self, request, *args, **kwargs):
        return ok(self._detail(self.get_object()))

    def partial_update(self, request, *args, **kwargs):
        customer = self.get_object()
        data = validated(PlatformCustomerCapacityInput, request.data)
        call_capacity_update(customer_id=customer.pk, changes=data, actor=request.user)
        return ok(self._detail(customer))


class SystemHealthView(PlatformAdminAPIView):
    success_messages = {"get": "System health check passed"}

    @schema.system_health_get
    def get(self, request):
        report = system_health.system_health_report()
        message, status = OUTCOMES.get(report["status"], (None, 200))
        return EnvelopeResponse({"health": report}, message=message, status=status)
