"""OpenAPI documentation of the /calls endpoints, kept out of the views.

Examples are the `data` of each answer and errors name the messages the code raises;
morpheus.api.schema adds the envelope (with the message each view declares).
"""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers

from morpheus.api.pagination import PageQuery
from morpheus.api.schema import MISSING_ID, error, invalid
from morpheus.errors import FORBIDDEN_MESSAGE

from . import livekit_client, services, storage
from .serializers import (
    AnalyzeOutput,
    CallEndOutput,
    CallListItem,
    CallListQuery,
    JoinAgentOutput,
    OutboundCallInput,
    RecordingDeleteOutput,
    SimulateInput,
    SimulationOutput,
    TranscriptPageOutput,
)

TAG = "calls"
CALL_ID = 101

# What a text conversation answers when its agent's language model has no credentials.
NO_LLM_EXAMPLE = services.NO_LLM_MESSAGE.format(setting="OPENAI_API_KEY", hint=services.OPENAI_BASE_URL_HINT)

VOICE_DOWN = error(
    503,
    livekit_client.UNAVAILABLE_MESSAGE,
    livekit_client.NOT_CONFIGURED_MESSAGE,
    description="LiveKit is not configured or unreachable. Nothing was changed.",
)
CONTROL_403 = error(
    403,
    FORBIDDEN_MESSAGE,
    description="Members may only control simulations they started; owners and admins control every call.",
)
ENDED_409 = error(409, f"Call with ID {CALL_ID} has already ended", f"Call with ID {CALL_ID} has no agent")

call_views = extend_schema_view(
    list=extend_schema(
        tags=[TAG],
        summary="List calls",
        description="The organization's call history, newest first, with optional filters.",
        parameters=[CallListQuery],
    ),
    retrieve=extend_schema(
        tags=[TAG],
        summary="Get a call with its transcript",
        description=f"404 'Call with ID {MISSING_ID} does not exist' for unknown ids and other organizations' calls.",
    ),
)

transcript = extend_schema(
    tags=[TAG],
    summary="Get a call's transcript, page by page",
    description=(
        "The call's transcript turns in conversation order, `limit` per page (for very long calls; "
        f"GET /calls/{{id}} has them all), each turn in the same shape as there. 404 'Call with ID {MISSING_ID} "
        "does not exist' for unknown ids and other organizations' calls."
    ),
    parameters=[PageQuery],
    responses={200: TranscriptPageOutput},
)

end = extend_schema(
    tags=[TAG],
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
                "id": CALL_ID,
                "status": "completed",
                "endReason": "ended_by_user",
                "duration": 120,
                "endedAt": "2026-02-05T21:02:00.000Z",
            },
            response_only=True,
            status_codes=["200"],
        )
    ],
)

join_agent = extend_schema(
    tags=[TAG],
    summary="Dispatch the call's agent into its room",
    description=(
        "Asks LiveKit to dispatch the voice agent into the call's room (once: an existing dispatch is reused). "
        "`pipelineStatus` is `connected` when the agent's job already runs in the room, `dispatched` when "
        "LiveKit accepted the dispatch and a voice worker is joining; the worker then greets the caller."
    ),
    request=None,
    responses={200: JoinAgentOutput, 403: CONTROL_403, 409: ENDED_409, 503: VOICE_DOWN},
)

recording = extend_schema(
    tags=[TAG],
    summary="Delete a call's recording",
    description=(
        "Deletes the recording's file from storage and marks it `deleted` (owners and admins). "
        "404 when the call has no recording; 409 while it is still being recorded; 503 when storage "
        "is down (nothing changed)."
    ),
    request=None,
    responses={
        200: RecordingDeleteOutput,
        404: error(404, f"Call with ID {MISSING_ID} does not exist", f"Call with ID {CALL_ID} has no recording"),
        409: error(409, f"Call with ID {CALL_ID} is still being recorded"),
        503: error(503, storage.UNAVAILABLE_MESSAGE),
    },
)

