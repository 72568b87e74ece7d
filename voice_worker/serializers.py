from rest_framework import serializers

from calls.models import TranscriptTurn

MAX_MESSAGE_LENGTH = 4000


class MessageInput(serializers.Serializer):
    content = serializers.CharField(
        max_length=MAX_MESSAGE_LENGTH,
        help_text="What the simulated caller says to the agent.",
    )


class TurnLatencyOutput(serializers.Serializer):
    endOfTurnDelayMs = serializers.FloatField(source="end_of_turn_delay_ms", allow_null=True)
    llmTtftMs = serializers.FloatField(source="llm_ttft_ms", allow_null=True)
    ttsTtfbMs = serializers.FloatField(source="tts_ttfb_ms", allow_null=True)
    e2eLatencyMs = serializers.FloatField(source="e2e_latency_ms", allow_null=True)


class TurnUsageOutput(serializers.Serializer):
    promptTokens = serializers.IntegerField(source="prompt_tokens", allow_null=True)
    completionTokens = serializers.IntegerField(source="completion_tokens", allow_null=True)
    ttsCharacters = serializers.IntegerField(source="tts_characters", allow_null=True)
    audioSeconds = serializers.FloatField(source="audio_seconds", allow_null=True)


class TurnOutput(serializers.ModelSerializer):
    toolName = serializers.CharField(source="tool_name")
    toolPayload = serializers.JSONField(source="tool_payload", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    latency = TurnLatencyOutput(source="*")
    usage = TurnUsageOutput(source="*")

    class Meta:
        model = TranscriptTurn
        fields = ["id", "role", "content", "toolName", "toolPayload", "createdAt", "latency", "usage"]


class MessageOutput(serializers.Serializer):
    callId = serializers.IntegerField(source="call.id")
    reply = serializers.CharField(help_text="Everything the agent said in answer, joined.")
    status = serializers.CharField(source="call.status", help_text="The call's status after this exchange.")
    endReason = serializers.CharField(
        source="call.end_reason", allow_blank=True, help_text="Set when this exchange ended the call."
    )
    turns = TurnOutput(many=True, help_text="The transcript turns this exchange added, in order.")
