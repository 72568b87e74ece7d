"""The voice pipeline's own overhead per turn, at 1, 10 and 50 concurrent sessions.

Every session is the real worker job (`voice_worker.runner.run_job`: AgentSession,
MorpheusAgent, CallRunner, transcript writer, PostgreSQL). The providers are stand-ins in
ANOTHER process (benchmarks/_voice_stand_ins.py) reached over HTTP/websockets by the real
LiveKit plugins; their own latencies are measured by them and subtracted:

- text: the caller's message -> the agent's first text, through the real `livekit-plugins-openai`
  LLM in the FallbackAdapter the worker builds (`providers.fallback_llm`), streaming from the
  OpenAI-compatible stand-in. overhead = the stored end-to-end latency - the stand-in's own
  time to first token (request received -> first token written, as the stand-in measured it).
- audio: the audio harness of the audio tests (testsupport/audio.py): espeak-ng speech paced
  in real time into a custom `AudioInput`, the real Silero VAD, the real Deepgram, OpenAI and
  ElevenLabs plugins, a custom `AudioOutput` playing in real time.
  turn = the caller stops speaking -> the agent's audio starts playing;
  end of turn = the caller stops speaking -> the LLM request reaches the stand-in (Silero's
  silence, the endpointing delay, the STT stand-in's final transcript: waits by design);
  overhead = turn - end of turn - the LLM stand-in's time to first token - the TTS stand-in's
  first text -> first audio.

Text mode runs variants (`--text-variants`), each a pacing and an executor:

- pacing `conversation`: each session is a caller who speaks, waits for the whole reply, and
  speaks again after a pause (uniform in --text-pause-ms, 1-3 s); `back-to-back`: no pause
  (a stress figure, not a phone line).
- executor `process`: each session in its own LiveKit job process, as the worker runs calls
  (LiveKit's `ProcPool`, process executor, the forkserver with the worker's preloads,
  `prewarm`; benchmarks/_voice_job.py is the job); `inline`: every session in this one
  process and event loop.

Issue 14's target is read on `conversation/process` at 50 sessions: text overhead p95 <= 50 ms.

Sessions start staggered; their turns start once all of them are live (a call's set-up is
not part of a turn). The CPU line is the CPU over the turns per turn (summed over the job
processes in process mode), the sessions' idle listening included.

    .venv/bin/python benchmarks/voice_pipeline.py [--levels 1,10,50] [--modes text,audio]
        [--text-variants conversation/process,conversation/inline,back-to-back/inline]
        [--turns 5] [--audio-turns 3] [--ttft-ms 200] [--text-pause-ms 1000,3000] [--profile FILE]

PostgreSQL (DATABASE_URL; the job processes reach the test database through it); the audio mode
needs espeak-ng (skipped without it).
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
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _voice_job import entrypoint as job_entrypoint  # noqa: E402
from _voice_job import text_models  # noqa: E402
from harness import (  # noqa: E402
    ROOT,
    Stats,
    database_url,
    heading,
    print_ratio,
    print_stats,
    setup_django,
    size,
    test_database,
)

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

    def point_settings_at_them(self, *, database: str) -> None:
        """This process's settings, and the environment the job processes' forkserver will
        inherit (their settings are read from it): the stand-ins and the test database."""
        from django.conf import settings

        values = {
            "OPENAI_API_KEY": self.urls["openai"]["api_key"],
            "OPENAI_BASE_URL": self.urls["openai"]["base_url"],
            "DEEPGRAM_API_KEY": self.urls["deepgram"]["api_key"],
            "DEEPGRAM_BASE_URL": self.urls["deepgram"]["listen_url"],
            "ELEVENLABS_API_KEY": self.urls["elevenlabs"]["api_key"],
            "ELEVENLABS_BASE_URL": self.urls["elevenlabs"]["base_url"],
        }
        for name, value in values.items():
            setattr(settings, name, value)
        os.environ.update(values)
        if os.environ.get("DATABASE_URL", "").startswith("postgres"):
            os.environ["DATABASE_URL"] = database_url(database)

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
    phase: Phase,
    vad=None,
) -> list:
    """One call: per turn, when the caller's message was sent (text mode) or (when the caller
    stopped speaking, when the agent's audio started playing) (audio mode)."""
    from livekit.agents.testing import fake_job_context

    from testsupport.audio import RoomlessAudio
    from voice_worker.runner import run_job

    await asyncio.sleep(start_delay)
    with fake_job_context(job_metadata=json.dumps({"callId": call.pk})) as ctx:
        ctx.job.room.name = call.room_name
        if mode == "text":
            runner = await run_job(ctx, build_models=text_models, text_mode=True)
        else:
            ctx.proc.userdata["vad"] = vad
            line = RoomlessAudio()
            runner = await run_job(ctx, audio=line)
        assert runner is not None, "the benchmark call was refused"
        # Turns start once every session of the level is live: a call's set-up (loading it,
        # building its models, about a quarter of a second of CPU) is not part of a turn, and
        # on the phone each call sets up in its own job process.
        await all_live.wait()
        phase.mark("live")
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
        await runner.flush()
        await all_live.wait()  # nobody hangs up (closing is work too) before everyone is done
        phase.mark("done")
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


