"""The warm transfer's audio bridge: how the person who accepted a warm transfer is connected
to the caller on a LiveKit server that cannot move participants between rooms (self-hosted
livekit-server; `RoomService.MoveParticipant` is LiveKit Cloud only).

The worker stays in both rooms and carries the audio itself: what the caller says (their
track in the call's room) is played into the consultation room on a track the worker
publishes there, and what the person says is played into the call's room the same way. The
agent says nothing more (its sessions are closed). When either side leaves, the bridge
stops and says who left.

The forwarding (`forward`, `run_bridge`) knows only `FrameSource`s (a party's voice: frames
until they leave) and `FrameSink`s (where a party hears the other), so it runs without a
LiveKit server in tests (`testsupport/audio.py: RoomlessBridge`). `room_parties` builds the
two parties from the connected rooms: `ParticipantVoice` and `PublishedVoice`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from livekit import rtc

logger = logging.getLogger(__name__)

# WebRTC's own rate: LiveKit decodes Opus at 48 kHz, so nothing is resampled twice.
SAMPLE_RATE = 48000
TRACK_NAME = "warm-transfer"


class FrameSource(Protocol):
    """A party's voice: audio frames, in order, until the party leaves (then it ends)."""

    def __aiter__(self) -> AsyncIterator[rtc.AudioFrame]: ...


class FrameSink(Protocol):
    """Where a party hears the other: frames are played in the order they are captured."""

    async def capture_frame(self, frame: rtc.AudioFrame) -> None: ...


@dataclass
class Party:
    name: str  # "caller" or "destination"
    voice: FrameSource
    ear: FrameSink


@dataclass
class BridgeEnd:
    """How a bridge ended: who left first (or whose audio could not be carried: `error`; ""
    when the worker stopped it), how long it carried the call, and how many frames it
    forwarded from each party."""

    left: str
    seconds: float
    frames: dict[str, int] = field(default_factory=dict)
    error: str = ""


class BridgeMedia(Protocol):
    """The two parties of a bridged call, for as long as the context lasts."""

    def parties(self) -> contextlib.AbstractAsyncContextManager[tuple[Party, Party]]: ...


async def forward(source: FrameSource, sink: FrameSink, counts: dict[str, int], name: str) -> None:
    """Plays every frame of `source` into `sink`, in order, until the source ends; `counts[name]`
    counts them as they go (so a direction stopped midway still reports what it carried)."""
    async for frame in source:
        await sink.capture_frame(frame)
        counts[name] = counts.get(name, 0) + 1


async def run_bridge(first: Party, second: Party) -> BridgeEnd:
    """Carries each party's voice to the other until one of them leaves, then stops the
    other direction. Cancelling it stops both directions (and re-raises)."""
    started = time.monotonic()
    counts = {first.name: 0, second.name: 0}
    directions = {
        asyncio.create_task(forward(first.voice, second.ear, counts, first.name), name="bridge-" + first.name): first,
        asyncio.create_task(
            forward(second.voice, first.ear, counts, second.name), name="bridge-" + second.name
        ): second,
    }
    try:
        done, _ = await asyncio.wait(directions, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in directions:
            task.cancel()
        await asyncio.gather(*directions, return_exceptions=True)
    ended = next(task for task in directions if task in done)
    error = ""
    if not ended.cancelled() and (exc := ended.exception()) is not None:
        # A track that could not be played ends the bridge like a hang-up: half a line is no call.
        logger.warning("warm transfer bridge: forwarding %s's audio failed: %s", directions[ended].name, exc)
        error = f"{type(exc).__name__}: {exc}"
    return BridgeEnd(left=directions[ended].name, seconds=time.monotonic() - started, frames=dict(counts), error=error)


class ParticipantVoice:
    """What a remote participant says in a room (their microphone track), until they leave
    it or the worker's connection to the room ends."""

    def __init__(self, room: rtc.Room, identity: str) -> None:
        self._room = room
        self._identity = identity

    def __aiter__(self) -> AsyncIterator[rtc.AudioFrame]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[rtc.AudioFrame]:
        participant = self._room.remote_participants.get(self._identity)
        if participant is None or not self._room.isconnected():
            return  # already gone
        queue: asyncio.Queue[rtc.AudioFrame | None] = asyncio.Queue()

        def left(p: rtc.RemoteParticipant) -> None:
            if p.identity == self._identity:
                queue.put_nowait(None)

        def disconnected(*_args: object) -> None:
            queue.put_nowait(None)

        stream = rtc.AudioStream.from_participant(
            participant=participant,
            track_source=rtc.TrackSource.SOURCE_MICROPHONE,
            sample_rate=SAMPLE_RATE,
            num_channels=1,
        )

        async def read() -> None:
            try:
                async for event in stream:
                    queue.put_nowait(event.frame)
            finally:
                queue.put_nowait(None)

        # Leaving is an event of the room, not of the stream: watch both.
        self._room.on("participant_disconnected", left)
        self._room.on("disconnected", disconnected)
        reader = asyncio.create_task(read(), name=f"bridge-read-{self._identity}")
        try:
            while (frame := await queue.get()) is not None:
                yield frame
        finally:
            self._room.off("participant_disconnected", left)
            self._room.off("disconnected", disconnected)
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
            await stream.aclose()


class PublishedVoice:
    """A track the worker publishes in a room: frames captured into it are heard there."""

    def __init__(self, room: rtc.Room) -> None:
        self._room = room
        self._source = rtc.AudioSource(SAMPLE_RATE, 1)
        self._publication: rtc.LocalTrackPublication | None = None

    async def start(self) -> None:
        track = rtc.LocalAudioTrack.create_audio_track(TRACK_NAME, self._source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        self._publication = await self._room.local_participant.publish_track(track, options)

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await self._source.capture_frame(frame)

    async def aclose(self) -> None:
        if self._publication is not None and self._room.isconnected():
            with contextlib.suppress(Exception):  # the room may be going away
                await self._room.local_participant.unpublish_track(self._publication.sid)
        await self._source.aclose()


@dataclass
class RoomBridgeMedia:
    """The bridge's parties in LiveKit rooms: the caller in the call's room, the person
    consulted in the consultation room, both rooms joined by the worker."""

    caller_room: rtc.Room
    caller_identity: str
    consult_room: rtc.Room
    destination_identity: str

    @contextlib.asynccontextmanager
    async def parties(self) -> AsyncIterator[tuple[Party, Party]]:
        to_caller, to_destination = PublishedVoice(self.caller_room), PublishedVoice(self.consult_room)
        try:
            await to_caller.start()
            await to_destination.start()
            yield (
                Party("caller", ParticipantVoice(self.caller_room, self.caller_identity), to_caller),
                Party("destination", ParticipantVoice(self.consult_room, self.destination_identity), to_destination),
            )
        finally:
            await to_caller.aclose()
            await to_destination.aclose()