analyze = extend_schema(
    tags=[TAG],
    summary="Run the post-call analysis again",
    description=(
        "Re-runs the agent's analysis plan on this ended call (ignoring minTurns and sampleRate): the "
        "analysis becomes `pending` and a worker asks the model; GET /calls/{id} shows the result. "
        "409 if the call has not ended or its agent has no analysis plan."
    ),
    request=None,
    responses={
        202: AnalyzeOutput,
        409: error(
            409,
            f"Call with ID {CALL_ID} has not ended yet",
            f"Call with ID {CALL_ID} has no analysis plan: set one on its agent",
        ),
    },
)

simulate = extend_schema(
    tags=[TAG],
    summary="Start a simulated call",
    description=(
        "Creates a web call (`isSimulation: true`) that starts `active`. With LiveKit configured (`mode: voice`): "
        "its own LiveKit room, the agent dispatched, and a LiveKit join token for you (identity = your user id, "
        "this room only, short-lived). Without LiveKit (`mode: text`): a text-only simulation with no "
        "room or token, which needs only the agent's language model. Either way, send text turns with "
        "POST /calls/{id}/messages. Without `agentId` the organization's most recently updated active "
        "agent is used. `agentVersion` is the agent version the call runs."
    ),
    request=SimulateInput,
    responses={
        200: SimulationOutput,
        400: invalid(
            "agentId",
            "No active agent to simulate: activate an agent or pass agentId",
            f"Agent with ID {MISSING_ID} does not exist",
            description="agentId unknown, or no active agent to use",
        ),
        503: error(
            503,
            livekit_client.UNAVAILABLE_MESSAGE,
            description="LiveKit configured but unreachable, or, for a text simulation, no language model "
            "configured ('No language model is configured: set OPENAI_API_KEY ...'). Nothing was changed.",
        ),
    },
    examples=[
        OpenApiExample(
            "Voice simulation",
            value={
                "callId": CALL_ID,
                "agentId": 1,
                "agentVersion": 3,
                "mode": "voice",
                "roomName": "sim-3f2a9c0d1b7e4a55",
                "token": "eyJhbGciOiJIUzI1NiJ9...",
                "tokenExpiresAt": "2026-02-05T22:00:00.000Z",
                "status": "active",
            },
            response_only=True,
            status_codes=["200"],
        )
    ],
)


outbound_call_post = extend_schema(
    tags=["calls"],
    summary="Place an outbound call",
    description=(
        "Creates the call `queued` (direction `outbound`) and dials it at `scheduledAt` or now, as soon as "
        "a capacity slot is free: `ringing` while LiveKit dials through the number's SIP trunk, `active` "
        "once answered, then `completed`, `busy`, `no_answer` or `failed` with the end reason. "
        "Owners and admins."
    ),
    request=OutboundCallInput,
    responses={
        201: CallListItem,
        400: OpenApiResponse(description="Validation failed: each bad field named (`variables.<name>`)"),
    },
)


LiveKitWebhookOutput = inline_serializer(
    "LiveKitWebhookOutput",
    {
        "event": serializers.CharField(),
        "callId": serializers.IntegerField(allow_null=True, help_text="The call the event changed, if any"),
    },
)

live_kit_webhook_post = extend_schema(
    tags=["calls"],
    summary="LiveKit webhook",
    auth=[],
    description=(
        "LiveKit room events (`application/webhook+json`, signed JWT with the body's sha256 in Authorization). "
        "For phone calls: the caller's SIP participant joining marks the call answered; leaving, or "
        "`room_finished`, ends it. Other events are acknowledged and ignored."
    ),
    request={"application/webhook+json": inline_serializer("LiveKitWebhookEvent", {"event": serializers.CharField()})},
    responses={
        200: LiveKitWebhookOutput,
        403: error(403, "Invalid webhook signature", "LiveKit webhooks are not configured"),
    },
)
