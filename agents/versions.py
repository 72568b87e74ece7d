"""What an agent version is: the behaviour part of an agent's configuration, as a snapshot.

A version is taken whenever one of `BEHAVIOUR_FIELDS` changes (the prompt, the first
message, the models and voice, the tools and the settings); renaming an agent, its
description, its status or its test setting do not make a new version. The snapshot uses
the service's field names (providers as `<kind>_provider_id`), so restoring one is an
ordinary `agent_update` through the same validation as any edit.
"""

from __future__ import annotations

import copy

BEHAVIOUR_FIELDS = (
    "system_prompt",
    "first_message",
    "language",
    "voice_id",
    "llm_provider_id",
    "llm_model",
    "llm_temperature",
    "stt_provider_id",
    "stt_model",
    "tts_provider_id",
    "tts_model",
    "allow_interruptions",
    "interruption_min_duration",
    "silence_timeout_seconds",
    "max_duration_seconds",
    "end_call_phrases",
    "transfers",
    "functions",
    "metadata",
    "voice_settings",
)


def agent_snapshot(agent) -> dict:
    """The agent's behaviour as plain JSON (a deep copy: the row may change afterwards)."""
    return {field: copy.deepcopy(getattr(agent, field)) for field in BEHAVIOUR_FIELDS}


def agent_as_of(agent, snapshot: dict):
    """An unsaved copy of `agent` configured as `snapshot` says, for running a version
    that is not the current one. Providers are re-read only when they differ."""
    from .models import LLMProvider, STTProvider, TTSProvider

    version = copy.copy(agent)
    version._state = copy.copy(agent._state)
    version._state.fields_cache = dict(agent._state.fields_cache)
    for field in BEHAVIOUR_FIELDS:
        if field in snapshot:
            setattr(version, field, copy.deepcopy(snapshot[field]))
    for kind, table in (("llm", LLMProvider), ("stt", STTProvider), ("tts", TTSProvider)):
        provider_id = snapshot.get(f"{kind}_provider_id")
        if provider_id is not None and getattr(agent, f"{kind}_provider_id") != provider_id:
            setattr(version, f"{kind}_provider", table.objects.get(pk=provider_id))
    return version
