"""Text simulation: one conversational turn of a simulation call's agent, over the API.

The agent logic is the voice worker's (`text_exchange` runs `MorpheusAgent`); this module
is the service around it: what may be simulated, the agent's LLM, and storing the exchange
atomically. The greeting (the agent's first message) is stored with the first exchange.
Nothing is written unless the model answered: a provider without credentials or an
unreachable one is a 503 and the transcript is unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from django.core.cache import cache
from django.utils import timezone

from calls.models import Call, EndReason, TranscriptTurn, TurnRole
from morpheus.errors import Conflict, ServiceUnavailable

from . import providers
from .config import AgentConfig, call_info
from .persistence import CallNotOpen, simulation_exchange_store
from .selectors import call_transcript, calls_with_conversation
from .turns import TurnRecord

logger = logging.getLogger(__name__)

NOT_SIMULATION = "Messages can only be sent to simulation calls"
CALL_ENDED = "This call has already ended"
AGENT_DELETED = "This call's agent has been deleted"
BUSY = "The agent is still answering the previous message"
# Longest an exchange can hold the per-call lock (a crashed request frees it by expiry).
LOCK_SECONDS = 120


@dataclass
class SimulationReply:
    call: Call
    turns: list[TranscriptTurn]
    reply: str


def simulation_message_send(*, call: Call, content: str) -> SimulationReply:
    if not call.is_simulation:
        raise Conflict(NOT_SIMULATION)
    if not call.is_open:
        raise Conflict(CALL_ENDED)
    lock = f"voice-worker:simulation:{call.pk}"
    if not cache.add(lock, 1, timeout=LOCK_SECONDS):
        raise Conflict(BUSY)
    try:
        return _exchange(call_id=call.pk, content=content)
    finally:
        cache.delete(lock)


def _exchange(*, call_id: int, content: str) -> SimulationReply:
    call = calls_with_conversation().get(pk=call_id)
    if not call.is_open:
        raise Conflict(CALL_ENDED)
    if call.agent is None:
        raise Conflict(AGENT_DELETED)
    config = AgentConfig.from_agent(call.agent)
    history = list(call_transcript(call.pk))
    opening: list[TurnRecord] = []
    if not history and config.first_message.strip():
        opening.append(TurnRecord(role=TurnRole.ASSISTANT, content=config.first_message.strip()))

    if _past_max_duration(call, config):
        records = [
            TurnRecord(role=TurnRole.USER, content=content),
            TurnRecord(role=TurnRole.ASSISTANT, content=config.max_duration_message),
        ]
        end_reason, reply = EndReason.MAX_DURATION, config.max_duration_message
    else:
        model = _build_llm(config)
        from .text_exchange import ExchangeFailed, run_text_exchange

        try:
            outcome = async_to_sync(run_text_exchange)(
                config=config, call=call_info(call), history=history + opening, user_text=content, model=model
            )
        except ExchangeFailed as exc:
            logger.warning("simulation turn failed for call %s: %s", call.pk, exc)
            raise ServiceUnavailable(f"The agent's language model is unavailable: {exc}")
        records, end_reason, reply = outcome.records, outcome.end_reason, outcome.reply

    try:
        turns, call = simulation_exchange_store(call_id=call.pk, records=opening + records, end_reason=end_reason)
    except CallNotOpen:
        raise Conflict(CALL_ENDED)
    return SimulationReply(call=call, turns=turns, reply=reply)


def _build_llm(config: AgentConfig):
    try:
        return providers.build_llm(config)
    except providers.ProviderNotConfigured as exc:
        raise ServiceUnavailable(str(exc))


def _past_max_duration(call: Call, config: AgentConfig) -> bool:
    started = call.answered_at or call.started_at
    return (timezone.now() - started).total_seconds() >= config.max_duration_seconds
