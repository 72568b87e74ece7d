"""The warm transfer's audio bridge (voice_worker/bridge.py) without a LiveKit server: real
`rtc.AudioFrame`s through `run_bridge`, between two `PhoneLine`s standing in for the caller's
track and the consulted person's (testsupport/audio.py)."""

import asyncio

import pytest
from livekit import rtc

from testsupport.audio import PhoneLine, frame_numbers, numbered_frames
from voice_worker.bridge import Party, run_bridge


def parties(caller: PhoneLine, destination: PhoneLine) -> tuple[Party, Party]:
    return Party("caller", caller, caller), Party("destination", destination, destination)


def run(test):
    """The tests are coroutines (no asyncio plugin here): each runs on its own event loop."""

    def sync():
        asyncio.run(test())

    sync.__name__ = test.__name__
    return sync


async def until(predicate, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


async def bridged_after_the_caller_said(count: int) -> tuple[PhoneLine, PhoneLine, asyncio.Task]:
    """Two lines bridged, the caller's frames 1..`count` already heard by the destination:
    (caller, destination, the running bridge)."""
    caller, destination = PhoneLine(), PhoneLine()
    bridge = asyncio.create_task(run_bridge(*parties(caller, destination)))
    caller.say(*numbered_frames(1, count))
    await until(lambda: len(destination.heard) == count)
    return caller, destination, bridge


@run
async def test_each_party_hears_the_other_in_order_until_the_caller_hangs_up():
    caller, destination = PhoneLine(), PhoneLine()
    bridge = asyncio.create_task(run_bridge(*parties(caller, destination)))
    caller.say(*numbered_frames(1, 150))
    destination.say(*numbered_frames(1000, 120))
    await until(lambda: len(destination.heard) == 150 and len(caller.heard) == 120)
    assert not bridge.done()
    # Later words keep coming through, after the earlier ones.
    caller.say(*numbered_frames(151, 10))
    await until(lambda: len(destination.heard) == 160)

    caller.hang_up()
    end = await asyncio.wait_for(bridge, 5)

    assert frame_numbers(destination.heard) == list(range(1, 161))
    assert frame_numbers(caller.heard) == list(range(1000, 1120))
    assert all(isinstance(frame, rtc.AudioFrame) and frame.sample_rate == 48000 for frame in caller.heard)
    assert (end.left, end.error) == ("caller", "")
    assert end.frames == {"caller": 160, "destination": 120}


@run
async def test_when_the_destination_hangs_up_the_caller_is_no_longer_carried():
    caller, destination, bridge = await bridged_after_the_caller_said(5)
    destination.hang_up()
    end = await asyncio.wait_for(bridge, 5)
    caller.say(*numbered_frames(6, 5))
    await asyncio.sleep(0.05)

    assert end.left == "destination"
    assert frame_numbers(destination.heard) == [1, 2, 3, 4, 5]  # nothing after the hang-up


@run
async def test_a_side_whose_audio_cannot_be_played_ends_the_bridge():
    class BrokenTrack(PhoneLine):
        async def capture_frame(self, frame):
            raise RuntimeError("track unpublished")

    caller, destination = PhoneLine(), BrokenTrack()
    bridge = asyncio.create_task(run_bridge(*parties(caller, destination)))
    caller.say(*numbered_frames(1, 3))
    end = await asyncio.wait_for(bridge, 5)
    assert end.left == "caller" and "track unpublished" in end.error


@run
async def test_stopping_the_bridge_stops_both_directions():
    caller, destination, bridge = await bridged_after_the_caller_said(3)
    bridge.cancel()
    with pytest.raises(asyncio.CancelledError):
        await bridge
    caller.say(*numbered_frames(4, 3))
    destination.say(*numbered_frames(10, 3))
    await asyncio.sleep(0.05)
    assert (len(destination.heard), caller.heard) == (3, [])
