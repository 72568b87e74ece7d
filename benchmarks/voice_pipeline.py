"""The voice pipeline's own overhead per turn, at 1, 10 and 50 concurrent sessions.

Every session is the real worker job (`voice_worker.runner.run_job`: AgentSession,
MorpheusAgent, CallRunner, transcript writer, PostgreSQL), all sessions of a level in this
one process and event loop (in production each call has its own job process: these are
upper bounds). The providers are stand-ins in ANOTHER process (benchmarks/_voice_stand_ins.py)
reached over HTTP/websockets by the real LiveKit plugins; their own latencies are measured
by them and subtracted:

- text: the caller's message -> the agent's first text, through the real `livekit-plugins-openai`
  LLM (in the agent's FallbackAdapter) streaming from the OpenAI-compatible stand-in.
  overhead = the stored end-to-end latency - the stand-in's own time to first token
  (request received -> first token written, as the stand-in measured it).
- audio: the audio harness of the audio tests (testsupport/audio.py): espeak-ng speech paced
  in real time into a custom `AudioInput`, the real Silero VAD, the real Deepgram, OpenAI and
  ElevenLabs plugins, a custom `AudioOutput` playing in real time.
  turn = the caller stops speaking -> the agent's audio starts playing;
  end of turn = the caller stops speaking -> the LLM request reaches the stand-in (Silero's
  silence, the endpointing delay, the STT stand-in's final transcript: waits by design);
  overhead = turn - end of turn - the LLM stand-in's time to first token - the TTS stand-in's
  first text -> first audio.

Sessions start staggered over 2 s; their turns start once all of them are live (a call's
set-up, about a quarter of a second of CPU, is not part of a turn; on the phone each call
sets up in its own job process). The CPU line is this process's CPU over the level per turn,
set-up included. Issue 14's target is checked and printed: text overhead p95 <= 50 ms at 50
sessions.

    .venv/bin/python benchmarks/voice_pipeline.py [--levels 1,10,50] [--modes text,audio]
        [--turns 5] [--audio-turns 3] [--ttft-ms 200]

PostgreSQL (DATABASE_URL) or SQLite; the audio mode needs espeak-ng (skipped without it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import ROOT, Stats, heading, print_ratio, print_stats, setup_django, size, test_database  # noqa: E402

TARGET_P95_MS = 50.0


class StandIns:
    """The stand-in process: started, its URLs read, and its own timings fetched."""

    def __init__(self, ttft_ms: float) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own script
            [sys.executable, str(ROOT / "benchmarks" / "_voice_stand_ins.py"), "--ttft-ms", str(ttft_ms)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.urls = json.loads(self.process.stdout.readline())

    def point_settings_at_them(self) -> None:
        from django.conf import settings

        settings.OPENAI_API_KEY = self.urls["openai"]["api_key"]
        settings.OPENAI_BASE_URL = self.urls["openai"]["base_url"]
        settings.DEEPGRAM_API_KEY = self.urls["deepgram"]["api_key"]
        settings.DEEPGRAM_BASE_URL = self.urls["deepgram"]["listen_url"]
        settings.ELEVENLABS_API_KEY = self.urls["elevenlabs"]["api_key"]
        settings.ELEVENLABS_BASE_URL = self.urls["elevenlabs"]["base_url"]

    def _call(self, method: str, path: str) -> dict:
        request = urllib.request.Request(self.urls["openai"]["url"] + path, method=method)  # noqa: S310 - local
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - local
            return json.loads(response.read())

    def stats(self) -> dict:
        return self._call("GET", "/bench/stats")

    def reset(self) -> None:
        self._call("POST", "/bench/reset")

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


def make_calls(level: int, mode: str) -> list:
    """One agent and call per session; the agent's prompt and voice name the session, so the
    stand-ins' records can be matched to it."""
    from django.utils import timezone

    from agents.models import Agent, LLMProvider, STTProvider, TTSProvider
    from calls.models import Call, CallDirection
    from tenants.models import Customer

    customer = Customer.objects.create(company_name=f"Bench {mode} {level}")
    calls = []
    for index in range(level):
        agent = Agent.objects.create(
            customer=customer,
            name=f"Bench {index}",
            system_prompt=f"[bench session {mode}-{level}-{index}] You are a receptionist.",
            first_message="",
            llm_provider=LLMProvider.objects.filter(vendor="openai").order_by("id").first(),
            stt_provider=STTProvider.objects.get(vendor="deepgram"),
            tts_provider=TTSProvider.objects.get(vendor="elevenlabs"),
            voice_id=f"bench-voice-{mode}-{level}-{index}",
            silence_timeout_seconds=0,
            # One LLM request per turn, sent when the turn is over: the turn splits cleanly.
            voice_settings={"preemptiveGeneration": False, "turnDetection": "vad"},
        )
        calls.append(
            Call.objects.create(
                customer=customer,
                agent=agent,
                direction=CallDirection.INBOUND,
                room_name=f"bench-{mode}-{level}-{index}-{random.random()}",
                started_at=timezone.now(),
            )
        )
    return calls


