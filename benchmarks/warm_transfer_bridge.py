"""What the warm-transfer bridge's own forwarding costs (voice_worker/bridge.py).

A bridged call forwards one 10 ms frame (48 kHz mono, what `rtc.AudioStream` yields) every
10 ms in each direction: 200 frames per second of call. This times one second of one
direction — 100 real `rtc.AudioFrame`s through the bridge's `forward` loop, taken from an
asyncio queue as `ParticipantVoice` hands them over — against the least Python can do with
them (a bare loop over the same frames into a list), and projects the share of a core one
bridged call costs in Python. LiveKit's own media work (Opus decode and re-encode, in its
Rust stack) comes on top and needs a LiveKit server: it is not measured here.

    .venv/bin/python benchmarks/warm_transfer_bridge.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import compare, heading, print_ratio, setup_django, size  # noqa: E402

FRAMES = 100  # one second of one direction


def main() -> None:
    setup_django()
    from testsupport.audio import numbered_frames
    from voice_worker.bridge import forward

    frames = numbered_frames(0, FRAMES)
    loop = asyncio.new_event_loop()

    class Ear:
        def __init__(self) -> None:
            self.heard: list = []

        async def capture_frame(self, frame) -> None:
            self.heard.append(frame)

    async def queued_voice():
        # As ParticipantVoice: the stream's reader task puts frames on a queue, the bridge takes them.
        queue: asyncio.Queue = asyncio.Queue()
        for frame in frames:
            queue.put_nowait(frame)
        queue.put_nowait(None)
        while (frame := await queue.get()) is not None:
            yield frame

    def bridge_second() -> None:
        ear = Ear()
        loop.run_until_complete(forward(queued_voice(), ear, {}, "caller"))
        assert len(ear.heard) == FRAMES

    def bare_second() -> None:
        async def copy() -> list:
            heard = []
            for frame in frames:  # noqa: PERF402  one frame at a time, as a forwarding loop goes
                heard.append(frame)
            return heard

        assert len(loop.run_until_complete(copy())) == FRAMES

    heading("one second of one direction (100 frames of 10 ms)")
    stats = compare(
        {"bridge forward": bridge_second, "bare loop": bare_second},
        n=size(2000, 200),
        warmup=size(200, 20),
        baseline="bare loop",
    )
    # Two directions per bridged call; p50 ms of work per second of call = thousandths of a core.
    core_share = 2 * stats["bridge forward"].p50 / 1000
    print_ratio("one bridged call, both directions, % of a core in Python (p50)", core_share * 100, 1.0)
    loop.close()


if __name__ == "__main__":
    main()
