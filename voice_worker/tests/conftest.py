"""Fixtures for the voice worker: calls ready to be dispatched, and the network edges."""

import asyncio
import json
from collections.abc import Coroutine

import pytest
from asgiref.sync import async_to_sync
from livekit.agents.testing import fake_job_context
from livekit.agents.utils import http_context
from livekit.protocol.models import ParticipantInfo

from agents.tests.factories import AgentFactory
from calls import livekit_client
from calls.models import CallStatus
from calls.tests.factories import CallFactory
from voice_worker import warm_transfer
from voice_worker.providers import PipelineModels
from voice_worker.runner import run_job

from .servers import OpenAICompatibleServer

# fake_job_context names the job's room "fake-room"; a dispatch is only accepted for the
# call taking place in the job's room.
FAKE_ROOM = "fake-room"


@pytest.fixture(autouse=True)
def fresh_worker_process():
    """Each test is a fresh job process: what the last one learnt about its LiveKit server
    (that it cannot move participants) is forgotten."""
    warm_transfer.remember_server_cannot_move(False)
    yield
    warm_transfer.remember_server_cannot_move(False)


@pytest.fixture
def make_call(db):
    def make(*, call=None, **agent_fields):
        agent = AgentFactory(**agent_fields)
        fields = {"agent": agent, "room_name": FAKE_ROOM, "status": CallStatus.RINGING, **(call or {})}
        return CallFactory(**fields)

    return make


def dispatch_metadata(call, **overrides) -> str:
    return json.dumps({"callId": call.pk, "customerId": str(call.customer_id), **overrides})


async def play_then_hang_up(runner, scenario: Coroutine | None, timeout: float):
    """Runs `scenario` on a started call, then hangs up as the caller (if the call still
    runs) and waits for the call to close; returns the runner.

    The text-mode `run_call` and the audio harness (audio_harness.py) end every call this
    way, so a scenario that fails or times out never leaves a call running."""
    try:
        if scenario is not None:
            await asyncio.wait_for(scenario, timeout)
    finally:
        if runner.session is not None and not runner.ending:
            runner.end_call("caller_hung_up")
        await asyncio.wait_for(runner.wait_closed(), timeout)
    return runner


@pytest.fixture
def livekit_server(livekit_server, monkeypatch):
    """The shared LiveKit double (testsupport/livekit.py) holding the job's room; the
    worker's own LiveKit API (`ctx.api`) reads the LIVEKIT_* environment, so set it too."""
    monkeypatch.setenv("LIVEKIT_URL", livekit_server.url)
    monkeypatch.setenv("LIVEKIT_API_KEY", livekit_server.api_key)
    monkeypatch.setenv("LIVEKIT_API_SECRET", livekit_server.api_secret)
    livekit_client.create_room(FAKE_ROOM, empty_timeout=60, max_participants=4)
    livekit_server.requests.clear()
    return livekit_server


def deleted_rooms(server) -> list[str]:
    return [message.room for message in server.messages("DeleteRoom")]


def transfers(server) -> list:
    return server.messages("TransferSIPParticipant")


@pytest.fixture
def openai_server(settings):
    """An OpenAI-compatible server the agents' OpenAI LLM provider points at."""
    with OpenAICompatibleServer() as server:
        settings.OPENAI_API_KEY = server.api_key
        settings.OPENAI_BASE_URL = server.base_url
        yield server


@pytest.fixture
def run_call(livekit_server):
    """Dispatches a call to the real job code (`run_job`) in a fake LiveKit job, in text
    mode with `llm` as the model (or `llm(config)` when it is a factory), then runs
    `scenario(runner)` and waits for the call to close (closing it if the scenario left it
    running)."""

    def run(call, llm, scenario=None, *, metadata=None, caller_identity=None, timeout=30.0, bridge=None):
        if caller_identity:  # the phone caller, as LiveKit SIP would have put them in the room
            livekit_server.add_participant(call.room_name, caller_identity, kind=ParticipantInfo.Kind.SIP)

        async def main():
            async with http_context.open():
                with fake_job_context(job_metadata=metadata or dispatch_metadata(call)) as ctx:
                    runner = await run_job(
                        ctx,
                        build_models=lambda config: PipelineModels(llm=llm(config) if callable(llm) else llm),
                        text_mode=True,
                        caller_identity=caller_identity,
                        bridge=bridge,
                    )
                    if runner is None:
                        return None
                    return await play_then_hang_up(runner, scenario(runner) if scenario else None, timeout)

        return async_to_sync(main)()

    return run