def marker(call) -> str:
    return call.agent.system_prompt.split("]")[0] + "]"


async def run_session(
    call,
    *,
    mode: str,
    turns: int,
    start_delay: float,
    rng: random.Random,
    pause: tuple[float, float],
    all_live: asyncio.Barrier,
    vad=None,
) -> list:
    """One call: per turn, when the caller's message was sent (text mode) or (when the caller
    stopped speaking, when the agent's audio started playing) (audio mode)."""
    from livekit.agents.testing import fake_job_context

    from testsupport.audio import RoomlessAudio
    from voice_worker import providers
    from voice_worker.runner import run_job

    await asyncio.sleep(start_delay)
    with fake_job_context(job_metadata=json.dumps({"callId": call.pk})) as ctx:
        ctx.job.room.name = call.room_name
        if mode == "text":
            runner = await run_job(
                ctx,
                build_models=lambda config: providers.PipelineModels(llm=providers.build_llm(config)),
                text_mode=True,
            )
        else:
            ctx.proc.userdata["vad"] = vad
            line = RoomlessAudio()
            runner = await run_job(ctx, audio=line)
        assert runner is not None, "the benchmark call was refused"
        # Turns start once every session of the level is live: a call's set-up (loading it,
        # building its models, about a quarter of a second of CPU) is not part of a turn, and
        # on the phone each call sets up in its own job process.
        await all_live.wait()
        moments = []
        for turn in range(turns):
            await asyncio.sleep(rng.uniform(*pause))  # the caller's pause
            if mode == "text":
                await runner.session.wait_for_idle()
                moments.append(time.monotonic())
                await runner.session.run(user_input=f"Question {turn}: when are you open on Saturday?")
            else:
                await line.input.speak("When are you open on Saturday?")
                stopped = line.input.spoke_at[-1][1]
                if not await heard(line.output, turn):
                    break  # no answer within the time a caller would wait: the turn is not counted
                moments.append((stopped, line.output.segments[turn].started_at))
        await runner.session.wait_for_idle()
        await all_live.wait()  # nobody hangs up (closing is work too) before everyone is done
        runner.end_call("caller_hung_up")
        await runner.wait_closed()
        return moments


async def heard(speaker, index: int, *, timeout: float = 30.0) -> bool:
    """The agent's `index`-th utterance has been played."""
    deadline = time.monotonic() + timeout
    while len(speaker.segments) <= index or not speaker.segments[index].ended_at:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def run_level(
    level: int, *, mode: str, turns: int, stand_ins: StandIns, pause: tuple[float, float], vad=None
) -> dict[str, Stats]:
    from livekit.agents.utils import http_context

    from calls.models import TranscriptTurn

    calls = make_calls(level, mode)
    stand_ins.reset()
    rng = random.Random(level)

    async def main():
        all_live = asyncio.Barrier(level)
        async with http_context.open():
            return await asyncio.gather(
                *(
                    run_session(
                        call,
                        mode=mode,
                        turns=turns,
                        start_delay=rng.uniform(0, 2.0),
                        rng=rng,
                        pause=pause,
                        all_live=all_live,
                        vad=vad,
                    )
                    for call in calls
                )
            )

    async def main_and_release():
        try:
            return await main()
        finally:
            # The ORM's connections live on asgiref's thread: close them there, so the
            # throw-away database can be dropped.
            from asgiref.sync import sync_to_async
            from django.db import connections

            await sync_to_async(connections.close_all)()

    import psutil

    cpu_before = psutil.Process().cpu_times()
    moments = asyncio.run(main_and_release())
    cpu_after = psutil.Process().cpu_times()
    cpu_seconds = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    stats = stand_ins.stats()
    completions: dict[tuple[str, int], dict] = {}
    for c in stats["completions"]:
        completions[(c["system"].split("]")[0] + "]", c["user_messages"])] = c
    name = f"{mode} x{level}"
    if mode == "text":
        result = {k: Stats(f"{name} {k}") for k in ("turn", "stand-in", "to the LLM", "overhead")}
        for call, sent in zip(calls, moments, strict=True):
            replies = TranscriptTurn.objects.filter(call=call, role="assistant").order_by("id")
            for index, turn in enumerate(replies, start=1):
                c = completions.get((marker(call), index))
                if c is None or turn.e2e_latency_ms is None:
                    continue
                own = (c["first_token_at"] - c["received_at"]) * 1000
                result["turn"].samples_ms.append(turn.e2e_latency_ms)
                result["stand-in"].samples_ms.append(own)
                result["to the LLM"].samples_ms.append((c["received_at"] - sent[index - 1]) * 1000)
                result["overhead"].samples_ms.append(turn.e2e_latency_ms - own)
        print_cpu(name, cpu_seconds, result["turn"].n)
        return result

    syntheses: dict[str, list[dict]] = {}
    for s in stats["syntheses"]:
        syntheses.setdefault(s["voice_id"], []).append(s)
    result = {k: Stats(f"{name} {k}") for k in ("turn", "end of turn", "stand-ins", "overhead")}
    for call, session_moments in zip(calls, moments, strict=True):
        voice = [s for s in syntheses.get(call.agent.voice_id, []) if s["first_audio_at"]]
        for index, (stopped, playing) in enumerate(session_moments):
            c = completions.get((marker(call), index + 1))
            if c is None or index >= len(voice):
                continue
            tts = voice[index]
            stand_in = (c["first_token_at"] - c["received_at"]) + (tts["first_audio_at"] - tts["first_text_at"])
            turn = playing - stopped
            end_of_turn = c["received_at"] - stopped
            result["turn"].samples_ms.append(turn * 1000)
            result["end of turn"].samples_ms.append(end_of_turn * 1000)
            result["stand-ins"].samples_ms.append(stand_in * 1000)
            result["overhead"].samples_ms.append((turn - end_of_turn - stand_in) * 1000)
    print_cpu(name, cpu_seconds, result["turn"].n)
    return result


