"""Shapes of the /calls API: query and body inputs, and outputs in the spec's camelCase."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.serializers import PaginationOutput
from morpheus.api.rows import columns

from .analysis import public_analysis
from .models import Call, CallDirection, CallMode, CallStatus, TranscriptTurn
from .recordings import recording_details, recording_url
from .selectors import LATENCY_FIELDS, USAGE_FIELDS, call_transcript_rows, turns_summary

# --- Inputs ---------------------------------------------------------------------------


class CallListQuery(serializers.Serializer):
    status = serializers.CharField(
        required=False,
        help_text="One status or several separated by commas: " + ", ".join(CallStatus.values),
    )
    agentId = serializers.IntegerField(required=False, min_value=1)
    phoneNumberId = serializers.IntegerField(required=False, min_value=1)
    direction = serializers.ChoiceField(choices=CallDirection.choices, required=False)
    startedAfter = serializers.DateTimeField(
        required=False, help_text="ISO-8601 date or datetime; calls started at or after it (UTC if no offset)."
    )
    startedBefore = serializers.DateTimeField(
        required=False, help_text="ISO-8601 date or datetime; calls started before it (UTC if no offset)."
    )
    simulation = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: only simulations; false: only real calls."
    )

    def validate_status(self, value: str) -> list[str]:
        statuses = [part.strip() for part in value.split(",") if part.strip()]
        unknown = [s for s in statuses if s not in CallStatus.values]
        if unknown or not statuses:
            raise serializers.ValidationError(f"Must be one or more of: {', '.join(CallStatus.values)}")
        return statuses

    def validate(self, attrs):
        after, before = attrs.get("startedAfter"), attrs.get("startedBefore")
        if after and before and after >= before:
            raise serializers.ValidationError({"startedBefore": "Must be later than startedAfter"})
        return attrs


class SimulateInput(serializers.Serializer):
    agentId = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The agent to test (any status). Omitted: the most recently updated active agent.",
    )


# --- Outputs --------------------------------------------------------------------------


class CallListItem(serializers.ModelSerializer):
    agentId = serializers.IntegerField(source="agent_id", allow_null=True)
    phoneNumberId = serializers.IntegerField(source="phone_number_id", allow_null=True)
    endReason = serializers.CharField(source="end_reason")
    fromNumber = serializers.CharField(source="from_number")
    toNumber = serializers.CharField(source="to_number")
    isSimulation = serializers.BooleanField(source="is_simulation")
    duration = serializers.IntegerField(allow_null=True, help_text="Whole seconds from answer to end")
    recordingUrl = serializers.SerializerMethodField(
        help_text="A presigned URL of the recording, valid RECORDINGS_URL_TTL_SECONDS (1 hour); null when none"
    )
    recordingStatus = serializers.CharField(
        source="recording_status",
        help_text="'' (not recorded), recording, pending, ready, failed or deleted",
    )
    cost = serializers.DecimalField(max_digits=10, decimal_places=4, allow_null=True, coerce_to_string=False)
    costCurrency = serializers.CharField(source="cost_currency")
    startedAt = serializers.DateTimeField(source="started_at")
    answeredAt = serializers.DateTimeField(source="answered_at", allow_null=True)
    endedAt = serializers.DateTimeField(source="ended_at", allow_null=True)
    answeredBy = serializers.CharField(
        source="answered_by", help_text="Outbound: human, machine or unknown (answering-machine detection); else ''"
    )

    class Meta:
        model = Call
        fields = [
            "id",
            "agentId",
            "phoneNumberId",
            "direction",
            "status",
            "endReason",
            "fromNumber",
            "toNumber",
            "isSimulation",
            "duration",
            "recordingUrl",
            "recordingStatus",
            "cost",
            "costCurrency",
            "startedAt",
            "answeredAt",
            "endedAt",
            "answeredBy",
        ]

    def get_recordingUrl(self, call) -> str | None:
        return recording_url(call)


class TranscriptTurnOutput(serializers.ModelSerializer):
    """A transcript turn: the documented shape, built by `turn_output` (plain fields only)."""

    toolName = serializers.CharField(source="tool_name")
    toolPayload = serializers.JSONField(source="tool_payload", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    endOfTurnDelayMs = serializers.FloatField(source="end_of_turn_delay_ms", allow_null=True)
    llmTtftMs = serializers.FloatField(source="llm_ttft_ms", allow_null=True, help_text="LLM time to first token")
    ttsTtfbMs = serializers.FloatField(source="tts_ttfb_ms", allow_null=True, help_text="TTS time to first byte")
    e2eLatencyMs = serializers.FloatField(source="e2e_latency_ms", allow_null=True)
    promptTokens = serializers.IntegerField(source="prompt_tokens", allow_null=True)
    completionTokens = serializers.IntegerField(source="completion_tokens", allow_null=True)
    ttsCharacters = serializers.IntegerField(source="tts_characters", allow_null=True)
    audioSeconds = serializers.FloatField(source="audio_seconds", allow_null=True)
    interrupted = serializers.BooleanField(help_text="The caller talked over this assistant turn")

    class Meta:
        model = TranscriptTurn
        # The measured columns are the selectors' (calls/selectors.py), which also average them.
        fields = [
            "id",
            "role",
            "content",
            "toolName",
            "toolPayload",
            "createdAt",
            *LATENCY_FIELDS,
            *USAGE_FIELDS,
            "interrupted",
        ]


class LatencySummary(serializers.Serializer):
    endOfTurnDelayMs = serializers.FloatField(allow_null=True)
    llmTtftMs = serializers.FloatField(allow_null=True)
    ttsTtfbMs = serializers.FloatField(allow_null=True)
    e2eLatencyMs = serializers.FloatField(allow_null=True)


class UsageSummary(serializers.Serializer):
    promptTokens = serializers.IntegerField()
    completionTokens = serializers.IntegerField()
    ttsCharacters = serializers.IntegerField()
    audioSeconds = serializers.FloatField()


class CallSummaryOutput(serializers.Serializer):
    turns = serializers.IntegerField()
    userTurns = serializers.IntegerField()
    assistantTurns = serializers.IntegerField()
    toolTurns = serializers.IntegerField()
    averageLatency = LatencySummary(help_text="Mean per-turn latency of each pipeline stage, ms")
    usage = UsageSummary()


class AnalysisUsage(serializers.Serializer):
    promptTokens = serializers.IntegerField()
    completionTokens = serializers.IntegerField()


class CallAnalysisOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["pending", "done", "failed", "skipped"])
    summary = serializers.CharField(allow_null=True)
    successful = serializers.BooleanField(allow_null=True, help_text="The success rubric's verdict")
    score = serializers.IntegerField(allow_null=True, help_text="score_1_10 rubrics (7 or more is successful)")
    sentiment = serializers.ChoiceField(choices=["positive", "neutral", "negative"], allow_null=True)
    data = serializers.DictField(allow_null=True, help_text="The plan's fields, by name")
    model = serializers.CharField(allow_null=True)
    usage = AnalysisUsage(allow_null=True)
    error = serializers.CharField(allow_null=True, help_text="Why it failed or was skipped")
    analyzedAt = serializers.CharField(allow_null=True)


class CostBreakdown(serializers.Serializer):
    llm = serializers.FloatField()
    tts = serializers.FloatField()
    stt = serializers.FloatField()
    telephony = serializers.FloatField()
    platform = serializers.FloatField()
    analysis = serializers.FloatField()


class CostOutput(serializers.Serializer):
    total = serializers.FloatField()
    currency = serializers.CharField()
    breakdown = CostBreakdown()
    usage = serializers.DictField(help_text="Tokens, TTS characters, STT seconds and minutes that were priced")


class RecordingOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["recording", "pending", "ready", "failed", "deleted"])
    format = serializers.CharField(allow_null=True, help_text="ogg or mp3")
    durationSeconds = serializers.FloatField(allow_null=True)
    sizeBytes = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_null=True, help_text="Why recording failed")


def turn_fields() -> list[str]:
    """The columns a transcript turn shows (what `call_transcript_rows` reads)."""
    return [path for _, path in columns(TranscriptTurnOutput)]


def turn_output(turn: Any) -> dict[str, Any]:
    """One transcript turn in TranscriptTurnOutput's shape: the same in GET /calls/:id,
    GET /calls/:id/transcript and POST /calls/:id/messages. Built directly from a row of
    `call_transcript_rows` or a model instance (same attribute names), as morpheus/api/rows.py
    does for lists: a 1,000-turn transcript costs a dict per turn, not fifteen serializer
    fields per turn."""
    return {name: getattr(turn, path) for name, path in columns(TranscriptTurnOutput)}


def transcript_output(rows: list[Any]) -> list[dict[str, Any]]:
    """`turn_output` of many rows of `call_transcript_rows(call_id, turn_fields())`: their
    values are already in the output's order, so each dict is one zip."""
    names = [name for name, _ in columns(TranscriptTurnOutput)]
    return [dict(zip(names, row, strict=True)) for row in rows]


