"""Plain snapshots of what a conversation needs: the agent's configuration and the call.

The conversation code runs on an event loop (the voice worker) or inside a request (the
text simulation); it never touches the ORM. It gets these frozen dataclasses instead, built
once from rows loaded with their providers and customer. This module imports no LiveKit
code, so the API can validate and load cheaply before it pays for the agent runtime.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from agents import voice_settings as vs
from agents.variables import render_variables

# Spoken when the agent has to end the call itself; an agent overrides them in its
# `metadata` (keys below), so a customer can word them in the agent's language.
DEFAULT_GOODBYE = "Thank you for calling. Goodbye!"
DEFAULT_MAX_DURATION_MESSAGE = "I'm sorry, but we've reached the time limit for this call. Goodbye!"
DEFAULT_SILENCE_MESSAGE = "It seems you're no longer there, so I'll end the call now. Goodbye!"
DEFAULT_ERROR_MESSAGE = "I'm sorry, I'm having technical difficulties. Please call back later. Goodbye!"
# Said when every language model failed this turn: honest, and the call goes on.
DEFAULT_RECOVERY_MESSAGE = "I'm sorry, I'm having trouble answering right now. Could you say that again?"
DEFAULT_REPROMPT_MESSAGE = "Are you still there?"
DEFAULT_FILLER_MESSAGE = "One moment, please."


@dataclass(frozen=True)
class ProviderChoice:
    """One of the agent's model providers, with the model (and voice) it runs."""

    kind: str  # "llm", "stt" or "tts"
    provider_id: int
    name: str
    vendor: str
    model: str
    is_active: bool = True
    base_url: str = ""  # LLM only: an OpenAI-compatible server
    voice: str = ""  # TTS only


@dataclass(frozen=True)
class VoiceSettings:
    """agents/voice_settings.py's document, typed; defaults are the same."""

    turn_detection: str = vs.DEFAULTS["turnDetection"]
    endpointing_min_delay: float = vs.DEFAULTS["endpointingMinDelay"]
    endpointing_max_delay: float = vs.DEFAULTS["endpointingMaxDelay"]
    interruption_min_words: int = vs.DEFAULTS["interruptionMinWords"]
    false_interruption_timeout: float | None = vs.DEFAULTS["falseInterruptionTimeout"]
    resume_false_interruption: bool = vs.DEFAULTS["resumeFalseInterruption"]
    preemptive_generation: bool = vs.DEFAULTS["preemptiveGeneration"]
    provider_timeout_seconds: float = vs.DEFAULTS["providerTimeoutSeconds"]
    thinking_sound: str | None = vs.DEFAULTS["thinkingSound"]
    filler_after_seconds: float | None = vs.DEFAULTS["fillerAfterSeconds"]
    silence_reprompts: int = vs.DEFAULTS["silenceReprompts"]

    @classmethod
    def from_document(cls, value) -> VoiceSettings:
        doc = vs.complete(value)
        return cls(
            turn_detection=doc["turnDetection"],
            endpointing_min_delay=float(doc["endpointingMinDelay"]),
            endpointing_max_delay=float(doc["endpointingMaxDelay"]),
            interruption_min_words=int(doc["interruptionMinWords"]),
            false_interruption_timeout=doc["falseInterruptionTimeout"],
            resume_false_interruption=bool(doc["resumeFalseInterruption"]),
            preemptive_generation=bool(doc["preemptiveGeneration"]),
            provider_timeout_seconds=float(doc["providerTimeoutSeconds"]),
            thinking_sound=doc["thinkingSound"],
            filler_after_seconds=doc["fillerAfterSeconds"],
            silence_reprompts=int(doc["silenceReprompts"]),
        )


@dataclass(frozen=True)
class FunctionSpec:
    """A custom function the agent may call: an HTTPS endpoint the customer runs."""

    name: str
    description: str
    parameters: dict
    url: str


@dataclass(frozen=True)
class TransferDestination:
    name: str
    destination: str  # E.164 number or sip: URI
    description: str = ""
    mode: str = "cold"  # or "warm": consult the destination before connecting the caller