class Phase:
    """This process's CPU time when the turns start (every session live) and end (every
    session done): the CPU of the turns, without the calls' set-up and hang-up."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}

    def mark(self, name: str) -> None:
        import psutil

        if name not in self.cpu:
            times = psutil.Process().cpu_times()
            self.cpu[name] = times.user + times.system

    @property
    def seconds(self) -> float:
        return self.cpu["done"] - self.cpu["live"]


def run_inline(calls, *, mode: str, turns: int, pause: tuple[float, float], seed: int, vad=None):
    """Every session in this process and event loop. Returns each call's moments and this
    process's CPU over the turns."""
    from livekit.agents.utils import http_context

    rng = random.Random(seed)
    phase = Phase()

    async def sessions():
        all_live = asyncio.Barrier(len(calls))
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
                        phase=phase,
                        vad=vad,
                    )
                    for call in calls
                )
            )

    async def sessions_and_release():
        try:
            return await sessions()
        finally:
            # The ORM's connections live on asgiref's thread: close them there, so the
            # throw-away database can be dropped.
            from asgiref.sync import sync_to_async
            from django.db import connections

            await sync_to_async(connections.close_all)()

    moments = asyncio.run(sessions_and_release())
    return moments, phase.seconds


_job_context = None


def job_context():
    """The multiprocessing context the worker's job processes come from: LiveKit's default
    on Linux, a forkserver that preloaded what `AgentServer.run` makes it preload for our
    worker (the registered plugins, `voice_worker.preload`, LiveKit's own warm-up and the
    `gc.freeze` after it), with the worker's event-loop monitor setting. Started once, by the
    first job process, with this process's environment (which names the test database and the
    stand-ins by then)."""
    global _job_context
    if _job_context is None:
        import multiprocessing

        from livekit.agents import Plugin

        from voice_worker.providers import import_plugin
        from voice_worker.worker import configure_loop_monitor, worker_plugins

        for name in worker_plugins():
            import_plugin(name)
        configure_loop_monitor()  # as build_server does
        _job_context = multiprocessing.get_context("forkserver")
        packages = [p.package for p in Plugin.registered_plugins] + ["voice_worker.preload"]
        _job_context.set_forkserver_preload(
            [*dict.fromkeys(packages), "livekit.agents.ipc._preload", "livekit.agents.ipc._preload_freeze"]
        )
    return _job_context