class CallDetail(CallListItem):
    roomName = serializers.CharField(source="room_name")
    carrier = serializers.CharField()
    carrierCallId = serializers.CharField(source="carrier_call_id")
    errorMessage = serializers.CharField(source="error_message")
    metadata = serializers.JSONField()
    transcript = serializers.SerializerMethodField(help_text="In conversation order")
    summary = serializers.SerializerMethodField()
    analysis = serializers.SerializerMethodField()
    costDetails = serializers.SerializerMethodField()
    recording = serializers.SerializerMethodField()
    mode = serializers.ChoiceField(choices=CallMode.choices, help_text="text: a simulation without LiveKit")
    agentVersion = serializers.IntegerField(
        source="agent_version.number",
        allow_null=True,
        default=None,
        help_text="The agent version the call ran (GET /agents/{agentId}/versions/{n}).",
    )

    class Meta(CallListItem.Meta):
        fields = [
            *CallListItem.Meta.fields,
            "mode",
            "agentVersion",
            "roomName",
            "carrier",
            "carrierCallId",
            "errorMessage",
            "metadata",
            "transcript",
            "summary",
            "analysis",
            "costDetails",
            "recording",
        ]

    @extend_schema_field(TranscriptTurnOutput(many=True))
    def get_transcript(self, call) -> list[dict[str, Any]]:
        return transcript_output(_transcript(call))

    def get_summary(self, call) -> CallSummaryOutput:
        return turns_summary(_transcript(call))

    def get_analysis(self, call) -> CallAnalysisOutput(allow_null=True):
        return public_analysis(call.analysis)

    def get_costDetails(self, call) -> CostOutput(allow_null=True):
        return call.cost_breakdown

    def get_recording(self, call) -> RecordingOutput(allow_null=True):
        return recording_details(call)


