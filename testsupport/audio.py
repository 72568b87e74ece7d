"""Audio in and out of a voice session without a LiveKit room.

- `utterance(text)`: the caller's speech, synthesised by espeak-ng (Debian's `espeak-ng`,
  installed by `.ci/run`) as 16 kHz mono PCM; cached per text.
- `CallerMic`: the session's `io.AudioInput`: 20 ms frames at the real-time pace of a
  phone line, silence unless the caller is speaking.
- `PhoneSpeaker`: the session's `io.AudioOutput`: plays what the agent says in real time
  (pausable, as a room's audio track), and records every segment: when it started, how
  much of it was heard, whether it was cut off.
- `BackgroundTrack`: where the agent's background audio (the thinking sound) plays, as a
  second track of a room would: paced in real time, the loudness of every frame recorded.
- `RoomlessAudio`: all together, with the caller's arrival, for `run_job(audio=...)`.
- `PhoneLine`, `RoomlessBridge`: the two parties of a warm transfer the worker bridges
  (`voice_worker/bridge.py`), for `run_job(bridge=...)`: what each says and what each hears,
  as `rtc.AudioFrame`s (`numbered_frames` / `frame_numbers` tell their order).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import shutil
import subprocess
import tempfile
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy
from livekit import rtc
from livekit.agents.voice.io import AudioInput, AudioOutput, AudioOutputCapabilities

SAMPLE_RATE = 16000
FRAME_SAMPLES = SAMPLE_RATE // 50  # 20 ms


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


@functools.lru_cache(maxsize=64)
def utterance(text: str, *, words_per_minute: int = 170) -> bytes:
    """`text` spoken by espeak-ng, as 16 kHz mono int16 PCM."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run(  # noqa: S603  fixed arguments; the text is the test's own
            [shutil.which("espeak-ng") or "espeak-ng", "-v", "en-us", "-s", str(words_per_minute)]
            + ["-w", str(path), text],
            check=True,
            capture_output=True,
        )
        with wave.open(str(path)) as wav:
            rate = wav.getframerate()
            samples = numpy.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(numpy.float64)
    count = int(len(samples) * SAMPLE_RATE / rate)
    resampled = numpy.interp(numpy.linspace(0, len(samples) - 1, count), numpy.arange(len(samples)), samples)
    return resampled.astype("<i2").tobytes()


def seconds(pcm: bytes) -> float:
    return len(pcm) / 2 / SAMPLE_RATE