def run_in_job_processes(calls, *, turns: int, pause: tuple[float, float], seed: int, stand_ins: StandIns):
    """Each session in its own job process, as the worker runs calls: LiveKit's `ProcPool`
    with the worker's settings (voice_worker/worker.py: process executor, `prewarm`,
    60 s initialisation, 800 MB memory warning), one fake job per call (LiveKit's mock room),
    `benchmarks/_voice_job.py` as the job. The processes are warmed before the jobs arrive
    (the worker keeps idle processes ready) and no replacement is warmed while the turns run
    (set-up is not a turn). Returns each call's moments and the processes' CPU over the turns."""
    import tempfile

    from livekit.agents import JobExecutorType, ipc
    from livekit.agents.job import JobAcceptArguments, RunningJobInfo
    from livekit.protocol import agent, models

    from voice_worker.entrypoint import prewarm

    level = len(calls)
    run_id = f"{level}-{random.random()}"
    out_dir = Path(tempfile.mkdtemp(prefix="voice-bench-"))

    async def jobs() -> None:
        pool = ipc.proc_pool.ProcPool(
            initialize_process_fnc=prewarm,
            job_entrypoint_fnc=job_entrypoint,
            session_end_fnc=None,
            simulation_end_fnc=None,
            num_idle_processes=level,
            initialize_timeout=60.0,
            close_timeout=10.0,
            session_end_timeout=300.0,
            inference_executor=None,
            job_executor_type=JobExecutorType.PROCESS,
            mp_ctx=job_context(),
            memory_warn_mb=800,
            memory_limit_mb=0,
            http_proxy=None,
            loop=asyncio.get_running_loop(),
        )
        ready = asyncio.Event()
        warmed: list = []
        launched: list = []

        def on_ready(proc) -> None:
            warmed.append(proc)
            if len(warmed) >= level:
                ready.set()

        pool.on("process_ready", on_ready)
        pool.on("process_job_launched", launched.append)
        await pool.start()
        try:
            await asyncio.wait_for(ready.wait(), 600)
            pool.set_target_idle_processes(0)
            for index, call in enumerate(calls):
                bench = {
                    "barrier": f"{stand_ins.urls['openai']['url']}/bench/barrier/{run_id}",
                    "parties": level,
                    "turns": turns,
                    "pause": pause,
                    "seed": seed * 1000 + index,
                    "out": str(out_dir / f"{call.pk}.json"),
                }
                job = agent.Job(
                    id=f"bench-job-{run_id}-{index}",
                    room=models.Room(sid=f"RM_bench_{index}", name=call.room_name),
                    type=agent.JobType.JT_ROOM,
                    metadata=json.dumps({"callId": call.pk, "bench": bench}),
                )
                info = RunningJobInfo(
                    accept_arguments=JobAcceptArguments(identity=f"bench-agent-{index}", name="", metadata=""),
                    job=job,
                    url="ws://127.0.0.1:1",
                    token="",
                    worker_id="voice-bench",
                    fake_job=True,
                )
                await pool.launch_job(info)
            await asyncio.gather(*(proc.join() for proc in launched))
        finally:
            await pool.aclose()

    asyncio.run(jobs())
    moments, cpu_seconds = [], 0.0
    for call in calls:
        path = out_dir / f"{call.pk}.json"
        result = json.loads(path.read_text()) if path.exists() else {"sent": [], "cpu_seconds": 0.0}
        moments.append(result["sent"])
        cpu_seconds += result["cpu_seconds"]
        path.unlink(missing_ok=True)
    out_dir.rmdir()
    return moments, cpu_seconds


def run_level(
    level: int,
    *,
    mode: str,
    turns: int,
    stand_ins: StandIns,
    pause: tuple[float, float],
    executor: str = "inline",
    label: str = "",
    vad=None,
) -> dict[str, Stats]:
    from calls.models import TranscriptTurn

    calls = make_calls(level, mode)
    stand_ins.reset()
    if executor == "process":
        moments, cpu_seconds = run_in_job_processes(calls, turns=turns, pause=pause, seed=level, stand_ins=stand_ins)
    else:
        moments, cpu_seconds = run_inline(calls, mode=mode, turns=turns, pause=pause, seed=level, vad=vad)
    stats = stand_ins.stats()
    completions: dict[tuple[str, int], dict] = {}
    for c in stats["completions"]:
        completions[(c["system"].split("]")[0] + "]", c["user_messages"])] = c
    name = f"{label or mode} x{level}"
    if mode == "text":
        kinds = ("turn", "stand-in", "to the LLM", "overhead", "overhead, 1st turn", "overhead, later turns")
        result = {k: Stats(f"{name} {k}") for k in kinds}
        for call, sent in zip(calls, moments, strict=True):
            replies = TranscriptTurn.objects.filter(call=call, role="assistant").order_by("id")
            for index, turn in enumerate(replies, start=1):
                c = completions.get((marker(call), index))
                if c is None or turn.e2e_latency_ms is None or index > len(sent):
                    continue
                own = (c["first_token_at"] - c["received_at"]) * 1000
                result["turn"].samples_ms.append(turn.e2e_latency_ms)
                result["stand-in"].samples_ms.append(own)
                result["to the LLM"].samples_ms.append((c["received_at"] - sent[index - 1]) * 1000)
                result["overhead"].samples_ms.append(turn.e2e_latency_ms - own)
                # A call's first answer apart: it is where a process's lazy first-time work lands.
                which = "overhead, 1st turn" if index == 1 else "overhead, later turns"
                result[which].samples_ms.append(turn.e2e_latency_ms - own)
        print_cpu(name, cpu_seconds, result["turn"].n, expected=level * turns)
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
    print_cpu(name, cpu_seconds, result["turn"].n, expected=level * turns)
    return result


def print_cpu(name: str, seconds: float, turns: int, *, expected: int) -> None:
    """CPU time over the turns (from every session live to every session done: the
    sessions' idle listening included, their set-up and hang-up not), per measured turn,
    summed over the job processes in process mode."""
    if turns:
        print(f"  {name} CPU over the turns: {seconds * 1000 / turns:.1f} ms per turn ({turns} of {expected} turns)")
    else:
        print(f"  {name}: no turn measured")


