"""One benchmark call inside a LiveKit job process (benchmarks/voice_pipeline.py, `--executor process`).

The worker (voice_worker/worker.py) runs each call in its own job process: LiveKit's
`ProcPool` with the default `JobExecutorType.PROCESS`, forked from a forkserver that
preloaded Django, our job code and the plugins, each process prewarmed by
`voice_worker.entrypoint.prewarm`. The benchmark builds that same pool and launches one
fake job per call (LiveKit's mock room: text mode needs no room); this module's
`entrypoint` is the job. It runs the real job (`run_job`, text mode, the agent's model as
the worker builds it), plays the caller from inside the job process (the caller's side is
a few timers, next to nothing), and writes what the parent needs to a JSON file: when each
message was sent, and this process's CPU over the turns.

Everything a job needs comes in its dispatch metadata (`callId`, which the worker reads,
plus `bench`, which it ignores): the stand-ins' barrier URL, turns, pauses, where to write.
Imported by reference in the forkserver's children, so nothing Django at module level.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import urllib.request


def barrier(bench: dict, name: str) -> None:
    """Blocks until every job of the level has reached the barrier `name` (the stand-ins'
    process counts them): `asyncio.Barrier` across processes."""
    url = f"{bench['barrier']}-{name}?parties={bench['parties']}"
    with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=600):  # noqa: S310 - local
        pass


async def entrypoint(ctx) -> None:
    from voice_worker.entrypoint import setup_django

    setup_django()
    import psutil
    from asgiref.sync import sync_to_async

    from voice_worker.runner import run_job

    # As the benchmark's own process does (harness.test_database): the figures are the output.
    logging.disable(logging.WARNING)
    bench = json.loads(ctx.job.metadata)["bench"]
    runner = await run_job(ctx, build_models=text_models, text_mode=True)
    if runner is None:
        raise RuntimeError("the benchmark call was refused")
    rng = random.Random(bench["seed"])
    await asyncio.to_thread(barrier, bench, "live")
    process = psutil.Process()
    cpu_before = process.cpu_times()
    sent = []
    for turn in range(bench["turns"]):
        await asyncio.sleep(rng.uniform(*bench["pause"]))  # the caller's pause after the reply
        await runner.session.wait_for_idle()
        sent.append(time.monotonic())
        await runner.session.run(user_input=f"Question {turn}: when are you open on Saturday?")
    await runner.session.wait_for_idle()
    await runner.flush()
    cpu_after = process.cpu_times()
    with open(bench["out"], "w") as out:
        json.dump(
            {
                "sent": sent,
                "cpu_seconds": (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system),
            },
            out,
        )
    # Nobody hangs up (closing is work too) before every call of the level is done.
    await asyncio.to_thread(barrier, bench, "done")
    runner.end_call("caller_hung_up")
    await runner.wait_closed()
    from django.db import connections

    await sync_to_async(connections.close_all)()


def text_models(config):
    """The agent's language model as the worker builds it (`providers.fallback_llm`: the
    FallbackAdapter over the OpenAI plugin), without the STT/TTS text mode does not use."""
    from voice_worker import providers

    return providers.PipelineModels(llm=providers.fallback_llm(config, providers.resolve(config)))
