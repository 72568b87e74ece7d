"""The functions LiveKit runs in a job process."""

import pytest
from asgiref.sync import async_to_sync
from livekit.agents import JobExecutorType, JobProcess
from livekit.agents.testing import fake_job_context
from livekit.plugins import silero

from calls.models import CallStatus
from voice_worker.entrypoint import entrypoint, prewarm

from .conftest import dispatch_metadata

pytestmark = pytest.mark.django_db


def test_prewarm_loads_the_vad_once_for_the_process():
    process = JobProcess(executor_type=JobExecutorType.THREAD, user_arguments=None, http_proxy=None)
    prewarm(process)
    assert isinstance(process.userdata["vad"], silero.VAD)


def test_the_entrypoint_runs_the_job(make_call, livekit_server, settings):
    """Through the real entrypoint (and so the real provider factory): with no OpenAI key the
    call is failed with the reason, and the job ends."""
    settings.OPENAI_API_KEY = ""
    call = make_call()
    shutdowns = []

    async def main():
        from livekit.agents.utils import http_context

        async with http_context.open():
            with fake_job_context(job_metadata=dispatch_metadata(call)) as ctx:
                ctx._on_shutdown = shutdowns.append  # the worker's hook, observed
                await entrypoint(ctx)

    async_to_sync(main)()

    call.refresh_from_db()
    assert call.status == CallStatus.FAILED and "OPENAI_API_KEY is not set" in call.error_message
    assert shutdowns == [call.error_message]
