"""The agent's settings -> the `AgentSession` that runs its calls.

Everything the session is told about turn-taking, interruptions and provider retries is
decided here, from the agent's configuration alone, so it can be read (and tested) in one
place. docs/voice-worker.md explains each setting and its default.
"""

from __future__ import annotations

import logging
from typing import Any

from livekit.agents import NOT_GIVEN, APIConnectOptions
from livekit.agents.voice.agent_session import SessionConnectOptions

from . import providers
from .config import AgentConfig

logger = logging.getLogger(__name__)

# The session's tool-call rounds per caller turn (function, then function, ...).
MAX_TOOL_STEPS = 5
# Languages the English end-of-turn model covers; anything else uses the multilingual one.
ENGLISH = ("en", "en-US", "en-GB", "en-AU", "en-CA", "en-IN", "en-NZ", "en-IE", "en-ZA")

_turn_model_warned = False
# Where livekit-plugins-turn-detector 1.8.9 keeps its weights (its `models.py`; a test
# checks they agree). Not imported from there: importing the plugin registers its
# inference runners, which then fail the worker's inference process without the weights.
TURN_MODEL_REPO = "livekit/turn-detector"
TURN_MODEL_FILE = "onnx/model_q8.onnx"
TURN_MODEL_REVISIONS = ("v1.2.2-en", "v0.4.1-intl")


def conn_options(config: AgentConfig) -> SessionConnectOptions:
    """No retries inside one provider: the FallbackAdapters move on to the next candidate
    instead, each attempt bounded by the agent's stall budget."""
    budget = config.voice.provider_timeout_seconds
    return SessionConnectOptions(
        stt_conn_options=APIConnectOptions(max_retry=0, retry_interval=0.2, timeout=max(budget, 5.0)),
        llm_conn_options=APIConnectOptions(max_retry=0, retry_interval=0.2, timeout=budget),
        tts_conn_options=APIConnectOptions(max_retry=0, retry_interval=0.2, timeout=budget),
    )


def turn_detector(config: AgentConfig, models: providers.PipelineModels, *, text_mode: bool):
    """What the session uses to decide the caller's turn is over."""
    if text_mode:
        return "manual"
    mode = config.voice.turn_detection
    if mode == "stt" and models.stt is not None:
        return "stt"
    if mode == "model":
        detector = end_of_turn_model(config.language)
        if detector is not None:
            return detector
    return "vad" if models.vad is not None else "stt"


def turn_model_weights_present() -> bool:
    """Whether the end-of-turn models' weights are in the local Hugging Face cache; logged
    once per process when they are not (agents with turnDetection "model" then use VAD)."""
    global _turn_model_warned
    try:
        from huggingface_hub import try_to_load_from_cache

        present = all(
            isinstance(try_to_load_from_cache(TURN_MODEL_REPO, TURN_MODEL_FILE, revision=rev), str)
            for rev in TURN_MODEL_REVISIONS
        )
    except Exception:
        present = False
    if not present and not _turn_model_warned:
        _turn_model_warned = True
        logger.warning(
            "end-of-turn model weights not downloaded (run_voice_worker --download-files); "
            "agents with turnDetection 'model' use VAD"
        )
    return present


def end_of_turn_model(language: str):
    """LiveKit's self-hosted end-of-turn model (never LiveKit Cloud inference), or None when
    its weights were not downloaded (`run_voice_worker --download-files`): logged once per
    process, and the call uses VAD."""
    global _turn_model_warned
    if not turn_model_weights_present():
        return None
    try:
        if language in ENGLISH or language == "en":
            from livekit.plugins.turn_detector.english import EnglishModel

            return EnglishModel()
        from livekit.plugins.turn_detector.multilingual import MultilingualModel

        return MultilingualModel()
    except Exception as exc:  # weights missing, no inference process in this job
        if not _turn_model_warned:
            _turn_model_warned = True
            logger.warning("end-of-turn model unavailable (%s); turn detection falls back to VAD", exc)
        return None


def turn_handling(config: AgentConfig, models: providers.PipelineModels, *, text_mode: bool) -> dict[str, Any]:
    """`TurnHandlingOptions` for the session."""
    voice = config.voice
    interruption: dict[str, Any] = {
        "enabled": config.allow_interruptions,
        "min_duration": config.interruption_min_duration,
        "min_words": voice.interruption_min_words,
        "false_interruption_timeout": voice.false_interruption_timeout,
        "resume_false_interruption": voice.resume_false_interruption,
    }
    if models.vad is not None:
        # Plain voice activity, locally: the "adaptive" detector is a LiveKit Cloud service.
        interruption["mode"] = "vad"
    return {
        "turn_detection": turn_detector(config, models, text_mode=text_mode),
        "endpointing": {
            "mode": "fixed",
            "min_delay": voice.endpointing_min_delay,
            "max_delay": voice.endpointing_max_delay,
        },
        "interruption": interruption,
        "preemptive_generation": {"enabled": voice.preemptive_generation},
    }


def session_kwargs(config: AgentConfig, models: providers.PipelineModels, *, text_mode: bool) -> dict[str, Any]:
    """Keyword arguments for `AgentSession(...)`."""
    return {
        "stt": models.stt or NOT_GIVEN,
        "llm": models.llm,
        "tts": models.tts or NOT_GIVEN,
        "vad": models.vad,
        "turn_handling": turn_handling(config, models, text_mode=text_mode),
        # Silence is handled by the runner (reprompt, then hang up), from the "away" state.
        "user_away_timeout": float(config.silence_timeout_seconds) if config.silence_timeout_seconds else None,
        "max_tool_steps": MAX_TOOL_STEPS,
        "conn_options": conn_options(config),
    }