@dataclass(frozen=True)
class CallInfo:
    """The call as the conversation sees it; sent to custom functions so they know who's calling."""

    call_id: int
    customer_id: str
    agent_id: int | None
    direction: str
    from_number: str
    to_number: str
    room_name: str
    is_simulation: bool

    def as_payload(self) -> dict[str, Any]:
        return {
            "id": self.call_id,
            "agentId": self.agent_id,
            "direction": self.direction,
            "fromNumber": self.from_number,
            "toNumber": self.to_number,
            "simulation": self.is_simulation,
        }


@dataclass(frozen=True)
class AgentConfig:
    agent_id: int
    name: str
    system_prompt: str
    first_message: str
    language: str
    llm: ProviderChoice
    llm_temperature: float
    stt: ProviderChoice
    tts: ProviderChoice
    allow_interruptions: bool
    interruption_min_duration: float
    silence_timeout_seconds: int
    max_duration_seconds: int
    end_call_phrases: tuple[str, ...] = ()
    transfers: tuple[TransferDestination, ...] = ()
    functions: tuple[FunctionSpec, ...] = ()
    signing_secret: str = field(default="", repr=False)
    # The secret replaced by a rotation, still signing for 24 h (integrations).
    previous_signing_secret: str = field(default="", repr=False)
    goodbye_message: str = DEFAULT_GOODBYE
    max_duration_message: str = DEFAULT_MAX_DURATION_MESSAGE
    silence_message: str = DEFAULT_SILENCE_MESSAGE
    error_message: str = DEFAULT_ERROR_MESSAGE
    recovery_message: str = DEFAULT_RECOVERY_MESSAGE
    reprompt_message: str = DEFAULT_REPROMPT_MESSAGE
    filler_message: str = DEFAULT_FILLER_MESSAGE
    # Whose provider credentials the models run on (tenants.credentials).
    customer_id: str | None = None
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    # Tried in order after the agent's own provider of that role.
    llm_fallbacks: tuple[ProviderChoice, ...] = ()
    stt_fallbacks: tuple[ProviderChoice, ...] = ()
    tts_fallbacks: tuple[ProviderChoice, ...] = ()

    @classmethod
    def from_agent(cls, agent, *, fallback_rows: dict | None = None) -> AgentConfig:
        """`agent` must come with its providers and customer (select_related);
        `fallback_rows` ({"llm": [LLMProvider, ...], ...}) with its fallback providers, in order."""
        meta = agent.metadata if isinstance(agent.metadata, dict) else {}
        rows = fallback_rows or {}
        return cls(
            agent_id=agent.pk,
            name=agent.name,
            system_prompt=agent.system_prompt,
            first_message=agent.first_message,
            language=agent.language or "en",
            llm=_choice("llm", agent.llm_provider, model=agent.effective_llm_model),
            llm_temperature=agent.llm_temperature,
            stt=_choice("stt", agent.stt_provider, model=agent.effective_stt_model),
            tts=_choice("tts", agent.tts_provider, model=agent.effective_tts_model, voice=agent.effective_voice_id),
            allow_interruptions=agent.allow_interruptions,
            interruption_min_duration=agent.interruption_min_duration,
            silence_timeout_seconds=agent.silence_timeout_seconds,
            max_duration_seconds=agent.max_duration_seconds,
            end_call_phrases=tuple(
                p.strip() for p in _list(agent.end_call_phrases) if isinstance(p, str) and p.strip()
            ),
            transfers=tuple(_transfers(agent.transfers)),
            functions=tuple(_functions(agent.functions)),
            signing_secret=agent.customer.signing_secret,
            previous_signing_secret=_previous_signing_secret(agent.customer),
            goodbye_message=_text(meta.get("goodbyeMessage"), DEFAULT_GOODBYE),
            max_duration_message=_text(meta.get("maxDurationMessage"), DEFAULT_MAX_DURATION_MESSAGE),
            silence_message=_text(meta.get("silenceMessage"), DEFAULT_SILENCE_MESSAGE),
            error_message=_text(meta.get("errorMessage"), DEFAULT_ERROR_MESSAGE),
            # `retryMessage` is the key's earlier name.
            recovery_message=_text(meta.get("recoveryMessage") or meta.get("retryMessage"), DEFAULT_RECOVERY_MESSAGE),
            reprompt_message=_text(meta.get("repromptMessage"), DEFAULT_REPROMPT_MESSAGE),
            filler_message=_text(meta.get("fillerMessage"), DEFAULT_FILLER_MESSAGE),
            customer_id=str(agent.customer_id),
            voice=VoiceSettings.from_document(agent.voice_settings),
            llm_fallbacks=tuple(_fallback("llm", row) for row in rows.get("llm", ())),
            stt_fallbacks=tuple(_fallback("stt", row) for row in rows.get("stt", ())),
            tts_fallbacks=tuple(_fallback("tts", row) for row in rows.get("tts", ())),
        )

    def with_variables(self, variables: dict | None) -> AgentConfig:
        """This configuration with `{{name}}` values filled into the prompt and first message.

        Calls (an outbound call's dispatch metadata) and agent test cases (a case's
        `variables`) both fill them here, so a prompt reads the same in a test as on a call;
        without values it is this very configuration."""
        if not variables:
            return self
        return dataclasses.replace(
            self,
            system_prompt=render_variables(self.system_prompt, variables),
            first_message=render_variables(self.first_message, variables),
        )


