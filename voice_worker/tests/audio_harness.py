"""Runs a real call with audio and no LiveKit room: the real job code (`run_job`), the real
`AgentSession`, the real Silero VAD and the real Deepgram, ElevenLabs and OpenAI plugins,
against local stand-ins speaking those providers' wire protocols (testsupport/voice_providers.py).
The caller speaks through `CallerMic` (espeak-ng speech); the agent is heard on `PhoneSpeaker`."""

from __future__ import annotations

import asyncio
import functools

from asgiref.sync import async_to_sync
from livekit.agents.testing import fake_job_context
from livekit.agents.utils import http_context

from agents.models import LLMProvider, STTProvider, TTSProvider
from testsupport.audio import RoomlessAudio
from voice_worker.runner import run_job

from .conftest import dispatch_metadata, play_then_hang_up


@functools.lru_cache(maxsize=1)
def silero_vad():
    from voice_worker.providers import load_vad

    return load_vad()


def point_at_stand_ins(settings, *, openai, deepgram, elevenlabs) -> None:
    settings.OPENAI_API_KEY = openai.api_key
    settings.OPENAI_BASE_URL = openai.base_url
    settings.DEEPGRAM_API_KEY = deepgram.api_key
    settings.DEEPGRAM_BASE_URL = deepgram.listen_url
    settings.ELEVENLABS_API_KEY = elevenlabs.api_key
    settings.ELEVENLABS_BASE_URL = elevenlabs.base_url


def voice_agent_fields(*, tts: str = "elevenlabs", **fields) -> dict:
    """An agent on the OpenAI LLM, Deepgram STT and the given TTS vendor."""
    tts_provider = TTSProvider.objects.get(vendor=tts)
    voice = "voice-rachel" if tts == "elevenlabs" else "alloy"
    return {
        "llm_provider": LLMProvider.objects.filter(vendor="openai").order_by("id").first(),
        "stt_provider": STTProvider.objects.get(vendor="deepgram"),
        "tts_provider": tts_provider,
        "voice_id": voice,
        **fields,
    }


def run_audio_call(
    call, scenario, *, audio: RoomlessAudio | None = None, timeout: float = 60.0, caller_identity: str | None = None
):
    """`scenario(runner, audio)` runs once the call started; then the caller hangs up (if the
    call is still going) and the call is closed. Returns the runner (None: never started)."""

    async def main():
        async with http_context.open():
            with fake_job_context(job_metadata=dispatch_metadata(call)) as ctx:
                ctx.proc.userdata["vad"] = silero_vad()
                line = audio or RoomlessAudio()
                runner = await run_job(ctx, audio=line, caller_identity=caller_identity)
                if runner is None:
                    return None
                return await play_then_hang_up(runner, scenario(runner, line), timeout)

    return async_to_sync(main)()


async def until(predicate, *, timeout: float = 15.0, step: float = 0.02) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(step)