class CallerMic(AudioInput):
    def __init__(self) -> None:
        super().__init__(label="caller")
        self._pending = bytearray()
        self._started: float | None = None
        self._sent = 0
        self._done: list[tuple[int, asyncio.Future]] = []
        self.spoke_at: list[tuple[float, float]] = []  # (start, end) monotonic of each utterance

    def say(self, pcm: bytes) -> asyncio.Future:
        """Starts saying `pcm`; the future resolves when the last of it has been sent."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        start = time.monotonic() + len(self._pending) / 2 / SAMPLE_RATE
        self.spoke_at.append((start, start + seconds(pcm)))
        self._pending.extend(pcm)
        self._done.append((len(self._pending), done))
        return done

    async def speak(self, text: str) -> None:
        await self.say(utterance(text))

    async def __anext__(self) -> rtc.AudioFrame:
        if self._started is None:
            self._started = time.monotonic()
        due = self._started + self._sent * FRAME_SAMPLES / SAMPLE_RATE
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        self._sent += 1
        size = FRAME_SAMPLES * 2
        chunk = bytes(self._pending[:size])
        del self._pending[:size]
        self._done = [(left - size, fut) for left, fut in self._done]
        for _, fut in [d for d in self._done if d[0] <= 0]:
            if not fut.done():
                fut.set_result(None)
        self._done = [d for d in self._done if d[0] > 0]
        chunk = chunk.ljust(size, b"\0")
        return rtc.AudioFrame(chunk, SAMPLE_RATE, 1, FRAME_SAMPLES)


@dataclass
class Segment:
    """One thing the agent said, as the phone played it."""

    started_at: float
    pushed: float = 0.0
    played: float = 0.0
    interrupted: bool = False
    ended_at: float = 0.0
    # When the caller stopped hearing it first: paused (a possible interruption) or cut off.
    stopped_at: float = 0.0
    audio: bytearray = field(default_factory=bytearray, repr=False)

    @property
    def audible(self) -> bool:
        samples = numpy.frombuffer(bytes(self.audio[: len(self.audio) // 2 * 2]), dtype="<i2")
        return bool(len(samples)) and float(numpy.abs(samples).max()) > 1000


class PhoneSpeaker(AudioOutput):
    def __init__(self) -> None:
        super().__init__(label="phone", capabilities=AudioOutputCapabilities(pause=True), sample_rate=None)
        self.segments: list[Segment] = []
        self._current: Segment | None = None
        self._start = 0.0
        self._paused_at: float | None = None
        self._paused_total = 0.0
        self._interrupted_at: float | None = None
        self._flush_task: asyncio.Task | None = None

    def _elapsed(self) -> float:
        now = self._paused_at if self._paused_at is not None else time.monotonic()
        return max(0.0, now - self._start - self._paused_total)

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._flush_task is not None and not self._flush_task.done():
            await self._flush_task
        if self._current is None:
            self._current = Segment(started_at=time.monotonic())
            self.segments.append(self._current)
            self._start, self._paused_total, self._interrupted_at = time.monotonic(), 0.0, None
            self._paused_at = None
            self.on_playback_started(created_at=time.time())
        self._current.pushed += frame.duration
        self._current.audio.extend(bytes(frame.data))

    def flush(self) -> None:
        super().flush()
        if self._current is not None:
            self._flush_task = asyncio.create_task(self._play_out(self._current))

    def clear_buffer(self) -> None:
        if self._current is not None and self._interrupted_at is None:
            self._interrupted_at = min(self._elapsed(), self._current.pushed)
            self._current.stopped_at = self._current.stopped_at or time.monotonic()

    def pause(self) -> None:
        if self._paused_at is None:
            self._paused_at = time.monotonic()
            if self._current is not None:
                self._current.stopped_at = self._current.stopped_at or self._paused_at

    def resume(self) -> None:
        if self._paused_at is not None:
            self._paused_total += time.monotonic() - self._paused_at
            self._paused_at = None

    async def _play_out(self, segment: Segment) -> None:
        while self._interrupted_at is None and self._elapsed() < segment.pushed:
            await asyncio.sleep(0.01)
        interrupted = self._interrupted_at is not None
        segment.played = self._interrupted_at if interrupted else segment.pushed
        segment.interrupted = interrupted
        segment.ended_at = time.monotonic()
        self._current = None
        self.on_playback_finished(playback_position=segment.played, interrupted=interrupted)


class BackgroundTrack:
    """The background audio track as the caller hears it: (time it played, peak) per frame."""

    AUDIBLE_PEAK = 300

    def __init__(self) -> None:
        self.frames: list[tuple[float, float, int]] = []  # (start, duration, peak)
        self._due = 0.0

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        # Real time, as a room's audio source plays it.
        now = time.monotonic()
        if self._due > now:
            await asyncio.sleep(self._due - now)
        start = max(self._due, now)
        self._due = start + frame.duration
        samples = numpy.frombuffer(bytes(frame.data), dtype="<i2")
        self.frames.append((start, frame.duration, int(numpy.abs(samples).max()) if len(samples) else 0))

    def audible_seconds(self, start: float = 0.0, end: float = float("inf")) -> float:
        """Seconds of audible sound that started playing between `start` and `end`."""
        return sum(d for at, d, peak in self.frames if start <= at < end and peak > self.AUDIBLE_PEAK)


class RoomlessAudio:
    """The call's audio for `run_job(audio=...)`; the caller joins when `join()` is called
    (or at once with `joined=True`)."""

    def __init__(self, *, joined: bool = True) -> None:
        self.input = CallerMic()
        self.output = PhoneSpeaker()
        self.background = BackgroundTrack()
        self._joined = asyncio.Event()
        self.joined_at: float | None = None
        if joined:
            self.join()

    def join(self) -> None:
        self.joined_at = time.monotonic()
        self._joined.set()

    async def wait_for_caller(self) -> None:
        await self._joined.wait()


class PhoneLine:
    """One party of a warm transfer's bridged call, without a room: what they `say()` is their
    voice until they `hang_up()`; what the bridge plays to them is kept in `heard`."""

    def __init__(self) -> None:
        self._said: asyncio.Queue[rtc.AudioFrame | None] = asyncio.Queue()
        self.heard: list[rtc.AudioFrame] = []

    def say(self, *frames: rtc.AudioFrame) -> None:
        for frame in frames:
            self._said.put_nowait(frame)

    def hang_up(self) -> None:
        self._said.put_nowait(None)

    def __aiter__(self):
        return self._frames()

    async def _frames(self):
        while (frame := await self._said.get()) is not None:
            yield frame

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        self.heard.append(frame)


class RoomlessBridge:
    """The two parties of a bridged warm transfer (`voice_worker.bridge.BridgeMedia`) as
    `PhoneLine`s: the caller and the person who took the transfer."""

    def __init__(self) -> None:
        self.caller = PhoneLine()
        self.destination = PhoneLine()
        self.opened = asyncio.Event()
        self.closed = False

    @contextlib.asynccontextmanager
    async def parties(self):
        from voice_worker.bridge import Party

        self.opened.set()
        try:
            yield Party("caller", self.caller, self.caller), Party("destination", self.destination, self.destination)
        finally:
            self.closed = True


def numbered_frames(first: int, count: int, *, sample_rate: int = 48000) -> list[rtc.AudioFrame]:
    """`count` 10 ms frames whose samples all hold their number (`first`, `first + 1`, ...),
    so the order they arrive in can be read back with `frame_numbers`."""
    samples = sample_rate // 100
    return [
        rtc.AudioFrame(numpy.full(samples, n, dtype="<i2").tobytes(), sample_rate, 1, samples)
        for n in range(first, first + count)
    ]


def frame_numbers(frames: list[rtc.AudioFrame]) -> list[int]:
    return [int(numpy.frombuffer(bytes(frame.data), dtype="<i2")[0]) for frame in frames]
