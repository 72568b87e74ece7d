"""The provider stand-ins of benchmarks/voice_pipeline.py, served from their own process so
their work does not share the measured process's event loop and CPU time slices.

OpenAI (streamed chat completions, each answering after `--ttft-ms`), Deepgram (live
websocket) and ElevenLabs (multi-context websocket) from testsupport/voice_providers.py.
Prints one JSON line with their URLs and keys, serves until stdin closes. Their own
timings (monotonic clock, shared by every process on the machine) are read with
`GET <openai>/bench/stats`; `POST <openai>/bench/reset` forgets them. It also holds the
barriers that line up the benchmark's job processes (`POST <openai>/bench/barrier/<name>`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web  # noqa: E402

from testsupport.voice_providers import DeepgramServer, ElevenLabsServer, OpenAIServer, Reply  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ttft-ms", type=float, default=200.0)
    parser.add_argument("--reply", default="We are open from nine to five.")
    parser.add_argument("--transcript", default="When are you open on Saturday?")
    args = parser.parse_args()

    openai = OpenAIServer(default=Reply(text=args.reply, delay=args.ttft_ms / 1000))
    deepgram = DeepgramServer(script=[args.transcript] * 100_000)
    elevenlabs = ElevenLabsServer()

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "completions": [
                    {
                        "system": next((m.get("content") for m in c.messages if m.get("role") == "system"), ""),
                        "user_messages": sum(1 for m in c.messages if m.get("role") == "user"),
                        "last_user": next(
                            (m.get("content") for m in reversed(c.messages) if m.get("role") == "user"), ""
                        ),
                        "received_at": c.received_at,
                        "first_token_at": c.first_token_at,
                    }
                    for c in openai.completions
                ],
                "syntheses": [
                    {"voice_id": s.voice_id, "first_text_at": s.first_text_at, "first_audio_at": s.first_audio_at}
                    for s in elevenlabs.syntheses
                ],
            }
        )

    async def reset(request: web.Request) -> web.Response:
        openai.completions.clear()
        elevenlabs.syntheses.clear()
        deepgram.utterances.clear()
        return web.json_response({"ok": True})

    # Named barriers across processes: `POST /bench/barrier/<name>?parties=N` answers once N
    # requests have arrived for <name> (the job processes' "every call is live").
    barriers: dict[str, tuple[list[int], asyncio.Event]] = {}

    async def barrier(request: web.Request) -> web.Response:
        count, event = barriers.setdefault(request.match_info["name"], ([0], asyncio.Event()))
        count[0] += 1
        if count[0] >= int(request.query["parties"]):
            event.set()
        await event.wait()
        return web.json_response({"ok": True})

    openai.app.router.add_get("/bench/stats", stats)
    openai.app.router.add_post("/bench/reset", reset)
    openai.app.router.add_post("/bench/barrier/{name}", barrier)
    with openai, deepgram, elevenlabs:
        print(
            json.dumps(
                {
                    "openai": {"base_url": openai.base_url, "url": openai.url, "api_key": openai.api_key},
                    "deepgram": {"listen_url": deepgram.listen_url, "api_key": deepgram.api_key},
                    "elevenlabs": {"base_url": elevenlabs.base_url, "api_key": elevenlabs.api_key},
                }
            ),
            flush=True,
        )
        sys.stdin.read()  # until the benchmark closes our stdin (or exits)


if __name__ == "__main__":
    main()
