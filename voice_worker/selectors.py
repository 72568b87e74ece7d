"""Reads for the voice worker and the text simulation."""

from django.db.models import QuerySet

from calls.models import Call, TranscriptTurn

# Everything a conversation needs, in one query: the agent, its providers and its customer
# (whose signing secrets, current and rotated-out, sign custom function calls).
CALL_CONVERSATION_RELATED = (
    "customer",
    "agent__customer",
    "agent__customer__function_secret",
    "agent__llm_provider",
    "agent__stt_provider",
    "agent__tts_provider",
)


def calls_with_conversation() -> QuerySet[Call]:
    return Call.objects.select_related(*CALL_CONVERSATION_RELATED)


async def acall_for_conversation(call_id: int) -> Call | None:
    return await calls_with_conversation().filter(pk=call_id).afirst()


def call_transcript(call_id: int) -> QuerySet[TranscriptTurn]:
    return TranscriptTurn.objects.filter(call_id=call_id).order_by("id")
