"""The thinking sound: LiveKit's `BackgroundAudioPlayer` with a clip that ships with
livekit-agents (`livekit/agents/resources/*.ogg`).

In a room the player publishes its own audio track. Without one (the audio harness of the
tests and the benchmark) `RoomlessBackgroundAudio` is the same player — the same mixer,
the same reaction to the session's "thinking" state, the same clip decoding — whose mixed
frames go to a sink instead of a published track.
"""

from __future__ import annotations

from typing import Protocol

from livekit import rtc
from livekit.agents import BackgroundAudioPlayer, BuiltinAudioClip


class FrameSink(Protocol):
    async def capture_frame(self, frame: rtc.AudioFrame) -> None: ...


def builtin_clip(name: str) -> BuiltinAudioClip:
    """agents/voice_settings.py's THINKING_SOUNDS name -> the library's clip (its file is
    `hold_music.ogg`, the setting says `hold-music` like the others)."""
    return BuiltinAudioClip(name.replace("hold-music", "hold_music") + ".ogg")


class RoomlessBackgroundAudio(BackgroundAudioPlayer):
    def __init__(self, sink: FrameSink, **kwargs) -> None:
        super().__init__(**kwargs)
        self._sink = sink

    async def _publish_track(self) -> None:
        return None  # no room: the mixer's frames go to the sink

    async def _run_mixer_task(self) -> None:
        async for frame in self._audio_mixer:
            await self._sink.capture_frame(frame)