def print_cpu(name: str, seconds: float, turns: int) -> None:
    """This process's CPU time over the level, per measured turn (call set-up and the
    sessions' idle listening included): what the load figures stand on."""
    if turns:
        print(f"  {name} CPU of this process: {seconds * 1000 / turns:.1f} ms per turn")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default=os.environ.get("VOICE_BENCH_LEVELS", "1,10,50"))
    parser.add_argument("--modes", default="text,audio")
    parser.add_argument("--turns", type=int, default=size(5, 2), help="Caller turns per text session.")
    parser.add_argument("--audio-turns", type=int, default=size(3, 1), help="Caller turns per audio session.")
    parser.add_argument("--ttft-ms", type=float, default=200.0, help="The LLM stand-in's time to first token.")
    parser.add_argument(
        "--text-pause-ms",
        default="3000,6000",
        help="Text mode: the caller's pause before each turn, min,max. On the phone a turn also takes "
        "the caller's speech and the agent's playout (2-3 s each), which text mode skips; the default "
        "stands in for them, so 50 text sessions load the process as 50 calls would.",
    )
    parser.add_argument("--audio-pause-ms", default="500,1500", help="Audio mode: the caller's pause, min,max.")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    modes = args.modes.split(",")

    setup_django()
    import logging

    # The fake jobs have no LiveKit server to delete rooms on; keep those warnings quiet.
    for logger in ("livekit", "livekit.agents", "voice_worker", "calls", "asyncio"):
        logging.getLogger(logger).setLevel(logging.CRITICAL)

    from testsupport.audio import espeak_available

    if "audio" in modes and not espeak_available():
        print("audio mode skipped: espeak-ng is not installed (apt-get install espeak-ng)")
        modes.remove("audio")

    stand_ins = StandIns(args.ttft_ms)
    text_p95_at_50 = None
    try:
        with test_database():
            stand_ins.point_settings_at_them()
            vad = None
            if "audio" in modes:
                from voice_worker.providers import load_vad

                vad = load_vad()
            for mode in modes:
                heading(
                    f"voice pipeline, {mode} mode: LLM stand-in TTFT {args.ttft_ms:.0f} ms, "
                    f"{args.turns if mode == 'text' else args.audio_turns} turns per session, caller pause "
                    f"{args.text_pause_ms if mode == 'text' else args.audio_pause_ms} ms, {os.cpu_count()} CPUs"
                )
                for level in levels:
                    turns = args.turns if mode == "text" else args.audio_turns
                    started = time.perf_counter()
                    pause_ms = args.text_pause_ms if mode == "text" else args.audio_pause_ms
                    pause = tuple(float(x) / 1000 for x in pause_ms.split(","))
                    result = run_level(level, mode=mode, turns=turns, stand_ins=stand_ins, pause=pause, vad=vad)
                    print_stats(result.values())
                    print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
                    if mode == "text" and level == 50:
                        text_p95_at_50 = result["overhead"].p95
    finally:
        stand_ins.close()
    if text_p95_at_50 is not None:
        print_ratio("text overhead p95 at 50 sessions (ms)", text_p95_at_50, TARGET_P95_MS)


if __name__ == "__main__":
    main()
