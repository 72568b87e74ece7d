"""OpenAPI documentation of the carrier webhooks, kept out of the views."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema

from morpheus.api.schema import error

from .serializers import CallStatusInput, CallStatusOutput, InboundCallInput, InboundConnectOutput, TransferInput
from .signatures import INVALID_SIGNATURE, MISSING_SIGNATURE, SOURCE_NOT_ALLOWED

XML_NOTE = (
    "Twilio (form post signed with X-Twilio-Signature) and Telnyx TeXML (signed with "
    "telnyx-signature-ed25519 + telnyx-timestamp) are answered with TwiML/TeXML (`text/xml`), the "
    "carriers' contract, always with HTTP 200. The unsigned JSON form and every JSON error use the envelope."
)

FORBIDDEN = error(
    403,
    SOURCE_NOT_ALLOWED,
    MISSING_SIGNATURE,
    INVALID_SIGNATURE,
    description="Missing or invalid carrier signature, a stale Telnyx timestamp, a carrier whose secret is not "
    "configured, or a form post without a signature. Nothing is created.",
)

VOICE_DOWN = OpenApiResponse(description="LiveKit (or LIVEKIT_SIP_URI for carriers) not configured or unreachable")

inbound_call_webhook_post = extend_schema(
    tags=["telephony"],
    summary="Inbound call",
    auth=[],
    description=(
        "A carrier (or SIP integration) reports an incoming call. The number called is looked up, a call "
        "is created with its LiveKit room, and the number's agent is dispatched to the room (Celery, with "
        "retries). Carrier retries with the same `CallSid` return the same call.\n\n"
        f"{XML_NOTE}\n\n"
        'Carrier answers: `<Response><Dial action=".../webhooks/voice/status" timeLimit="<agent max '
        'duration>" referUrl=".../webhooks/voice/transfer"><Sip>sip:<room suffix>@'
        "<LIVEKIT_SIP_URI host>?X-Morpheus-Call-Id=<id>"
        "</Sip></Dial></Response>` (the LiveKit SIP callee dispatch rule with prefix `call-` puts the "
        'caller in room `call-<suffix>`); unknown number: `<Reject reason="rejected"/>`; number without '
        "an active agent or of a suspended organization: a polite `<Say>` then `<Hangup/>`.\n\n"
        "JSON form: accepted only from `VOICE_WEBHOOK_ALLOWED_IPS` or with `X-Morpheus-Signature` (hex "
        "HMAC-SHA256 of `<X-Morpheus-Timestamp>.<raw body>` with `VOICE_WEBHOOK_SECRET`, timestamp within 5 "
        "minutes); otherwise 403 'Webhook source not allowed' and nothing is created. Its success answer is "
        'the spec\'s bare body, NOT enveloped: 200 `{action: "connect", roomName, agentId, callId, sipUri, '
        "reason: null}`; a known number that cannot take calls (or a customer with too many ringing calls): "
        '200 `{action: "reject", reason, ...nulls}`; errors are enveloped (unknown number: 404). Without a '
        "`CallSid`, a repeat of the same From/To within a few seconds returns the call already ringing."
    ),
    extensions={"x-morpheus-bare-success": True},
    request={"application/json": InboundCallInput, "application/x-www-form-urlencoded": InboundCallInput},
    responses={
        200: InboundConnectOutput,
        403: FORBIDDEN,
        404: error(404, "Phone number +15551234567 does not exist", description="JSON form: an unknown number"),
        409: error(409, "Call with ID 101 has already ended", description="A retry for a call that has already ended"),
        429: OpenApiResponse(description="Throttled (scope `webhook`)"),
        503: VOICE_DOWN,
    },
    examples=[
        OpenApiExample("Spec form", value={"From": "+15550009999", "To": "+15551234567"}, request_only=True),
        OpenApiExample(
            "Connected",
            value={
                "action": "connect",
                "roomName": "call-3f2a9c0d1b7e4a55",
                "agentId": 1,
                "callId": 101,
                "sipUri": "sip:3f2a9c0d1b7e4a55@example.sip.livekit.cloud?X-Morpheus-Call-Id=101",
                "reason": None,
            },
            response_only=True,
        ),
    ],
)

call_status_webhook_post = extend_schema(
    tags=["telephony"],
    summary="Carrier call status callback",
    auth=[],
    description=(
        "Carrier status callbacks (and the `<Dial action>` callback of the inbound TwiML) move the call: "
        "`in-progress`/`answered` mark it answered; `completed`, `busy`, `no-answer`, `failed`, `canceled` "
        "close it with that reason (its room is deleted by a task). Repeated or late callbacks are no-ops. "
        f"{XML_NOTE} Carriers get an empty `<Response/>` even for a call we do not know; the JSON form gets "
        "404 then."
    ),
    request={"application/json": CallStatusInput, "application/x-www-form-urlencoded": CallStatusInput},
    responses={
        200: CallStatusOutput,
        403: FORBIDDEN,
        404: error(404, "Call with SID CA0123456789abcdef does not exist", description="JSON form: an unknown call"),
        429: OpenApiResponse(description="Throttled (scope `webhook`)"),
    },
)

transfer_webhook_post = extend_schema(
    tags=["telephony"],
    summary="Carrier transfer request (SIP REFER)",
    auth=[],
    description=(
        "The `referUrl` of the inbound TwiML: when the agent transfers the caller, LiveKit sends the carrier a "
        "SIP REFER and the carrier asks here what to dial (`ReferTransferTarget`). Only destinations listed in "
        "the agent's `transfers` are dialled (`<Dial><Number>` or `<Dial><Sip>`) and the call is closed as "
        "`transferred`; any other target gets a polite goodbye and the call ends with reason `error`. "
        "Carriers only (signed); answered in TwiML/TeXML."
    ),
    request={"application/x-www-form-urlencoded": TransferInput},
    responses={200: OpenApiResponse(description="TwiML/TeXML (text/xml)"), 403: FORBIDDEN},
)
