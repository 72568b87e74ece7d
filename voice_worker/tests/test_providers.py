"""The provider factory: catalogue rows -> LiveKit plugin instances, or a clear refusal."""

import subprocess
import sys
import textwrap

import pytest
from django.conf import settings
from livekit.plugins import deepgram, elevenlabs, openai

from agents.models import LLMProvider, STTProvider, TTSProvider
from agents.tests.factories import AgentFactory
from voice_worker import providers
from voice_worker.config import AgentConfig

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys(settings):
    settings.OPENAI_API_KEY = "sk-openai"
    settings.DEEPGRAM_API_KEY = "dg-key"
    settings.ELEVENLABS_API_KEY = "el-key"
    settings.OPENAI_BASE_URL = ""
    return settings


def config_for(**fields) -> AgentConfig:
    return AgentConfig.from_agent(AgentFactory(**fields))


def test_the_default_catalogue_builds_openai_deepgram_and_openai(keys):
    config = config_for(llm_model="gpt-4o", llm_temperature=0.2, voice_id="echo", language="en")
    models = providers.build_pipeline(config, vad=None)
    llm, stt, tts = (providers.primary(m) for m in (models.llm, models.stt, models.tts))

    assert isinstance(llm, openai.LLM) and llm.model == "gpt-4o"
    assert llm.provider == "api.openai.com"
    assert isinstance(stt, deepgram.STT) and stt.model == "nova-3"
    assert isinstance(tts, openai.TTS) and tts.model == "gpt-4o-mini-tts"
    assert tts._opts.voice == "echo"


def test_elevenlabs_and_openai_speech_to_text(keys):
    config = config_for(
        stt_provider=STTProvider.objects.get(name="OpenAI"),
        stt_model="whisper-1",
        tts_provider=TTSProvider.objects.get(name="ElevenLabs"),
        tts_model="eleven_turbo_v2_5",
        voice_id="voice-123",
    )
    assert isinstance(providers.build_stt(config), openai.STT)
    assert providers.build_stt(config).model == "whisper-1"
    tts = providers.build_tts(config)
    assert isinstance(tts, elevenlabs.TTS) and tts.model == "eleven_turbo_v2_5"
    assert tts._opts.voice_id == "voice-123"


def test_an_openai_compatible_endpoint_comes_from_the_row_then_the_setting(keys):
    keys.OPENAI_BASE_URL = "http://platform-gateway:8080/v1"
    assert providers.build_llm(config_for()).provider == "platform-gateway:8080"

    local = LLMProvider.objects.create(
        name="Local vLLM", vendor="openai", default_model="llama-3.1-8b", base_url="http://vllm.internal:8000/v1"
    )
    llm = providers.build_llm(config_for(llm_provider=local, llm_model=""))
    assert llm.provider == "vllm.internal:8000" and llm.model == "llama-3.1-8b"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("OPENAI_API_KEY", "The LLM provider 'OpenAI' has no credentials: OPENAI_API_KEY is not set."),
        ("DEEPGRAM_API_KEY", "The STT provider 'Deepgram' has no credentials: DEEPGRAM_API_KEY is not set."),
    ],
)
def test_a_provider_without_credentials_is_refused(keys, setting, message):
    setattr(keys, setting, "")
    with pytest.raises(providers.ProviderNotConfigured) as error:
        providers.build_pipeline(config_for(), vad=None)
    assert str(error.value) == message


def test_a_disabled_provider_is_refused(keys):
    TTSProvider.objects.filter(name="OpenAI").update(is_active=False)
    with pytest.raises(providers.ProviderNotConfigured) as error:
        providers.build_pipeline(config_for(), vad=None)
    assert str(error.value) == "The TTS provider 'OpenAI' is disabled."


def test_a_vendor_that_cannot_play_the_role_is_refused(keys):
    odd = LLMProvider.objects.create(name="Deepgram LLM?", vendor="deepgram", default_model="x")
    with pytest.raises(providers.ProviderNotConfigured) as error:
        providers.build_llm(config_for(llm_provider=odd))
    assert str(error.value) == "The LLM provider 'Deepgram LLM?' (deepgram) cannot be used for LLM."


@pytest.mark.slow
def test_plugins_can_be_imported_off_the_main_thread():
    """A threaded API server may first need a plugin inside a request thread, where LiveKit's
    own registration refuses to run. Checked in a fresh interpreter, where nothing is imported."""
    code = textwrap.dedent(
        """
        import os, threading
        import django
        os.environ["DJANGO_SETTINGS_MODULE"] = "morpheus.test_settings"
        django.setup()
        from livekit.agents import Plugin
        from voice_worker import providers
        loaded, refused = {}, {}
        def load():
            loaded["module"] = providers.import_plugin("deepgram")
            try:
                Plugin.register_plugin(Plugin("x", "0", "x"))
            except RuntimeError:
                refused["again"] = True
        thread = threading.Thread(target=load)
        thread.start()
        thread.join()
        registered = any(p.package == "livekit.plugins.deepgram" for p in Plugin.registered_plugins)
        print(loaded["module"].__name__, registered, refused.get("again", False))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=settings.BASE_DIR
    )
    assert result.returncode == 0, result.stderr
    # Imported and registered; the library's main-thread check is back in place afterwards.
    assert result.stdout.split() == ["livekit.plugins.deepgram", "True", "True"]


def test_the_worker_forkserver_preload_does_the_openai_sdks_first_request_work():
    """Each call runs in a fresh job process forked from the worker's forkserver: whatever
    the OpenAI SDK builds lazily on a process's first request (the chat resources' import,
    the streamed chunk's pydantic models) would be paid in every call's first answer unless
    the preload did it. Checked in a fresh interpreter importing the preload as the
    forkserver does."""
    code = textwrap.dedent(
        """
        import os, sys
        os.environ["DJANGO_SETTINGS_MODULE"] = "morpheus.test_settings"
        before = "openai.resources.chat.completions.completions" in sys.modules
        import voice_worker.preload
        from openai.types.chat import ChatCompletionChunk
        from pydantic._internal._mock_val_ser import MockValSer
        print(before, "openai.resources.chat.completions.completions" in sys.modules,
              isinstance(ChatCompletionChunk.__pydantic_validator__, MockValSer))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=settings.BASE_DIR
    )
    assert result.returncode == 0, result.stderr
    # Not imported before the preload; imported, and the chunk model built, after it.
    assert result.stdout.split() == ["False", "True", "False"]


def test_warming_the_openai_sdk_parses_a_chunk_as_the_plugin_does():
    """The sample run through the SDK is a valid chunk (a malformed one would warm nothing)."""
    from openai._models import construct_type
    from openai.types.chat import ChatCompletionChunk

    providers.warm_openai_sdk()
    chunk = construct_type(type_=ChatCompletionChunk, value=providers._SAMPLE_CHUNK)
    assert isinstance(chunk, ChatCompletionChunk)
    assert chunk.choices[0].delta.content == "Hello"
    assert chunk.choices[0].delta.tool_calls[0].function.name == "f"
    assert chunk.usage.total_tokens == 2
