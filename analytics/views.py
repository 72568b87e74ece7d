"""GET /analytics/calls and /analytics/latency: the tenant's figures from its rollups."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import action

from morpheus.api.responses import ok
from morpheus.api.viewsets import TenantScopedViewSet

from . import selectors
from .models import CallRollup
from .serializers import AnalyticsQueryInput, CallAnalyticsOutput, LatencyAnalyticsOutput, default_timezone

BAD_QUERY = OpenApiResponse(
    description="Validation failed: unknown time zone or interval, a range over 400 days, or `to` before `from`"
)
QUERY_PARAMETERS = [
    OpenApiParameter("from", str, description="Date (local day in `timezone`) or ISO-8601 datetime; default to-30d"),
    OpenApiParameter("to", str, description="Date (inclusive) or ISO-8601 datetime (exclusive); default now"),
    OpenApiParameter("agentId", int),
    OpenApiParameter("direction", str, enum=["inbound", "outbound", "web"]),
    OpenApiParameter("interval", str, enum=list(selectors.INTERVALS), description="Default day"),
    OpenApiParameter("timezone", str, description="IANA name; default the organization's settings.timezone or UTC"),
    OpenApiParameter("simulation", bool, description="true: simulated calls instead of real ones"),
]


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

    @extend_schema(
        tags=["analytics"],
        summary="Call analytics",
        description=(
            "Counts, minutes, success rate and cost per hour/day/week bucket in the organization's time zone "
            "(DST-aware; empty buckets included), with totals and breakdowns by status, end reason and agent. "
            "Served from rollups kept with every call write: the cost does not grow with the number of calls."
        ),
        parameters=QUERY_PARAMETERS,
        responses={200: CallAnalyticsOutput, 400: BAD_QUERY},
    )
    @action(detail=False, methods=["get"], url_path="calls")
    def calls(self, request):
        data = selectors.calls_analytics(self.get_queryset(), self._query(request))
        return ok(data)

    @extend_schema(
        tags=["analytics"],
        summary="Latency analytics",
        description=(
            "Per bucket and overall: p50 and p95 (nearest rank, 10 ms resolution) of each turn's end-to-end "
            "latency, LLM time to first token, TTS time to first byte and end-of-utterance delay."
        ),
        parameters=QUERY_PARAMETERS,
        responses={200: LatencyAnalyticsOutput, 400: BAD_QUERY},
    )
    @action(detail=False, methods=["get"], url_path="latency")
    def latency(self, request):
        data = selectors.latency_analytics(self.get_queryset(), self._query(request))
        return ok(data)
