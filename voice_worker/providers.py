"""Provider rows -> LiveKit plugin instances.

One factory for the voice worker and the text simulation, so both talk to the same models
the same way. Credentials come from `tenants.credentials`: the customer's own key first,
the platform's setting after. A provider whose credentials are missing, whose vendor we
cannot run for that role, or that a platform admin disabled raises `ProviderNotConfigured`
with a message an operator can act on — the worker then fails the call with that message
instead of hanging, the simulation answers 503.

Plugins are imported here, lazily: the API process only pays for the ones a simulation uses.
"""

from __future__ import annotations

import importlib
import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings

from agents.models import Vendor
from tenants.credentials import NO_KEY, ProviderCredential, platform_key_setting, provider_credentials

from .config import AgentConfig, ProviderChoice

if TYPE_CHECKING:
    from livekit.agents import llm as lk_llm
    from livekit.agents import stt as lk_stt
    from livekit.agents import tts as lk_tts
    from livekit.agents import vad as lk_vad

ROLE_LABELS = {"llm": "LLM", "stt": "STT", "tts": "TTS"}
SUPPORTED_VENDORS = {
    "llm": {Vendor.OPENAI},
    "stt": {Vendor.OPENAI, Vendor.DEEPGRAM},
    "tts": {Vendor.OPENAI, Vendor.ELEVENLABS},
}


class ProviderNotConfigured(Exception):
    """The agent's provider cannot be used; the message says which and why."""


@dataclass
class PipelineModels:
    """What a call runs. Each model may be a FallbackAdapter over the agent's provider (with
    the customer's key, then the platform's) and its fallback providers. `notes` say which
    fallbacks were left out and why; the worker records them on the call."""

    llm: lk_llm.LLM
    stt: lk_stt.STT | None = None
    tts: lk_tts.TTS | None = None
    vad: lk_vad.VAD | None = None
    notes: list[str] = field(default_factory=list)

    async def aclose(self) -> None:
        # The VAD belongs to the process (prewarm), not to one call.
        for model in (self.llm, self.stt, self.tts):
            if model is not None:
                await model.aclose()


def primary(model):
    """The first model a FallbackAdapter tries (or `model` itself)."""
    for attribute in ("_llm_instances", "_stt_instances", "_tts_instances"):
        instances = getattr(model, attribute, None)
        if instances:
            return primary(instances[0])
    wrapped = getattr(model, "_wrapped_stt", None) or getattr(model, "_stt", None)
    return primary(wrapped) if wrapped is not None and wrapped is not model else model


def _usable(choice: ProviderChoice, customer_id) -> list[ProviderCredential]:
    """The credentials to try for the provider, best first; raises ProviderNotConfigured."""
    role = ROLE_LABELS[choice.kind]
    if not choice.is_active:
        raise ProviderNotConfigured(f"The {role} provider '{choice.name}' is disabled.")
    if choice.vendor not in SUPPORTED_VENDORS[choice.kind]:
        raise ProviderNotConfigured(f"The {role} provider '{choice.name}' ({choice.vendor}) cannot be used for {role}.")
    found = provider_credentials(customer_id=customer_id or None, vendor=choice.vendor)
    if not found and choice.vendor == Vendor.OPENAI and choice.base_url:
        # The catalogue row points at its own OpenAI-compatible server, which needs no key.
        found = [ProviderCredential(vendor=choice.vendor, api_key=NO_KEY, base_url=None, source="platform")]
    if not found:
        setting = platform_key_setting(choice.vendor)
        raise ProviderNotConfigured(f"The {role} provider '{choice.name}' has no credentials: {setting} is not set.")
    return found


def check(choice: ProviderChoice, *, customer_id=None) -> str:
    """Returns the API key to use for the provider, or raises ProviderNotConfigured."""
    return _usable(choice, customer_id)[0].api_key


def _candidates(config: AgentConfig, kind: str) -> tuple[list[tuple[ProviderChoice, ProviderCredential]], list[str]]:
    """(provider, credential) pairs to try in order, and notes on the fallbacks left out."""
    primary_choice: ProviderChoice = getattr(config, kind)
    pairs = [(primary_choice, credential) for credential in _usable(primary_choice, config.customer_id)]
    notes = []
    for choice in getattr(config, f"{kind}_fallbacks"):
        try:
            pairs.extend((choice, credential) for credential in _usable(choice, config.customer_id))
        except ProviderNotConfigured as exc:
            notes.append(f"fallback left out: {exc}")
    return pairs, notes


