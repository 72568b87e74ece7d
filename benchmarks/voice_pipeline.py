"""The voice pipeline's own overhead per turn, and its memory per session, under concurrency.

Runs many concurrent calls through the real worker job code (`voice_worker.runner.run_job`:
the AgentSession with MorpheusAgent, the transcript collector and the database writer) in
text mode, against a fake LLM with a fixed time to first token. A turn's latency is the
time from the caller's message to the agent's first text (what the worker stores as the
turn's end-to-end latency); the pipeline's overhead is that minus the fake model's
time to first token. Speech models are left out: their latency is the providers'.

Each concurrency level runs in a fresh process, so its memory figures start clean:
memory per session = (peak RSS while the sessions run - RSS after a warm-up call) / sessions.
Sessions start (staggered over a second) and greet first; the turns are measured once every
session of the level is live. The database is a throwaway copy: a SQLite file by default, or a test database next to
DATABASE_URL's (PostgreSQL). Prints a table; asserts nothing.

    .venv/bin/python benchmarks/voice_pipeline.py [--levels 1,10,50] [--turns 5] [--ttft-ms 200]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "morpheus.test_settings")

REPLY = "Sure, I can help with that. Our office is open from nine to five on weekdays."


def setup_django(db_name: str | None = None) -> None:
    import django
    from django.conf import settings

    if db_name:
        settings.DATABASES["default"]["NAME"] = db_name
    django.setup()
    import logging

    # The fake jobs have no LiveKit server to delete rooms on; keep those warnings quiet.
    for name in ("livekit", "livekit.agents", "voice_worker", "httpx2", "asyncio"):
        logging.getLogger(name).setLevel(logging.ERROR)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


# --- one concurrency level, in its own process ------------------------------------------


def run_level(sessions: int, turns: int, ttft: float, think: tuple[float, float], seed: int) -> dict:
    import psutil

    from agents.models import Agent, LLMProvider, STTProvider, TTSProvider
    from calls.models import Call, CallDirection, TranscriptTurn
    from tenants.models import Customer

    customer = Customer.objects.create(company_name=f"Bench {sessions}")
    agent = Agent.objects.create(
        customer=customer,
        name="Bench agent",
        system_prompt="You are a receptionist.",
        first_message="Hello, thanks for calling!",
        llm_provider=LLMProvider.objects.order_by("id").first(),
        stt_provider=STTProvider.objects.order_by("id").first(),
        tts_provider=TTSProvider.objects.order_by("id").first(),
        silence_timeout_seconds=0,
    )

    def new_call(tag: str) -> Call:
        from django.utils import timezone

        return Call.objects.create(
            customer=customer,
            agent=agent,
            direction=CallDirection.INBOUND,
            room_name=f"bench-{sessions}-{tag}-{random.random()}",
            started_at=timezone.now(),
        )

    warmup = new_call("warmup")
    calls = [new_call(str(i)) for i in range(sessions)]
    process = psutil.Process()
    rng = random.Random(seed)

    async def one_call(call: Call, n_turns: int, start_delay: float, all_started: asyncio.Barrier | None) -> None:
        from livekit.agents.testing import fake_job_context

        from voice_worker.providers import PipelineModels
        from voice_worker.runner import run_job
        from voice_worker.testing import FakeLLM

        await asyncio.sleep(start_delay)
        model = FakeLLM(default=REPLY, ttft=ttft)
        with fake_job_context(job_metadata=json.dumps({"callId": call.pk})) as ctx:
            ctx.job.room.name = call.room_name  # the fake job takes place in this call's room
            runner = await run_job(ctx, build_models=lambda config: PipelineModels(llm=model), text_mode=True)
            assert runner is not None, "the benchmark call was refused"
            await runner.session.wait_for_idle()  # greeted
            if all_started is not None:
                # Turns are measured with every session of the level live: call set-up is
                # not part of a turn (and on the phone each call sets up in its own process).
                await all_started.wait()
            for turn in range(n_turns):
                await runner.session.wait_for_idle()
                await asyncio.sleep(rng.uniform(*think))
                await runner.session.run(user_input=f"Question number {turn}: when are you open?")
            await runner.session.wait_for_idle()
            if all_started is not None:
                await all_started.wait()  # everyone is done before anyone hangs up
            runner.end_call("caller_hung_up")
            await runner.wait_closed()

    async def measure() -> tuple[float, float, float, float]:
        await one_call(warmup, 2, 0, None)
        gc.collect()
        baseline = process.memory_info().rss
        peak = baseline
        done = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, process.memory_info().rss)
                await asyncio.sleep(0.05)

        sampler = asyncio.create_task(sample())
        barrier = asyncio.Barrier(sessions + 1)
        calls_done = asyncio.gather(*(one_call(call, turns, rng.uniform(0, 1.0), barrier) for call in calls))
        await barrier.wait()  # all sessions live and greeted
        cpu_before = process.cpu_times()
        started = time.perf_counter()
        await barrier.wait()  # all turns done
        wall = time.perf_counter() - started
        cpu_after = process.cpu_times()
        await calls_done
        done.set()
        await sampler
        cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
        return baseline, peak, wall, cpu

    # Like a job process: the event loop on the main thread, ORM calls on asgiref's thread.
    baseline, peak, wall, cpu = asyncio.run(measure())

    replies = TranscriptTurn.objects.filter(
        call__in=calls, role="assistant", e2e_latency_ms__isnull=False, llm_ttft_ms__isnull=False
    ).values_list("e2e_latency_ms", "llm_ttft_ms")
    ttft_ms = ttft * 1000
    overhead = [e2e - ttft_ms for e2e, _ in replies]
    llm_overhead = [llm - ttft_ms for _, llm in replies]
    return {
        "sessions": sessions,
        "turns": len(overhead),
        "expected_turns": sessions * turns,
        "overhead_p50": percentile(overhead, 50),
        "overhead_p95": percentile(overhead, 95),
        "overhead_max": max(overhead) if overhead else float("nan"),
        "llm_node_overhead_p50": percentile(llm_overhead, 50),
        "baseline_mb": baseline / 2**20,
        "mb_per_session": (peak - baseline) / 2**20 / sessions,
        "cpu_ms_per_turn": cpu * 1000 / max(1, len(overhead)),
        "wall_s": wall,
        "mean_e2e": statistics.fmean([e2e for e2e, _ in replies]) if replies else float("nan"),
    }


# --- driver ---------------------------------------------------------------------------


def create_database() -> tuple[str, str, object]:
    from django.conf import settings
    from django.db import connection

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        database.setdefault("TEST", {})["NAME"] = str(Path(tempfile.mkdtemp()) / "voice_bench.sqlite3")
    old_name = connection.creation.create_test_db(verbosity=0, serialize=False)
    return old_name, settings.DATABASES["default"]["NAME"], connection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="1,10,50", help="Concurrent sessions per run, comma-separated.")
    parser.add_argument("--turns", type=int, default=5, help="Caller turns per session.")
    parser.add_argument("--ttft-ms", type=float, default=200.0, help="The fake model's time to first token.")
    parser.add_argument(
        "--think-ms",
        default="1500,3000",
        help="Pause before each caller turn, min,max ms. On the phone a turn also takes the caller's "
        "speech and the agent's playout, which text mode skips; the default stands in for them.",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--run-level", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db-name", help=argparse.SUPPRESS)
    args = parser.parse_args()
    think = tuple(float(x) / 1000 for x in args.think_ms.split(","))

    if args.run_level:
        setup_django(args.db_name)
        result = run_level(args.run_level, args.turns, args.ttft_ms / 1000, think, args.seed)
        print("RESULT " + json.dumps(result))
        return

    setup_django()
    from django.db import connection

    old_name, db_name, _ = create_database()
    vendor = connection.vendor
    results = []
    try:
        for level in (int(x) for x in args.levels.split(",")):
            command = [
                sys.executable,
                __file__,
                "--run-level",
                str(level),
                "--db-name",
                db_name,
                "--turns",
                str(args.turns),
                "--ttft-ms",
                str(args.ttft_ms),
                "--think-ms",
                args.think_ms,
                "--seed",
                str(args.seed),
            ]
            output = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)  # noqa: S603
            line = next((x for x in output.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                print(output.stdout, output.stderr, file=sys.stderr)
                raise SystemExit(f"level {level} failed")
            results.append(json.loads(line.removeprefix("RESULT ")))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(
        f"\nVoice pipeline overhead per turn (text mode, fake LLM TTFT {args.ttft_ms:.0f} ms, "
        f"{args.turns} turns/session, caller pause {args.think_ms} ms, database: {vendor}, "
        f"{os.cpu_count()} CPUs)\n"
    )
    header = (
        f"{'sessions':>8} {'turns':>7} {'overhead p50':>13} {'p95':>8} {'max':>8} "
        f"{'LLM node p50':>13} {'CPU/turn':>9} {'MB/session':>11} {'process MB':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['sessions']:>8} {r['turns']:>3}/{r['expected_turns']:<3} {r['overhead_p50']:>10.1f} ms "
            f"{r['overhead_p95']:>5.1f} ms {r['overhead_max']:>5.1f} ms {r['llm_node_overhead_p50']:>10.1f} ms "
            f"{r['cpu_ms_per_turn']:>6.1f} ms {r['mb_per_session']:>11.2f} {r['baseline_mb']:>11.0f}"
        )
    print(
        "\noverhead = stored end-to-end latency (caller message -> first agent text) - fake TTFT;"
        "\nLLM node = the framework's own time-to-first-token measurement - fake TTFT;"
        "\nMB/session = (peak RSS - RSS after a warm-up call) / sessions; process MB = that RSS baseline."
    )


if __name__ == "__main__":
    main()
