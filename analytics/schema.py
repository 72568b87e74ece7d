"""OpenAPI documentation of /analytics and the call export, kept out of the views."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from calls.serializers import CallListQuery

from . import selectors
from .serializers import CallAnalyticsOutput, LatencyAnalyticsOutput

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


def analytics_operation(summary: str, description: str, output):
    """The schema of one /analytics report: every report takes the same query (QUERY_PARAMETERS)
    and refuses it with the same 400; only what it answers differs."""
    return extend_schema(
        tags=["analytics"],
        summary=summary,
        description=description,
        parameters=QUERY_PARAMETERS,
        responses={200: output, 400: BAD_QUERY},
    )


analytics_calls = analytics_operation(
    "Call analytics",
    "Counts, minutes, success rate and cost per hour/day/week bucket in the organization's time zone "
    "(DST-aware; empty buckets included), with totals and breakdowns by status, end reason and agent. "
    "Served from rollups kept with every call write: the cost does not grow with the number of calls.",
    CallAnalyticsOutput,
)

analytics_latency = analytics_operation(
    "Latency analytics",
    "Per bucket and overall: p50 and p95 (nearest rank, 10 ms resolution) of each turn's end-to-end "
    "latency, LLM time to first token, TTS time to first byte and end-of-utterance delay.",
    LatencyAnalyticsOutput,
)


call_export_export = extend_schema(
    tags=["calls"],
    summary="Export calls as CSV",
    description=(
        "The call history with the same filters as GET /calls, newest first, as `text/csv` streamed row by "
        "row (any size). Values starting with = + - @ are prefixed with ' so spreadsheets do not run them."
    ),
    parameters=[CallListQuery],
    responses={
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV with a header row"),
        400: OpenApiResponse(description="Validation failed (same rules as GET /calls)"),
    },
)