def _base_url(choice: ProviderChoice, credential: ProviderCredential) -> str | None:
    """The row's own server first (an OpenAI-compatible vLLM, Ollama, ...), then the
    credential's (a customer's OpenAI-compatible base URL, or OPENAI_BASE_URL), then OpenAI."""
    return choice.base_url or credential.base_url or None


def _llm(config: AgentConfig, choice: ProviderChoice, credential: ProviderCredential) -> lk_llm.LLM:
    openai = import_plugin("openai")
    kwargs: dict[str, Any] = {"model": choice.model, "api_key": credential.api_key}
    if choice.provider_id == config.llm.provider_id:
        kwargs["temperature"] = config.llm_temperature
    if base_url := _base_url(choice, credential):
        kwargs["base_url"] = base_url
    return openai.LLM(**kwargs)


def _stt(config: AgentConfig, choice: ProviderChoice, credential: ProviderCredential) -> lk_stt.STT:
    language = config.language or "en"
    if choice.vendor == Vendor.DEEPGRAM:
        deepgram = import_plugin("deepgram")
        kwargs: dict[str, Any] = {"model": choice.model, "language": language, "api_key": credential.api_key}
        if base := getattr(settings, "DEEPGRAM_BASE_URL", ""):
            kwargs["base_url"] = base
        return deepgram.STT(**kwargs)
    openai = import_plugin("openai")
    kwargs = {"model": choice.model, "language": language, "api_key": credential.api_key}
    if base_url := _base_url(choice, credential):
        kwargs["base_url"] = base_url
    return openai.STT(**kwargs)


def _tts(config: AgentConfig, choice: ProviderChoice, credential: ProviderCredential) -> lk_tts.TTS:
    if choice.vendor == Vendor.ELEVENLABS:
        elevenlabs = import_plugin("elevenlabs")
        # Raw PCM: nothing to decode on the worker, and a phone line carries 8-16 kHz anyway.
        kwargs: dict[str, Any] = {
            "voice_id": choice.voice,
            "model": choice.model,
            "api_key": credential.api_key,
            "encoding": "pcm_24000",
        }
        if base := getattr(settings, "ELEVENLABS_BASE_URL", ""):
            kwargs["base_url"] = base
        return elevenlabs.TTS(**kwargs)
    openai = import_plugin("openai")
    kwargs = {"model": choice.model, "voice": choice.voice, "api_key": credential.api_key, "response_format": "pcm"}
    if base_url := _base_url(choice, credential):
        kwargs["base_url"] = base_url
    return openai.TTS(**kwargs)


def build_llm(config: AgentConfig) -> lk_llm.LLM:
    """The agent's own language model with its best credential (the text simulation)."""
    choice = config.llm
    return _llm(config, choice, _usable(choice, config.customer_id)[0])


def build_stt(config: AgentConfig) -> lk_stt.STT:
    choice = config.stt
    return _stt(config, choice, _usable(choice, config.customer_id)[0])


def build_tts(config: AgentConfig) -> lk_tts.TTS:
    choice = config.tts
    return _tts(config, choice, _usable(choice, config.customer_id)[0])


@dataclass(frozen=True)
class Resolved:
    """Every role's (provider, credential) pairs in order, and notes on fallbacks left out.
    Resolving reads the database (customer keys): sync, so async callers run it in a thread."""

    pairs: dict[str, list[tuple[ProviderChoice, ProviderCredential]]]
    notes: tuple[str, ...] = ()


def resolve(config: AgentConfig) -> Resolved:
    pairs, notes = {}, []
    for kind in ("llm", "stt", "tts"):
        pairs[kind], kind_notes = _candidates(config, kind)
        notes.extend(kind_notes)
    return Resolved(pairs=pairs, notes=tuple(notes))


