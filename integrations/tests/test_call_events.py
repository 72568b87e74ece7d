"""The call events, emitted by calls/services.py in the transaction of the change, with
the data GET /api/v1/calls/:id shows."""

import pytest
from django.db import transaction

from calls import services
from calls.models import CallStatus, EndReason
from calls.tests.factories import CallFactory, TranscriptTurnFactory
from integrations.models import Event

from .factories import WebhookEndpointFactory

ALL_CALL_EVENTS = ["call.started", "call.answered", "call.ended", "call.transferred", "call.failed"]

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(customer_a):
    return WebhookEndpointFactory(customer=customer_a, events=ALL_CALL_EVENTS)


def types():
    return list(Event.objects.order_by("id").values_list("type", flat=True))


def test_call_ended_carries_the_transcript_and_end_reason(endpoint, customer_a, django_capture_on_commit_callbacks):
    call = CallFactory(agent__customer=customer_a, status=CallStatus.ACTIVE)
    services.call_mark_answered(call=call)
    TranscriptTurnFactory(call=call, role="user", content="Hello there")
    TranscriptTurnFactory(call=call, role="assistant", content="Hi, how can I help?")
    with transaction.atomic():
        services.call_end(call=call, reason=EndReason.CALLER_HUNG_UP, teardown=services.TEARDOWN_NONE)

    assert types() == ["call.answered", "call.ended"]
    event = Event.objects.get(type="call.ended")
    data = event.data
    assert data["id"] == call.id and data["status"] == "completed" and data["endReason"] == "caller_hung_up"
    assert [t["content"] for t in data["transcript"]] == ["Hello there", "Hi, how can I help?"]
    assert data["agentId"] == call.agent_id and data["endedAt"].endswith("Z")
    assert event.agent_id == call.agent_id and event.customer_id == customer_a.id


def test_a_transfer_and_a_failure_add_their_own_events(endpoint, customer_a):
    transferred = CallFactory(agent__customer=customer_a, status=CallStatus.ACTIVE)
    services.call_end(call=transferred, reason=EndReason.TRANSFERRED, teardown=services.TEARDOWN_NONE)
    assert types() == ["call.ended", "call.transferred"]

    failed = CallFactory(agent__customer=customer_a, status=CallStatus.RINGING)
    services.call_end(
        call=failed,
        reason=EndReason.ERROR,
        status=CallStatus.FAILED,
        error_message="x",
        teardown=services.TEARDOWN_NONE,
    )
    assert types()[2:] == ["call.ended", "call.failed"]
    assert Event.objects.get(type="call.failed").data["status"] == "failed"


def test_answering_twice_emits_once(endpoint, customer_a):
    call = CallFactory(agent__customer=customer_a, status=CallStatus.RINGING)
    services.call_mark_answered(call=call)
    services.call_mark_answered(call=call)
    assert types() == ["call.answered"]
    assert Event.objects.get().data["status"] == "active"


def test_an_end_that_fails_emits_nothing(endpoint, customer_a):
    call = CallFactory(agent__customer=customer_a, status=CallStatus.ACTIVE)
    services.call_end(call=call, reason=EndReason.CALLER_HUNG_UP, teardown=services.TEARDOWN_NONE)
    with pytest.raises(services.CallAlreadyEnded):
        services.call_end(call=call, reason=EndReason.CALLER_HUNG_UP, teardown=services.TEARDOWN_NONE)
    assert types() == ["call.ended"]


def test_a_simulation_starts_and_answers(endpoint, alice, customer_a, livekit_server, settings):
    from agents.tests.factories import AgentFactory

    agent = AgentFactory(customer=customer_a)
    started = services.call_start_simulation(user=alice, agent=agent)
    assert types() == ["call.started", "call.answered"]
    assert Event.objects.first().data["id"] == started.call.id
