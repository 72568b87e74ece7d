"""The /calls API: history, detail with transcript, end, join-agent, simulate."""

from rest_framework import mixins
from rest_framework.decorators import action

from accounts.models import MANAGER_ROLES
from morpheus.api.pagination import PagePagination
from morpheus.api.responses import ok
from morpheus.api.viewsets import TenantScopedViewSet

from .. import analysis, recordings, schema, selectors, services
from ..models import Call, CallCounter, EndReason
from ..permissions import CanControlCall
from ..serializers import (
    AnalyzeOutput,
    CallDetail,
    CallEndOutput,
    CallListItem,
    CallListQuery,
    JoinAgentOutput,
    RecordingDeleteOutput,
    SimulateInput,
    SimulationOutput,
    transcript_output,
    turn_fields,
)


class TranscriptPagination(PagePagination):
    items_key = "transcript"


@schema.call_views
class CallViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    queryset = Call.objects.all()
    serializer_class = CallListItem
    list_key = "calls"
    not_found_label = "Call"
    action_permissions = {"end": [CanControlCall], "join_agent": [CanControlCall]}
    agent_field = "agent"  # agent-restricted API keys see only their agents' rows
    success_messages = {
        "list": "Calls retrieved successfully",
        "retrieve": "Call retrieved successfully",
        "end": "Call ended successfully",
        "join_agent": "Agent joined call successfully",
        "recording": "Recording deleted successfully",
        "transcript": "Transcript retrieved successfully",
        "analyze": "Call analysis started",
        "simulate": "Simulation started",
    }
    list_filters: dict = {}
    # Deleting a recording is for the people who manage the organization's data.
    action_roles = {"recording": MANAGER_ROLES}

    def get_serializer_class(self):
        return CallDetail if self.action == "retrieve" else CallListItem

    def safely_get_queryset(self, queryset):
        if self.action == "list":
            return selectors.calls_filtered(queryset, **self.list_filters)
        if self.action == "retrieve":
            return selectors.call_with_version(queryset)
        return queryset

    def counted_total(self) -> int | None:
        """pagination.total from the counters when they can answer the filters (status, agent,
        direction, simulation), scoped exactly like the rows; None (count the rows, through a
        tenant-leading index) for a phone number or a date range."""
        filters = self.list_filters
        if filters["phone_number_id"] is not None or filters["started_after"] or filters["started_before"]:
            return None
        counters = self._scoped(CallCounter.objects.all(), customer_field="customer", agent_field="agent_id")
        return selectors.calls_counted(
            counters,
            statuses=filters["statuses"],
            agent_id=filters["agent_id"],
            direction=filters["direction"],
            simulation=filters["simulation"],
        )

    def list(self, request, *args, **kwargs):
        query = CallListQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        data = query.validated_data
        self.list_filters = {
            "statuses": data.get("status"),
            "agent_id": data.get("agentId"),
            "phone_number_id": data.get("phoneNumberId"),
            "direction": data.get("direction"),
            "started_after": data.get("startedAfter"),
            "started_before": data.get("startedBefore"),
            "simulation": data.get("simulation"),
        }
        return super().list(request, *args, **kwargs)

    @schema.transcript
    @action(detail=True, methods=["get"])
    def transcript(self, request, pk=None):
        call = self.get_object()
        paginator = TranscriptPagination()
        turns = paginator.paginate_queryset(selectors.call_transcript_rows(call.pk, turn_fields()), request)
        return ok(paginator.get_paginated_data(transcript_output(turns)))

    @schema.end
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        call = self.get_object()
        ended = services.call_end(call=call, reason=EndReason.ENDED_BY_USER, teardown=services.TEARDOWN_NOW)
        return ok(CallEndOutput(ended).data)

    @schema.join_agent
    @action(detail=True, methods=["post"], url_path="join-agent")
    def join_agent(self, request, pk=None):
        call = self.get_object()
        joined = services.call_join_agent(call=call)
        return ok(JoinAgentOutput(joined).data)

    @schema.recording
    @action(detail=True, methods=["delete"], url_path="recording")
    def recording(self, request, pk=None):
        call = self.get_object()
        call = recordings.recording_delete(call=call)
        return ok(RecordingDeleteOutput(call).data)

    @schema.analyze
    @action(detail=True, methods=["post"])
    def analyze(self, request, pk=None):
        call = self.get_object()
        call = analysis.analysis_prepare(call=call, force=True)
        return ok(AnalyzeOutput(call).data, status=202)

    @schema.simulate
    @action(detail=False, methods=["post"])
    def simulate(self, request):
        body = SimulateInput(data=request.data)
        body.is_valid(raise_exception=True)
        agent = services.simulation_agent_resolve(user=request.user, agent_id=body.validated_data.get("agentId"))
        started = services.call_start_simulation(user=request.user, agent=agent)
        return ok(SimulationOutput(started).data)