def build_pipeline(config: AgentConfig, *, vad: lk_vad.VAD | None, resolved: Resolved | None = None) -> PipelineModels:
    """The full voice pipeline. Every provider is checked before any client is built, so a
    misconfigured agent fails fast and leaks no half-built clients. Each role runs behind a
    FallbackAdapter with the agent's stall budget, even with a single candidate: a model
    that stalls fails within the budget instead of leaving the caller in silence."""
    resolved = resolved or resolve(config)
    stts, ttss = (resolved.pairs[kind] for kind in ("stt", "tts"))
    from livekit.agents import stt as lk_stt_module
    from livekit.agents import tts as lk_tts_module

    budget = config.voice.provider_timeout_seconds
    llm = fallback_llm(config, resolved)
    stt_models = [_stt(config, c, k) for c, k in stts]
    stt = lk_stt_module.FallbackAdapter(stt_models, vad=vad, attempt_timeout=budget, max_retry_per_stt=0)
    tts = lk_tts_module.FallbackAdapter([_tts(config, c, k) for c, k in ttss], max_retry_per_tts=0)
    return PipelineModels(llm=llm, stt=stt, tts=tts, vad=vad, notes=list(resolved.notes))


def fallback_llm(config: AgentConfig, resolved: Resolved) -> lk_llm.LLM:
    """The call's language model: a FallbackAdapter over the agent's LLM candidates, each
    attempt bounded by the agent's stall budget (also what the text benchmark runs)."""
    from livekit.agents import llm as lk_llm_module

    return lk_llm_module.FallbackAdapter(
        [_llm(config, c, k) for c, k in resolved.pairs["llm"]],
        attempt_timeout=config.voice.provider_timeout_seconds,
        max_retry_per_llm=0,
        retry_interval=0.2,
    )


# A streamed chat completion chunk as the OpenAI API sends it, and a request body with
# every kind of message the worker sends: what `warm_openai_sdk` runs through the SDK.
_SAMPLE_CHUNK = {
    "id": "chatcmpl-preload",
    "object": "chat.completion.chunk",
    "created": 0,
    "model": "preload",
    "choices": [
        {
            "index": 0,
            "delta": {
                "role": "assistant",
                "content": "Hello",
                "tool_calls": [
                    {"index": 0, "id": "call_0", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            "finish_reason": None,
        }
    ],
    "usage": {
        "prompt_tokens": 1,
        "completion_tokens": 1,
        "total_tokens": 2,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    },
}
_SAMPLE_REQUEST = {
    "model": "preload",
    "stream": True,
    "stream_options": {"include_usage": True},
    "messages": [
        {"role": "system", "content": "You are a receptionist."},
        {"role": "user", "content": "Hello?"},
        {
            "role": "assistant",
            "content": "Hello.",
            "tool_calls": [{"id": "call_0", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "call_0", "content": "{}"},
    ],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}],
}


def warm_openai_sdk() -> None:
    """Does once, in the worker's forkserver (`voice_worker/preload.py`), what the OpenAI SDK
    otherwise does lazily on each job process's first request, that is on the first turn of
    every call: importing the chat resources (`client.chat`), building the pydantic models
    of a streamed chunk, and resolving the type hints its request transform walks. About
    half a second of CPU on a busy machine, paid once instead of in every call's first
    answer. No network, no event loop (fork-safe)."""
    import openai
    from openai._models import construct_type
    from openai._utils import maybe_transform
    from openai.types.chat import ChatCompletionChunk, completion_create_params

    client = openai.AsyncOpenAI(api_key="preload", base_url="http://127.0.0.1:9/v1")
    client.chat.completions  # noqa: B018 - the lazily imported resources
    construct_type(type_=ChatCompletionChunk, value=_SAMPLE_CHUNK)
    maybe_transform(_SAMPLE_REQUEST, completion_create_params.CompletionCreateParamsStreaming)


def load_vad():
    """Silero VAD, loaded once per worker process (prewarm); blocking, a few hundred ms."""
    silero = import_plugin("silero")
    return silero.VAD.load()


_import_lock = threading.Lock()


def import_plugin(name: str):
    """`livekit.plugins.<name>`. LiveKit plugins register themselves at import and insist on
    the main thread; the voice worker imports them there (preload/prewarm), but the API
    may first need one inside a request thread (a threaded server, or async_to_sync's loop
    thread). There the registration — only a list used for worker logs and forkserver
    preloads — is done without the thread check, once, under a lock."""
    module_name = f"livekit.plugins.{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    with _import_lock:
        if module_name in sys.modules:
            return sys.modules[module_name]
        if threading.current_thread() is threading.main_thread():
            return importlib.import_module(module_name)
        from livekit.agents import Plugin

        original = Plugin.__dict__["register_plugin"]
        Plugin.register_plugin = classmethod(lambda cls, plugin: cls.registered_plugins.append(plugin))
        try:
            return importlib.import_module(module_name)
        finally:
            Plugin.register_plugin = original
