"""The /calls API: history, detail with transcript, end, join-agent, simulate."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action

from accounts.models import MANAGER_ROLES
from morpheus.api.pagination import PagePagination, PageQuery
from morpheus.api.responses import ok
from morpheus.api.viewsets import TenantScopedViewSet

from . import analysis, recordings, selectors, services
from .models import Call, CallCounter, EndReason
from .permissions import CanControlCall
from .serializers import (
    AnalyzeOutput,
    CallDetail,
    CallEndOutput,
    CallListItem,
    CallListQuery,
    JoinAgentOutput,
    RecordingDeleteOutput,
    SimulateInput,
    SimulationOutput,
    TranscriptPageOutput,
    transcript_output,
    turn_fields,
)


class TranscriptPagination(PagePagination):
    items_key = "transcript"


VOICE_DOWN = OpenApiResponse(
    description="LiveKit is not configured or unreachable: 'Voice service is unavailable, please try again later' "
    "or 'Voice service is not configured'. Nothing was changed."
)
CONTROL_403 = OpenApiResponse(
    description="Members may only control simulations they started; owners and admins control every call."
)
ENDED_409 = OpenApiResponse(description="'Call with ID 101 has already ended' (or the call has no agent)")


@extend_schema_view(
    list=extend_schema(
        tags=["calls"],
        summary="List calls",
        description="The organization's call history, newest first, with optional filters.",
        parameters=[CallListQuery],
    ),
    retrieve=extend_schema(
        tags=["calls"],
        summary="Get a call with its transcript",
        description="404 'Call with ID 101 does not exist' for unknown ids and other organizations' calls.",
    ),
)
class CallViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    queryset = Call.objects.all()
    serializer_class = CallListItem
    list_key = "calls"
    not_found_label = "Call"
    action_permissions = {"end": [CanControlCall], "join_agent": [CanControlCall]}
    agent_field = "agent"  # agent-restricted API keys see only their agents' rows
    success_messages = {"list": "Calls retrieved successfully", "retrieve": "Call retrieved successfully"}
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

    @extend_schema(
        tags=["calls"],
        summary="Get a call's transcript, page by page",
        description=(
            "The call's transcript turns in conversation order, `limit` per page (for very long calls; "
            "GET /calls/{id} has them all), each turn in the same shape as there. 404 'Call with ID 101 "
            "does not exist' for unknown ids and other organizations' calls."
        ),
        parameters=[PageQuery],
        responses={200: TranscriptPageOutput},
    )
    @action(detail=True, methods=["get"])
    def transcript(self, request, pk=None):
        call = self.get_object()
        paginator = TranscriptPagination()
        turns = paginator.paginate_queryset(selectors.call_transcript_rows(call.pk, turn_fields()), request)
        data = paginator.get_paginated_data(transcript_output(turns))
        return ok(data, "Transcript retrieved successfully")

    @extend_schema(
        tags=["calls"],
        summary="End a call",
        description=(
            "Deletes the call's LiveKit room (disconnecting the caller and the agent; a room LiveKit already "
            "closed is fine), then sets status `completed` (or `canceled` if it was never answered), `endedAt` "
            "and `duration`. Ending an ended call is a 409."
        ),
        request=None,
        responses={200: CallEndOutput, 403: CONTROL_403, 409: ENDED_409, 503: VOICE_DOWN},
        examples=[
            OpenApiExample(
                "Ended",
                value={
                    "id": 101,
                    "status": "completed",
                    "endReason": "ended_by_user",
                    "duration": 120,
                    "endedAt": "2026-02-05T21:02:00.000Z",
                },
                response_only=True,
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        call = self.get_object()
        ended = services.call_end(call=call, reason=EndReason.ENDED_BY_USER, teardown=services.TEARDOWN_NOW)
        return ok(CallEndOutput(ended).data, "Call ended successfully")

    @extend_schema(
        tags=["calls"],
        summary="Dispatch the call's agent into its room",
        description=(
            "Asks LiveKit to dispatch the voice agent into the call's room (once: an existing dispatch is reused). "
            "`pipelineStatus` is `connected` when the agent's job already runs in the room, `dispatched` when "
            "LiveKit accepted the dispatch and a voice worker is joining; the worker then greets the caller."
        ),
        request=None,
        responses={200: JoinAgentOutput, 403: CONTROL_403, 409: ENDED_409, 503: VOICE_DOWN},
    )
    @action(detail=True, methods=["post"], url_path="join-agent")
    def join_agent(self, request, pk=None):
        call = self.get_object()
        joined = services.call_join_agent(call=call)
        return ok(JoinAgentOutput(joined).data, "Agent joined call successfully")

    @extend_schema(
        tags=["calls"],
        summary="Delete a call's recording",
        description=(
            "Deletes the recording's file from storage and marks it `deleted` (owners and admins). "
            "404 when the call has no recording; 409 while it is still being recorded; 503 when storage "
            "is down (nothing changed)."
        ),
        request=None,
        responses={
            200: RecordingDeleteOutput,
            404: OpenApiResponse(description="'Call with ID 101 has no recording'"),
            409: OpenApiResponse(description="'Call with ID 101 is still being recorded'"),
            503: OpenApiResponse(description="'Recording storage is unavailable, please try again later'"),
        },
    )
    @action(detail=True, methods=["delete"], url_path="recording")
    def recording(self, request, pk=None):
        call = self.get_object()
        call = recordings.recording_delete(call=call)
        return ok(RecordingDeleteOutput(call).data, "Recording deleted successfully")

    @extend_schema(
        tags=["calls"],
        summary="Run the post-call analysis again",
        description=(
            "Re-runs the agent's analysis plan on this ended call (ignoring minTurns and sampleRate): the "
            "analysis becomes `pending` and a worker asks the model; GET /calls/{id} shows the result. "
            "409 if the call has not ended or its agent has no analysis plan."
        ),
        request=None,
        responses={
            202: AnalyzeOutput,
            409: OpenApiResponse(description="'Call with ID 101 has not ended yet' or has no analysis plan"),
        },
    )
    @action(detail=True, methods=["post"])
    def analyze(self, request, pk=None):
        call = self.get_object()
        call = analysis.analysis_prepare(call=call, force=True)
        return ok(AnalyzeOutput(call).data, "Call analysis started", status=202)

    @extend_schema(
        tags=["calls"],
        summary="Start a simulated call",
        description=(
            "Creates a web call (`isSimulation: true`). With LiveKit configured (`mode: voice`): its own "
            "LiveKit room, the agent dispatched, and a LiveKit join token for you (identity = your user id, "
            "this room only, short-lived). Without LiveKit (`mode: text`): a text-only simulation with no "
            "room or token, which needs only the agent's language model. Either way, send text turns with "
            "POST /calls/{id}/messages. Without `agentId` the organization's most recently updated active "
            "agent is used. `agentVersion` is the agent version the call runs."
        ),
        request=SimulateInput,
        responses={
            200: SimulationOutput,
            400: OpenApiResponse(description="agentId unknown, or no active agent to use"),
            503: OpenApiResponse(
                description="LiveKit configured but unreachable ('Voice service is unavailable, please try again "
                "later'), or, for a text simulation, no language model configured ('No language model is "
                "configured: set OPENAI_API_KEY ...'). Nothing was changed."
            ),
        },
    )
    @action(detail=False, methods=["post"])
    def simulate(self, request):
        body = SimulateInput(data=request.data)
        body.is_valid(raise_exception=True)
        agent = services.simulation_agent_resolve(user=request.user, agent_id=body.validated_data.get("agentId"))
        started = services.call_start_simulation(user=request.user, agent=agent)
        return ok(SimulationOutput(started).data, "Simulation started")