def _transcript(call) -> list[Any]:
    """The call's turns, read once (one query) for both the transcript and its summary."""
    if "_transcript_rows" not in call.__dict__:
        call._transcript_rows = list(call_transcript_rows(call.pk, turn_fields()))
    return call._transcript_rows


class TranscriptPageOutput(serializers.Serializer):
    transcript = TranscriptTurnOutput(many=True, help_text="This page of turns, in conversation order")
    pagination = PaginationOutput()


class CallEndOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=CallStatus.choices)
    endReason = serializers.CharField(source="end_reason")
    duration = serializers.IntegerField(allow_null=True)
    endedAt = serializers.DateTimeField(source="ended_at")


class JoinAgentOutput(serializers.Serializer):
    pipelineStatus = serializers.ChoiceField(
        choices=["connected", "dispatched"],
        source="pipeline_status",
        help_text=(
            "connected: the agent's job is running in the call's room; dispatched: LiveKit accepted the "
            "dispatch and a voice worker is joining."
        ),
    )
    agentId = serializers.IntegerField(source="agent_id")
    connectedAt = serializers.DateTimeField(
        source="connected_at", help_text="When the agent joined (connected) or the dispatch was accepted (dispatched)"
    )
    dispatchId = serializers.CharField(source="dispatch_id")


class SimulationOutput(serializers.Serializer):
    callId = serializers.IntegerField(source="call.id")
    agentId = serializers.IntegerField(source="call.agent_id")
    agentVersion = serializers.IntegerField(
        source="call.agent_version.number", allow_null=True, default=None, help_text="The agent version it runs."
    )
    mode = serializers.ChoiceField(
        choices=CallMode.choices,
        help_text="voice: a LiveKit room to join with `token`; text: no LiveKit, talk with POST /calls/{id}/messages.",
    )
    roomName = serializers.SerializerMethodField(help_text="The LiveKit room; null for a text simulation.")
    token = serializers.CharField(
        allow_null=True, help_text="LiveKit join token for this room only, identity = your user id; null in text mode"
    )
    tokenExpiresAt = serializers.DateTimeField(source="token_expires_at", allow_null=True)
    status = serializers.ChoiceField(choices=CallStatus.choices, source="call.status")

    @extend_schema_field({"type": "string", "nullable": True})
    def get_roomName(self, started) -> str | None:
        return started.call.room_name if started.call.has_room else None


class AnalyzeOutput(serializers.Serializer):
    callId = serializers.IntegerField(source="id")
    analysis = serializers.SerializerMethodField()

    def get_analysis(self, call) -> CallAnalysisOutput:
        return public_analysis(call.analysis)


class RecordingDeleteOutput(serializers.Serializer):
    callId = serializers.IntegerField(source="id")
    recordingStatus = serializers.CharField(source="recording_status")


class OutboundCallInput(serializers.Serializer):
    agentId = serializers.IntegerField(min_value=1, help_text="An active agent of your organization")
    to = serializers.CharField(max_length=32, help_text="E.164; premium-rate and emergency numbers are refused")
    fromNumberId = serializers.IntegerField(
        min_value=1, help_text="Your phone number the call comes from; it must be on an outbound SIP trunk"
    )
    variables = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="Values for the {{name}} placeholders of the agent's prompt and first message (all required).",
    )
    scheduledAt = serializers.DateTimeField(required=False, allow_null=True, help_text="Dial at (UTC if no offset)")
