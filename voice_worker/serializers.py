from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from calls.serializers import TranscriptTurnOutput, turn_output

MAX_MESSAGE_LENGTH = 4000


class MessageInput(serializers.Serializer):
    content = serializers.CharField(
        max_length=MAX_MESSAGE_LENGTH,
        help_text="What the simulated caller says to the agent.",
    )


class MessageOutput(serializers.Serializer):
    callId = serializers.IntegerField(source="call.id")
    reply = serializers.CharField(help_text="Everything the agent said in answer, joined.")
    status = serializers.CharField(source="call.status", help_text="The call's status after this exchange.")
    endReason = serializers.CharField(
        source="call.end_reason", allow_blank=True, help_text="Set when this exchange ended the call."
    )
    turns = serializers.SerializerMethodField(
        help_text="The transcript turns this exchange added, in order, shaped as in GET /calls/{id}'s transcript."
    )

    @extend_schema_field(TranscriptTurnOutput(many=True))
    def get_turns(self, reply) -> list[dict]:
        return [turn_output(turn) for turn in reply.turns]
