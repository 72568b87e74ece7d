"""GET /analytics/calls and /analytics/latency: the tenant's figures from its rollups."""

from django.utils import timezone
from rest_framework.decorators import action

from morpheus.api.responses import ok
from morpheus.api.viewsets import TenantScopedViewSet

from .. import schema, selectors
from ..models import CallRollup
from ..serializers import AnalyticsQueryInput, CallAnalyticsOutput, default_timezone


class AnalyticsViewSet(TenantScopedViewSet):
    success_messages = {
        "calls": "Call analytics retrieved successfully",
        "latency": "Latency analytics retrieved successfully",
    }
    queryset = CallRollup.objects.all()
    serializer_class = CallAnalyticsOutput

    def _query(self, request) -> selectors.AnalyticsQuery:
        params = AnalyticsQueryInput(
            data=request.query_params.dict(),
            context={
                "customer_id": request.user.customer_id,
                "default_timezone": default_timezone(request.user.customer),
                "now": timezone.now(),
            },
        )
        params.is_valid(raise_exception=True)
        return params.validated_data["query"]

    @schema.analytics_calls
    @action(detail=False, methods=["get"], url_path="calls")
    def calls(self, request):
        data = selectors.calls_analytics(self.get_queryset(), self._query(request))
        return ok(data)

    @schema.analytics_latency
    @action(detail=False, methods=["get"], url_path="latency")
    def latency(self, request):
        data = selectors.latency_analytics(self.get_queryset(), self._query(request))
        return ok(data)
