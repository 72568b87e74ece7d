"""OpenAPI documentation of `POST /calls/:id/messages`, kept out of the view.

The example is the answer's `data`; morpheus.api.schema adds the envelope."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema

from calls.schema import NO_LLM_EXAMPLE
from morpheus.api.schema import error

from .serializers import MessageInput, MessageOutput
from .simulation import AGENT_DELETED, BUSY, CALL_ENDED, NOT_SIMULATION

messages = extend_schema(
    operation_id="calls_messages_create",
    summary="Send a text message to a simulation call's agent",
    description=(
        "Runs one conversational turn of the call's agent — the same logic the voice worker runs on the "
        "phone: its system prompt, first message, tools (end_call, transfer_call, custom functions), "
        "end-call phrases and the transcript so far — with the LLM provider it is configured with. The "
        "caller's message and everything the agent did about it are stored in the transcript together, "
        "only once the model has answered. The first message of a simulation also stores the agent's "
        "greeting. If the agent ends or transfers the call, the call is closed and `status`/`endReason` "
        "say so. Any tenant member may use it."
    ),
    tags=["calls"],
    parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The simulation call.")],
    request=MessageInput,
    responses={
        200: MessageOutput,
        409: error(409, NOT_SIMULATION, CALL_ENDED, AGENT_DELETED, BUSY),
        503: error(
            503,
            NO_LLM_EXAMPLE,
            description="The agent's LLM provider has no credentials or is unreachable.",
        ),
    },
    examples=[
        OpenApiExample("Caller message", value={"content": "Hi, what are your opening hours?"}, request_only=True),
        OpenApiExample(
            "Agent reply",
            response_only=True,
            status_codes=["200"],
            value={
                "callId": 101,
                "reply": "We're open from nine to five, Monday to Friday.",
                "status": "active",
                "endReason": "",
                "turns": [
                    {
                        "id": 41,
                        "role": "user",
                        "content": "Hi, what are your opening hours?",
                        "toolName": "",
                        "toolPayload": None,
                        "createdAt": "2026-02-05T21:00:05.000Z",
                        "latency": {
                            "endOfTurnDelayMs": None,
                            "llmTtftMs": None,
                            "ttsTtfbMs": None,
                            "e2eLatencyMs": None,
                        },
                        "usage": {
                            "promptTokens": None,
                            "completionTokens": None,
                            "ttsCharacters": None,
                            "audioSeconds": None,
                        },
                    },
                    {
                        "id": 42,
                        "role": "assistant",
                        "content": "We're open from nine to five, Monday to Friday.",
                        "toolName": "",
                        "toolPayload": None,
                        "createdAt": "2026-02-05T21:00:05.412Z",
                        "latency": {
                            "endOfTurnDelayMs": None,
                            "llmTtftMs": 388.2,
                            "ttsTtfbMs": None,
                            "e2eLatencyMs": 401.7,
                        },
                        "usage": {
                            "promptTokens": 212,
                            "completionTokens": 14,
                            "ttsCharacters": None,
                            "audioSeconds": None,
                        },
                    },
                ],
            },
        ),
    ],
)
