"""Bad dispatches and calls that cannot run: refused or closed with a reason, never hung."""

import json

import pytest
from livekit.agents import CloseEvent, CloseReason

from calls.models import CallStatus, EndReason, TranscriptTurn
from tenants.models import CustomerStatus
from voice_worker.closing import end_reason_for
from voice_worker.dispatch import InvalidDispatch, parse_dispatch
from voice_worker.testing import FakeLLM

from .conftest import deleted_rooms, dispatch_metadata

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "metadata",
    ["", "not json", "[1, 2]", '{"callId": null}', '{"callId": true}', '{"callId": -3}', '{"callId": "x"}'],
)
def test_malformed_metadata_is_refused_without_touching_any_call(make_call, run_call, livekit_server, metadata):
    call = make_call()

    assert run_call(call, FakeLLM([]), metadata=metadata or " ") is None

    call.refresh_from_db()
    assert call.status == CallStatus.RINGING and call.end_reason == ""
    assert deleted_rooms(livekit_server) == []


def test_parse_dispatch_reads_the_calls_app_metadata():
    assert parse_dispatch('{"callId": 7, "customerId": "abc", "agentId": 3}').call_id == 7
    assert parse_dispatch('{"callId": "7"}').call_id == 7
    with pytest.raises(InvalidDispatch):
        parse_dispatch('{"callId": 7, "customerId": 5}')


def test_an_unknown_call_is_refused(make_call, run_call, livekit_server):
    call = make_call()

    assert run_call(call, FakeLLM([]), metadata=json.dumps({"callId": call.pk + 1000})) is None

    assert deleted_rooms(livekit_server) == []


def test_an_ended_call_is_refused_and_keeps_its_end(make_call, run_call, livekit_server):
    call = make_call(call={"status": CallStatus.COMPLETED, "end_reason": EndReason.CALLER_HUNG_UP})

    assert run_call(call, FakeLLM([])) is None

    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, EndReason.CALLER_HUNG_UP)
    assert deleted_rooms(livekit_server) == []


def test_another_customers_call_is_refused(make_call, run_call, customer_b, livekit_server):
    call = make_call()

    metadata = dispatch_metadata(call, customerId=str(customer_b.pk))
    assert run_call(call, FakeLLM([]), metadata=metadata) is None

    call.refresh_from_db()
    assert call.status == CallStatus.RINGING
    assert deleted_rooms(livekit_server) == []


def test_a_dispatch_into_another_room_is_refused(make_call, run_call):
    call = make_call(call={"room_name": "call-someone-else"})

    assert run_call(call, FakeLLM([])) is None

    call.refresh_from_db()
    assert call.status == CallStatus.RINGING


def test_a_call_whose_agent_was_deleted_is_closed_as_failed(make_call, run_call, livekit_server):
    call = make_call()
    call.agent.delete()

    assert run_call(call, FakeLLM([])) is None

    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.FAILED, EndReason.ERROR)
    assert call.error_message == "The call's agent was deleted."
    assert call.ended_at is not None
    assert deleted_rooms(livekit_server) == [call.room_name]


def test_a_suspended_customers_call_is_closed_as_failed(make_call, run_call):
    call = make_call()
    call.customer.status = CustomerStatus.SUSPENDED
    call.customer.save()

    assert run_call(call, FakeLLM([])) is None

    call.refresh_from_db()
    assert (call.status, call.error_message) == (CallStatus.FAILED, "The customer's account is suspended.")


def test_a_provider_without_credentials_fails_the_call_with_a_clear_reason(make_call, livekit_server, settings):
    """The real provider factory, not a fake model: OPENAI_API_KEY is unset."""
    from asgiref.sync import async_to_sync
    from livekit.agents.testing import fake_job_context
    from livekit.agents.utils import http_context

    from voice_worker.runner import run_job

    settings.OPENAI_API_KEY = ""
    settings.DEEPGRAM_API_KEY = "dg-key"
    call = make_call()

    async def main():
        async with http_context.open():
            with fake_job_context(job_metadata=dispatch_metadata(call)) as ctx:
                return await run_job(ctx, text_mode=True)

    assert async_to_sync(main)() is None

    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.FAILED, EndReason.ERROR)
    assert call.error_message == "The LLM provider 'OpenAI' has no credentials: OPENAI_API_KEY is not set."
    assert not TranscriptTurn.objects.filter(call=call).exists()
    assert deleted_rooms(livekit_server) == [call.room_name]


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (CloseReason.PARTICIPANT_DISCONNECTED, (EndReason.CALLER_HUNG_UP, "")),
        (CloseReason.JOB_SHUTDOWN, (EndReason.ERROR, "The voice worker shut down during the call.")),
        (CloseReason.USER_INITIATED, (EndReason.AGENT_ENDED, "")),
    ],
)
def test_a_session_that_closes_by_itself_gets_an_end_reason(reason, expected):
    assert end_reason_for(CloseEvent(reason=reason)) == expected


def test_a_pipeline_error_is_recorded_in_the_end_reason():
    from livekit.agents.tts import TTSError

    error = TTSError(timestamp=0, label="tts", error=RuntimeError("quota exceeded"), recoverable=False)
    reason, message = end_reason_for(CloseEvent(reason=CloseReason.ERROR, error=error))
    assert reason == EndReason.ERROR and message == "The voice pipeline failed: tts_error: quota exceeded"


def test_a_model_that_cannot_be_set_up_fails_the_call(make_call, run_call):
    call = make_call()

    def broken(config):
        raise ValueError("unknown voice 'nobody'")

    assert run_call(call, broken) is None

    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.FAILED, EndReason.ERROR)
    assert call.error_message == "The agent's models could not be set up: unknown voice 'nobody'"