# Text variants: pacing/executor. The first is the figure issue 14's target is read on.
TEXT_VARIANTS = ("conversation/process", "conversation/inline", "back-to-back/inline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default=os.environ.get("VOICE_BENCH_LEVELS", "1,10,50"))
    parser.add_argument("--modes", default="text,audio")
    parser.add_argument(
        "--text-variants",
        default=",".join(TEXT_VARIANTS),
        help="pacing/executor pairs for text mode. Pacing: `conversation` (the caller waits for the reply, "
        "then pauses --text-pause-ms before speaking again) or `back-to-back` (no pause: a stress figure). "
        "Executor: `process` (each call in its own LiveKit job process, as the worker runs calls) or "
        "`inline` (every call in this process and event loop).",
    )
    parser.add_argument("--turns", type=int, default=size(5, 2), help="Caller turns per text session.")
    parser.add_argument("--audio-turns", type=int, default=size(3, 1), help="Caller turns per audio session.")
    parser.add_argument("--ttft-ms", type=float, default=200.0, help="The LLM stand-in's time to first token.")
    parser.add_argument(
        "--text-pause-ms",
        default="1000,3000",
        help="Text mode, conversation pacing: the caller's pause after the agent's reply, min,max (uniform). "
        "A human's pause only: the agent's playout and the caller's own speech, which a phone turn also "
        "takes, are left out, so turns come faster than on the phone.",
    )
    parser.add_argument("--audio-pause-ms", default="500,1500", help="Audio mode: the caller's pause, min,max.")
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="Text mode, inline executor: profile each level with pyinstrument and save the session to FILE "
        "(`pyinstrument --load FILE`); the calls' set-up is in it too, so use many --turns.",
    )
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    modes = args.modes.split(",")
    text_variants = [tuple(v.split("/")) for v in args.text_variants.split(",") if v]

    setup_django()
    import logging

    # The fake jobs have no LiveKit server to delete rooms on; keep those warnings quiet.
    for logger in ("livekit", "livekit.agents", "voice_worker", "calls", "asyncio"):
        logging.getLogger(logger).setLevel(logging.CRITICAL)

    from testsupport.audio import espeak_available

    if "audio" in modes and not espeak_available():
        print("audio mode skipped: espeak-ng is not installed (apt-get install espeak-ng)")
        modes.remove("audio")

    print(f"load average at the start: {load_average()}")
    stand_ins = StandIns(args.ttft_ms)
    target = None
    try:
        with test_database() as test_name:
            stand_ins.point_settings_at_them(database=test_name)
            vad = None
            if "audio" in modes:
                from voice_worker.providers import load_vad

                vad = load_vad()
            runs: list[tuple[str, str, str]] = []
            for mode in modes:
                if mode == "text":
                    runs.extend(("text", pacing, executor) for pacing, executor in text_variants)
                else:
                    runs.append((mode, "conversation", "inline"))
            for mode, pacing, executor in runs:
                turns = args.turns if mode == "text" else args.audio_turns
                pause_ms = args.text_pause_ms if mode == "text" else args.audio_pause_ms
                if pacing == "back-to-back":
                    pause_ms = "0,0"
                pause = tuple(float(x) / 1000 for x in pause_ms.split(","))
                label = f"{mode} {pacing} {executor}" if mode == "text" else mode
                heading(
                    f"voice pipeline, {label}: LLM stand-in TTFT {args.ttft_ms:.0f} ms, {turns} turns per "
                    f"session, caller pause {pause_ms} ms, {os.cpu_count()} CPUs"
                )
                for level in levels:
                    started = time.perf_counter()
                    with profiled(args.profile if (mode, executor) == ("text", "inline") else None):
                        result = run_level(
                            level,
                            mode=mode,
                            turns=turns,
                            stand_ins=stand_ins,
                            pause=pause,
                            executor=executor,
                            label=label,
                            vad=vad,
                        )
                    print_stats(row for row in result.values() if row.n)
                    print(f"  ({time.perf_counter() - started:.0f} s, load average {load_average()})", flush=True)
                    if (mode, f"{pacing}/{executor}", level) == ("text", TEXT_VARIANTS[0], 50):
                        target = result["overhead"].p95
    finally:
        stand_ins.close()
    if target is not None:
        print_ratio("text overhead p95, 50 conversations in job processes (ms)", target, TARGET_P95_MS)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@contextmanager
def profiled(path: str | None):
    """pyinstrument over a level when asked (`--profile`)."""
    if not path:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        profiler.last_session.save(path)
        print(f"  profile saved to {path}")


if __name__ == "__main__":
    main()