def _fallback(kind: str, row) -> ProviderChoice:
    """A fallback provider runs its own default model (and voice)."""
    return _choice(kind, row, model=row.default_model, voice=getattr(row, "default_voice", ""))


def _choice(kind: str, row, *, model: str, voice: str = "") -> ProviderChoice:
    """A provider row (LLMProvider, STTProvider or TTSProvider) running `model`."""
    return ProviderChoice(
        kind=kind,
        provider_id=row.pk,
        name=row.name,
        vendor=row.vendor,
        model=model,
        is_active=row.is_active,
        base_url=getattr(row, "base_url", ""),
        voice=voice,
    )


def _previous_signing_secret(customer) -> str:
    """The secret a rotation replaced, while it still signs (loaded with the customer:
    `customer__function_secret` in select_related, so no query here)."""
    from django.core.exceptions import ObjectDoesNotExist

    try:
        rotation = customer.function_secret
    except ObjectDoesNotExist:
        return ""
    return rotation.active_previous_secret()


def call_info(call) -> CallInfo:
    return CallInfo(
        call_id=call.pk,
        customer_id=str(call.customer_id),
        agent_id=call.agent_id,
        direction=call.direction,
        from_number=call.from_number,
        to_number=call.to_number,
        room_name=call.room_name,
        is_simulation=call.is_simulation,
    )


def function_timeout_seconds() -> float:
    """How long a custom function may take before the model is told it timed out."""
    return float(getattr(settings, "VOICE_FUNCTION_TIMEOUT_SECONDS", 8.0))


def functions_allow_private_networks() -> bool:
    """Development and tests only: let custom functions reach plain-HTTP and private addresses."""
    return bool(getattr(settings, "VOICE_FUNCTIONS_ALLOW_PRIVATE_NETWORKS", False))


# The agents API validates these JSON fields; the worker still reads them defensively,
# because a row edited in the admin or by an older release must not crash a live call.


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _text(value, default: str) -> str:
    return value.strip() if isinstance(value, str) and value.strip() else default


def _transfers(value):
    for item in _list(value):
        if not isinstance(item, dict):
            continue
        name, destination = item.get("name"), item.get("destination")
        if isinstance(name, str) and name.strip() and isinstance(destination, str) and destination.strip():
            description = item.get("description")
            yield TransferDestination(
                name=name.strip(),
                destination=destination.strip(),
                description=description.strip() if isinstance(description, str) else "",
                mode="warm" if item.get("mode") == "warm" else "cold",
            )


def _functions(value):
    for item in _list(value):
        if not isinstance(item, dict):
            continue
        name, url = item.get("name"), item.get("url")
        if not (isinstance(name, str) and name.strip() and isinstance(url, str) and url.strip()):
            continue
        parameters = item.get("parameters")
        if not isinstance(parameters, dict) or parameters.get("type") != "object":
            parameters = {"type": "object", "properties": {}}
        description = item.get("description")
        yield FunctionSpec(
            name=name.strip(),
            description=description.strip() if isinstance(description, str) else "",
            parameters=parameters,
            url=url.strip(),
        )
