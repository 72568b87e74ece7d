"""One transcript turn as the conversation produced it, before it is stored.

Kept free of LiveKit imports: the API stores these without loading the agent runtime.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, fields

from django.utils import timezone


@dataclass
class TurnRecord:
    role: str
    content: str = ""
    tool_name: str = ""
    tool_payload: dict | None = None
    # An assistant turn the caller talked over: `content` is what was heard before it stopped.
    interrupted: bool = False
    # Latency, milliseconds.
    end_of_turn_delay_ms: float | None = None
    llm_ttft_ms: float | None = None
    tts_ttfb_ms: float | None = None
    e2e_latency_ms: float | None = None
    # Usage.
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tts_characters: int | None = None
    audio_seconds: float | None = None
    # When the turn happened: stamped as the conversation produces the record, so turns
    # stored together (a simulated exchange) keep their own times. Not part of equality.
    created_at: datetime.datetime = field(default_factory=timezone.now, compare=False)

    def as_model_fields(self) -> dict:
        """Keyword arguments for `calls.models.TranscriptTurn` (shallow: no deep copies on the
        worker's event loop)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}
