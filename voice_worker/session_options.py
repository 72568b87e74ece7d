"""The agent's settings -> the `AgentSession` that runs its calls.

Everything the session is told about turn-taking, interruptions and provider retries is
decided here, from the agent's configuration alone, so it can be read (and tested) in one
place.
"""

from __future__ import annotations

from typing import Any

from livekit.agents import NOT_GIVEN, APIConnectOptions
from livekit.agents.voice.agent_session import SessionConnectOptions

from . import providers
from .config import AgentConfig

# The session's tool-call rounds per caller turn (function, then function, ...).
MAX_TOOL_STEPS = 5
CONN_OPTIONS = SessionConnectOptions(
    stt_conn_options=APIConnectOptions(max_retry=2, retry_interval=0.5, timeout=10.0),
    llm_conn_options=APIConnectOptions(max_retry=1, retry_interval=0.5, timeout=15.0),
    tts_conn_options=APIConnectOptions(max_retry=2, retry_interval=0.5, timeout=10.0),
)


def turn_handling(config: AgentConfig, models: providers.PipelineModels, *, text_mode: bool) -> dict[str, Any]:
    """`TurnHandlingOptions` for the session."""
    options: dict[str, Any] = {
        "turn_detection": "vad" if models.vad is not None and not text_mode else "manual",
        "interruption": {"enabled": config.allow_interruptions, "min_duration": config.interruption_min_duration},
    }
    if models.vad is not None:
        options["interruption"]["mode"] = "vad"
    return options


def session_kwargs(config: AgentConfig, models: providers.PipelineModels, *, text_mode: bool) -> dict[str, Any]:
    """Keyword arguments for `AgentSession(...)`."""
    return {
        "stt": models.stt or NOT_GIVEN,
        "llm": models.llm,
        "tts": models.tts or NOT_GIVEN,
        "vad": models.vad,
        "turn_handling": turn_handling(config, models, text_mode=text_mode),
        "user_away_timeout": float(config.silence_timeout_seconds) if config.silence_timeout_seconds else None,
        "max_tool_steps": MAX_TOOL_STEPS,
        "conn_options": CONN_OPTIONS,
    }
