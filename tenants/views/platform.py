"""/admin/*: the platform admin's API (every tenant, system health)."""

from rest_framework import mixins

from morpheus.api.responses import EnvelopeResponse
from morpheus.api.viewsets import PlatformAdminAPIView, PlatformAdminViewSet
from tenants import selectors, system_health

from .. import schema
from ..serializers import PlatformCustomerOutput, PlatformCustomerQuery

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

    @schema.platform_customer_list
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class SystemHealthView(PlatformAdminAPIView):
    success_messages = {"get": "System health check passed"}

    @schema.system_health_get
    def get(self, request):
        report = system_health.system_health_report()
        message, status = OUTCOMES.get(report["status"], (None, 200))
        return EnvelopeResponse({"health": report}, message=message, status=status)
