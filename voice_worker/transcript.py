"""Session events -> transcript turns with their latency and usage.

Shared by the voice worker (which writes each turn as it happens) and the text simulation
(which writes a whole exchange at once). Latency comes from the framework's per-message
metrics (`ChatMessage.metrics`); usage is the growth of the session's cumulative usage
since the previous turn of that kind: a caller turn carries the audio the STT processed for
it, an assistant turn the LLM tokens (tool-calling steps included) and TTS characters and
audio seconds it took. In text mode there is no audio and no end-of-speech, so end-to-end
latency is measured from the caller's message to the first text the agent produced.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from livekit.agents import AgentSession, ChatMessage, io
from livekit.agents.metrics import LLMModelUsage, STTModelUsage, TTSModelUsage
from livekit.agents.voice import ConversationItemAddedEvent, FunctionToolsExecutedEvent

from calls.models import TurnRole

from .turns import TurnRecord


@dataclass
class _Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tts_characters: int = 0
    tts_audio: float = 0.0
    stt_audio: float = 0.0

    @classmethod
    def of(cls, session: AgentSession) -> _Usage:
        total = cls()
        for usage in session.usage.model_usage:
            if isinstance(usage, LLMModelUsage):
                total.prompt_tokens += usage.input_tokens
                total.completion_tokens += usage.output_tokens
            elif isinstance(usage, TTSModelUsage):
                total.tts_characters += usage.characters_count
                total.tts_audio += usage.audio_duration
            elif isinstance(usage, STTModelUsage):
                total.stt_audio += usage.audio_duration
        return total


def _ms(seconds: float | None) -> float | None:
    return round(seconds * 1000, 1) if seconds is not None and seconds >= 0 else None


def _decoded(text: str):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


class TurnCollector:
    """Calls `sink(record)` for every caller, assistant and tool turn, in conversation order."""

    def __init__(self, session: AgentSession, sink: Callable[[TurnRecord], None], *, text_mode: bool) -> None:
        self._session = session
        self._sink = sink
        self._text_mode = text_mode
        # What earlier turns already accounted for, per kind of usage.
        self._caller_usage = _Usage()
        self._assistant_usage = _Usage()
        # Text mode: when the caller's latest message arrived, and when the agent's first text
        # after it did.
        self._caller_at: float | None = None
        self._first_text_at: float | None = None
        session.on("conversation_item_added", self._on_item_added)
        session.on("function_tools_executed", self._on_tools_executed)
        if text_mode:
            session.output.transcription = _FirstTextProbe(self._on_text, next_in_chain=session.output.transcription)

    def detach(self) -> None:
        self._session.off("conversation_item_added", self._on_item_added)
        self._session.off("function_tools_executed", self._on_tools_executed)

    def _on_text(self) -> None:
        if self._caller_at is not None and self._first_text_at is None:
            self._first_text_at = time.time()

    def _on_item_added(self, event: ConversationItemAddedEvent) -> None:
        item = event.item
        if not isinstance(item, ChatMessage) or item.role not in ("user", "assistant"):
            return
        usage = _Usage.of(self._session)
        metrics = item.metrics or {}
        if item.role == "user":
            previous, self._caller_usage = self._caller_usage, usage
            self._caller_at, self._first_text_at = item.created_at, None
            record = TurnRecord(
                role=TurnRole.USER,
                content=(item.text_content or "").strip(),
                end_of_turn_delay_ms=_ms(metrics.get("end_of_turn_delay")),
                audio_seconds=round(usage.stt_audio - previous.stt_audio, 3) if not self._text_mode else None,
            )
        else:
            previous, self._assistant_usage = self._assistant_usage, usage
            e2e = metrics.get("e2e_latency")
            if e2e is None and self._text_mode and self._caller_at is not None and self._first_text_at is not None:
                e2e = self._first_text_at - self._caller_at
            record = TurnRecord(
                role=TurnRole.ASSISTANT,
                content=(item.text_content or "").strip(),
                interrupted=bool(item.interrupted),
                llm_ttft_ms=_ms(metrics.get("llm_node_ttft")),
                tts_ttfb_ms=_ms(metrics.get("tts_node_ttfb")),
                e2e_latency_ms=_ms(e2e),
                prompt_tokens=usage.prompt_tokens - previous.prompt_tokens,
                completion_tokens=usage.completion_tokens - previous.completion_tokens,
                tts_characters=usage.tts_characters - previous.tts_characters if not self._text_mode else None,
                audio_seconds=round(usage.tts_audio - previous.tts_audio, 3) if not self._text_mode else None,
            )
            # Only the first reply to a caller turn has an end-to-end figure; a reply after a
            # tool call is part of the same answer.
            self._first_text_at = None
            self._caller_at = None
        self._sink(record)

    def _on_tools_executed(self, event: FunctionToolsExecutedEvent) -> None:
        outputs = {output.call_id: output for output in event.function_call_outputs}
        for call in event.function_calls:
            output = outputs.get(call.call_id)
            text = output.output if output is not None else ""
            self._sink(
                TurnRecord(
                    role=TurnRole.TOOL,
                    content=text,
                    tool_name=call.name,
                    tool_payload={
                        "callId": call.call_id,
                        "arguments": _decoded(call.arguments),
                        "output": _decoded(text) if text else None,
                        "isError": bool(output.is_error) if output is not None else False,
                    },
                )
            )


class _FirstTextProbe(io.TextOutput):
    """Notes when the agent's text starts flowing, and passes it on unchanged."""

    def __init__(self, on_text: Callable[[], None], *, next_in_chain: io.TextOutput | None) -> None:
        super().__init__(label="FirstTextProbe", next_in_chain=next_in_chain)
        self._on_text = on_text

    async def capture_text(self, text: str) -> None:
        if text:
            self._on_text()
        if self.next_in_chain is not None:
            await self.next_in_chain.capture_text(text)

    def flush(self) -> None:
        if self.next_in_chain is not None:
            self.next_in_chain.flush()
