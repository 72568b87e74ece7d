"""Reads for the voice worker and the text simulation."""

from typing import Any

from asgiref.sync import sync_to_async
from django.db.models import QuerySet

from agents import voice_settings as vs
from agents.models import Agent, LLMProvider, ProviderBase, STTProvider, TTSProvider
from calls.models import Call, TranscriptTurn

FALLBACK_TABLES: dict[str, type[ProviderBase]] = {"llm": LLMProvider, "stt": STTProvider, "tts": TTSProvider}

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


def fallback_provider_rows(agent: Agent) -> dict[str, list[Any]]:
    """The agent's fallback providers by role, in its order; rows deleted since are skipped."""
    wanted = vs.complete(agent.voice_settings)["fallbackProviders"]
    result: dict[str, list[Any]] = {}
    for role, table in FALLBACK_TABLES.items():
        ids = wanted.get(role) or []
        rows = table._default_manager.in_bulk(ids) if ids else {}
        result[role] = [rows[i] for i in ids if i in rows]
    return result


async def afallback_provider_rows(agent: Agent) -> dict[str, list[Any]]:
    return await sync_to_async(fallback_provider_rows)(agent)


def transfer_origin(call_id: int) -> tuple[str, str]:
    """(LiveKit outbound trunk id, caller id) a warm transfer dials the destination from: the
    trunk of the call's phone number (else the platform's) and that number; ("", "") when
    there is none."""
    from telephony.trunks import platform_trunk, trunk_for_number

    call = Call.objects.select_related("phone_number__sip_trunk").filter(pk=call_id).first()
    if call is None:
        return "", ""
    trunk = trunk_for_number(call.phone_number) if call.phone_number else platform_trunk()
    number = call.phone_number.phone_number if call.phone_number else ""
    return (trunk.livekit_trunk_id if trunk else ""), number


atransfer_origin = sync_to_async(transfer_origin)
