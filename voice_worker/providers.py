"""Provider rows -> LiveKit plugin instances.

One factory for the voice worker and the text simulation, so both talk to the same models
the same way. Credentials are platform-wide settings (DESIGN.md, Environment); a provider
whose credentials are missing, whose vendor we cannot run for that role, or that a platform
admin disabled raises `ProviderNotConfigured` with a message an operator can act on — the
worker then fails the call with that message instead of hanging, the simulation answers 503.

Plugins are imported here, lazily: the API process only pays for the ones a simulation uses.
"""

from __future__ import annotations

import importlib
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings

from agents.models import Vendor
from tenants.credentials import NO_KEY, platform_key_setting, provider_credential

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
    llm: lk_llm.LLM
    stt: lk_stt.STT | None = None
    tts: lk_tts.TTS | None = None
    vad: lk_vad.VAD | None = None

    async def aclose(self) -> None:
        # The VAD belongs to the process (prewarm), not to one call.
        for model in (self.llm, self.stt, self.tts):
            if model is not None:
                await model.aclose()


def check(choice: ProviderChoice, *, customer_id=None) -> str:
    """Returns the API key for the provider, or raises ProviderNotConfigured."""
    role = ROLE_LABELS[choice.kind]
    if not choice.is_active:
        raise ProviderNotConfigured(f"The {role} provider '{choice.name}' is disabled.")
    if choice.vendor not in SUPPORTED_VENDORS[choice.kind]:
        raise ProviderNotConfigured(f"The {role} provider '{choice.name}' ({choice.vendor}) cannot be used for {role}.")
    credential = provider_credential(customer_id=customer_id, vendor=choice.vendor)
    if credential is not None:
        return credential.api_key
    if choice.vendor == Vendor.OPENAI and choice.base_url:
        return NO_KEY  # the catalogue row points at its own OpenAI-compatible server
    setting = platform_key_setting(choice.vendor)
    raise ProviderNotConfigured(f"The {role} provider '{choice.name}' has no credentials: {setting} is not set.")


def openai_base_url(choice: ProviderChoice) -> str | None:
    """The row's own server first (an OpenAI-compatible vLLM, Ollama, ...), then the
    platform-wide OPENAI_BASE_URL, then OpenAI itself."""
    return choice.base_url or getattr(settings, "OPENAI_BASE_URL", "") or None


def build_llm(config: AgentConfig) -> lk_llm.LLM:
    key = check(config.llm, customer_id=config.customer_id)
    openai = import_plugin("openai")
    kwargs: dict[str, Any] = {"model": config.llm.model, "api_key": key, "temperature": config.llm_temperature}
    if base_url := openai_base_url(config.llm):
        kwargs["base_url"] = base_url
    return openai.LLM(**kwargs)


def build_stt(config: AgentConfig) -> lk_stt.STT:
    key = check(config.stt, customer_id=config.customer_id)
    language = config.language or "en"
    if config.stt.vendor == Vendor.DEEPGRAM:
        deepgram = import_plugin("deepgram")
        return deepgram.STT(model=config.stt.model, language=language, api_key=key)
    openai = import_plugin("openai")
    kwargs: dict[str, Any] = {"model": config.stt.model, "language": language, "api_key": key}
    if base_url := openai_base_url(config.stt):
        kwargs["base_url"] = base_url
    return openai.STT(**kwargs)


def build_tts(config: AgentConfig) -> lk_tts.TTS:
    key = check(config.tts, customer_id=config.customer_id)
    if config.tts.vendor == Vendor.ELEVENLABS:
        elevenlabs = import_plugin("elevenlabs")
        return elevenlabs.TTS(voice_id=config.tts.voice, model=config.tts.model, api_key=key)
    openai = import_plugin("openai")
    kwargs: dict[str, Any] = {"model": config.tts.model, "voice": config.tts.voice, "api_key": key}
    if base_url := openai_base_url(config.tts):
        kwargs["base_url"] = base_url
    return openai.TTS(**kwargs)


def build_pipeline(config: AgentConfig, *, vad: lk_vad.VAD | None) -> PipelineModels:
    """The full voice pipeline. Every provider is checked before any client is built, so a
    misconfigured agent fails fast and leaks no half-built clients."""
    for choice in (config.llm, config.stt, config.tts):
        check(choice, customer_id=config.customer_id)
    return PipelineModels(llm=build_llm(config), stt=build_stt(config), tts=build_tts(config), vad=vad)


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
