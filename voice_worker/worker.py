"""The LiveKit Agents worker process: an AgentServer for explicit dispatch, and its run loop.

`run_voice_worker` builds the server from settings and command options and runs it until
SIGTERM/SIGINT, then drains: the worker stops taking calls, waits for the calls in
progress to finish (up to the drain timeout) and exits. A second signal exits at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass

from django.conf import settings

logger = logging.getLogger(__name__)

PLUGINS = ("openai", "deepgram", "elevenlabs", "silero")
# LiveKit's self-hosted end-of-turn models, run in the worker's inference process; loaded
# only when their weights were downloaded (`run_voice_worker --download-files`).
TURN_DETECTOR = "turn_detector"


def worker_plugins() -> tuple[str, ...]:
    from .session_options import turn_model_weights_present

    return (*PLUGINS, TURN_DETECTOR) if turn_model_weights_present() else PLUGINS


# LiveKit's event-loop monitor (`livekit.agents.telemetry.loop_monitor`) runs in every job
# process and ticks at a fifth of its warn threshold, at least every 20 ms, waking the process
# twice per tick (a timer on the loop and a watchdog thread). At LiveKit's 100 ms default that
# is about 100 wake-ups and 8 ms of CPU a second for every call, on calls that are mostly
# waiting (0.4 of a core for 50 calls, measured). Blocks from 250 ms on are reported instead
# (its slowest tick, 50 ms: 40 wake-ups, under 4 ms a second): a stall a caller notices. Set
# LIVEKIT_AGENTS_LOOP_BLOCK_WARN_MS yourself to change it (100: LiveKit's default; 0: off).
LOOP_BLOCK_WARN_MS = "250"


def configure_loop_monitor() -> None:
    """Before the job processes start: each reads the thresholds from its environment."""
    from livekit.agents.telemetry import loop_monitor

    os.environ.setdefault(loop_monitor.ENV_WARN_THRESHOLD_MS, LOOP_BLOCK_WARN_MS)


@dataclass(frozen=True)
class WorkerSettings:
    agent_name: str
    num_idle_processes: int
    load_threshold: float
    drain_timeout: int
    job_memory_warn_mb: float
    job_memory_limit_mb: float
    host: str
    port: int
    log_level: str


def missing_livekit_settings() -> list[str]:
    return [
        name for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET") if not getattr(settings, name, "")
    ]


def build_server(options: WorkerSettings):
    from livekit.agents import AgentServer

    from .entrypoint import entrypoint, prewarm
    from .providers import import_plugin

    # On the main thread, before the process pool starts: the forkserver preloads every
    # registered plugin, so job processes start with them imported.
    for name in worker_plugins():
        import_plugin(name)
    configure_loop_monitor()
    server = AgentServer(
        ws_url=settings.LIVEKIT_URL,
        api_key=settings.LIVEKIT_API_KEY,
        api_secret=settings.LIVEKIT_API_SECRET,
        setup_fnc=prewarm,
        num_idle_processes=options.num_idle_processes,
        load_threshold=options.load_threshold,
        drain_timeout=options.drain_timeout,
        job_memory_warn_mb=options.job_memory_warn_mb,
        job_memory_limit_mb=options.job_memory_limit_mb,
        # Django setup and the Silero model take a few seconds on a busy machine.
        initialize_process_timeout=60.0,
        host=options.host,
        port=options.port,
        preload_modules=["voice_worker.preload"],
        log_level=options.log_level,
    )
    # A non-empty agent name means explicit dispatch only: the worker takes exactly the
    # calls the API dispatches to it by name, never every room on the server.
    server.rtc_session(entrypoint, agent_name=options.agent_name)
    return server


def run_server(server, *, drain_timeout: int) -> None:
    """Runs until a signal, then drains. Raises what made the worker fail to run."""
    asyncio.run(_serve(server, drain_timeout=drain_timeout))


async def _serve(server, *, drain_timeout: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    run_task = asyncio.create_task(server.run(devmode=False), name="voice-worker")
    stop_task = asyncio.create_task(stop.wait(), name="voice-worker-signal")
    await asyncio.wait({run_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    stop_task.cancel()
    if run_task.done():
        await server.aclose()
        run_task.result()  # the worker stopped by itself: raise why
        return

    logger.info("stopping: no new calls; waiting up to %ss for calls in progress", drain_timeout)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _exit_now)
    try:
        await server.drain(timeout=drain_timeout)
    except TimeoutError:
        logger.warning("calls still in progress after %ss; stopping anyway", drain_timeout)
    await server.aclose()
    try:
        await asyncio.wait_for(run_task, 5)
    except Exception:
        run_task.cancel()
    logger.info("voice worker stopped")


def _exit_now() -> None:
    logger.warning("second signal: exiting without waiting for calls in progress")
    os._exit(1)
