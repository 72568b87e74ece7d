"""What the LiveKit worker runs in each job process: `prewarm` once, `entrypoint` per call.

LiveKit pickles these two functions by reference and imports this module in a fresh job
process before Django is set up, so it imports nothing from Django or our apps at module
level; both functions set Django up first (a no-op when the forkserver already did).
"""

from __future__ import annotations

import os

from livekit.agents import JobContext, JobProcess


def setup_django() -> None:
    from django.apps import apps

    if apps.ready:
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "morpheus.settings")
    import django

    django.setup()


def prewarm(proc: JobProcess) -> None:
    """Once per job process, before it takes a call: Django, and the Silero VAD every call
    in this process shares."""
    setup_django()
    from voice_worker.providers import load_vad

    proc.userdata["vad"] = load_vad()


async def entrypoint(ctx: JobContext) -> None:
    setup_django()
    from voice_worker.runner import run_job

    await run_job(ctx)
