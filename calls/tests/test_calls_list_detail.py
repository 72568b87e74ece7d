"""GET /calls and GET /calls/:id: the tenant's history, filters, the transcript in order."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.tests.factories import AgentFactory
from calls.models import CallDirection, CallStatus, TurnRole
from calls.tests.factories import CallFactory, TranscriptTurnFactory
from telephony.tests.factories import PhoneNumberFactory
from tenants.tests.cross_tenant import Action, ResourceMatrix
from testsupport.api import assert_error, assert_success

pytestmark = pytest.mark.django_db

URL = "/api/v1/calls"


def ago(**kwargs) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**kwargs)


@pytest.fixture
def agent(customer_a):
    return AgentFactory(customer=customer_a, name="Sales")


def test_it_lists_the_tenants_calls_newest_first_in_the_spec_shape(alice_client, agent, customer_b):
    number = PhoneNumberFactory(customer=agent.customer, agent=agent)
    older = CallFactory(agent=agent, phone_number=number, started_at=ago(hours=2))
    newer = CallFactory(
        agent=agent,
        phone_number=number,
        status=CallStatus.COMPLETED,
        started_at=ago(hours=1),
        answered_at=ago(hours=1),
        ended_at=ago(minutes=58),
        duration=120,
        recording_url="https://storage.example.com/rec-1.mp3",
    )
    CallFactory(agent=AgentFactory(customer=customer_b))

    data = assert_success(alice_client.get(URL), 200, "Calls retrieved successfully")

    assert [c["id"] for c in data["calls"]] == [newer.id, older.id]
    assert data["pagination"] == {"page": 1, "limit": 10, "total": 2, "totalPages": 1}
    item = data["calls"][0]
    assert item == {
        "id": newer.id,
        "agentId": agent.id,
        "phoneNumberId": number.id,
        "direction": "inbound",
        "status": "completed",
        "endReason": "",
        "fromNumber": "+14155550199",
        "toNumber": "+14155550100",
        "isSimulation": False,
        "duration": 120,
        "recordingUrl": "https://storage.example.com/rec-1.mp3",
        "recordingStatus": "",
        "cost": None,
        "costCurrency": "USD",
        "startedAt": item["startedAt"],
        "answeredAt": item["answeredAt"],
        "endedAt": item["endedAt"],
        "answeredBy": "",
    }
    assert item["startedAt"].endswith("Z") and len(item["startedAt"]) == 24
    assert data["calls"][1]["endedAt"] is None


def test_it_never_leaks_another_tenants_calls(bob_client, agent):
    CallFactory.create_batch(3, agent=agent)
    data = assert_success(bob_client.get(URL), 200, "Calls retrieved successfully")
    assert data["calls"] == [] and data["pagination"]["total"] == 0


def test_it_requires_authentication(api_client):
    assert_error(api_client.get(URL), 401)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=completed", ["completed"]),
        ("status=completed,failed", ["completed", "failed"]),
        ("direction=web", ["sim"]),
        ("simulation=true", ["sim"]),
        ("simulation=false", ["active", "completed", "failed", "other-agent"]),
        ("startedAfter={mid}", ["sim", "active"]),
        ("startedBefore={mid}", ["completed", "failed", "other-agent"]),
        ("startedAfter={early}&startedBefore={mid}", ["completed", "failed"]),
    ],
)
def test_it_filters_the_history(alice_client, agent, customer_a, query, expected):
    other_agent = AgentFactory(customer=customer_a)
    calls = {
        "sim": CallFactory(agent=agent, direction=CallDirection.WEB, is_simulation=True, started_at=ago(minutes=1)),
        "active": CallFactory(agent=agent, started_at=ago(minutes=2)),
        "completed": CallFactory(agent=agent, status=CallStatus.COMPLETED, started_at=ago(days=1)),
        "failed": CallFactory(agent=agent, status=CallStatus.FAILED, started_at=ago(days=2)),
        "other-agent": CallFactory(agent=other_agent, status=CallStatus.NO_ANSWER, started_at=ago(days=5)),
    }
    names = {c.id: name for name, c in calls.items()}
    query = query.format(mid=ago(hours=1).strftime("%Y-%m-%dT%H:%M:%SZ"), early=ago(days=3).date().isoformat())
    data = assert_success(alice_client.get(f"{URL}?{query}"), 200, "Calls retrieved successfully")
    assert sorted(names[c["id"]] for c in data["calls"]) == sorted(expected)


def test_it_filters_by_agent_and_phone_number(alice_client, agent, customer_a):
    number = PhoneNumberFactory(customer=customer_a)
    mine = CallFactory(agent=agent, phone_number=number)
    CallFactory(agent=AgentFactory(customer=customer_a))
    by_agent = assert_success(alice_client.get(f"{URL}?agentId={agent.id}"))
    assert [c["id"] for c in by_agent["calls"]] == [mine.id]
    by_number = assert_success(alice_client.get(f"{URL}?phoneNumberId={number.id}"))
    assert [c["id"] for c in by_number["calls"]] == [mine.id]


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("status=ringing,lost", ["status"]),
        ("direction=sideways", ["direction"]),
        ("agentId=abc", ["agentId"]),
        ("agentId=0", ["agentId"]),
        ("startedAfter=yesterday", ["startedAfter"]),
        ("simulation=maybe", ["simulation"]),
        ("startedAfter=2026-02-05&startedBefore=2026-02-01", ["startedBefore"]),
        ("limit=500", ["limit"]),
    ],
)
def test_it_rejects_bad_filters(alice_client, query, fields):
    assert_error(alice_client.get(f"{URL}?{query}"), 400, "Validation failed", fields=fields)


def test_it_pages_newest_first(alice_client, agent):
    calls = [CallFactory(agent=agent, started_at=ago(minutes=i)) for i in range(5)]
    page = assert_success(alice_client.get(f"{URL}?page=2&limit=2"))
    assert [c["id"] for c in page["calls"]] == [calls[2].id, calls[3].id]
    assert page["pagination"] == {"page": 2, "limit": 2, "total": 5, "totalPages": 3}


# --- Detail ---------------------------------------------------------------------------


def test_it_returns_a_call_with_its_transcript_in_order(alice_client, agent):
    call = CallFactory(agent=agent, metadata={"source": "test"})
    TranscriptTurnFactory(call=call, role=TurnRole.ASSISTANT, content="Hello!", llm_ttft_ms=300, tts_ttfb_ms=100)
    TranscriptTurnFactory(call=call, role=TurnRole.USER, content="Hi there.", end_of_turn_delay_ms=500)
    TranscriptTurnFactory(
        call=call,
        role=TurnRole.TOOL,
        content="",
        tool_name="lookup_order",
        tool_payload={"arguments": {"id": 7}, "result": "shipped"},
    )
    TranscriptTurnFactory(call=call, role=TurnRole.ASSISTANT, content="It shipped.", llm_ttft_ms=500, prompt_tokens=120)
    TranscriptTurnFactory(call=CallFactory(agent=agent), content="another call's turn")

    data = assert_success(alice_client.get(f"{URL}/{call.id}"), 200, "Call retrieved successfully")

    assert data["id"] == call.id and data["agentId"] == agent.id and data["status"] == "active"
    assert data["roomName"] == call.room_name and data["metadata"] == {"source": "test"}
    assert [(t["role"], t["content"]) for t in data["transcript"]] == [
        ("assistant", "Hello!"),
        ("user", "Hi there."),
        ("tool", ""),
        ("assistant", "It shipped."),
    ]
    first = data["transcript"][0]
    assert first["llmTtftMs"] == 300 and first["ttsTtfbMs"] == 100 and first["createdAt"].endswith("Z")
    assert data["transcript"][2]["toolName"] == "lookup_order"
    assert data["transcript"][2]["toolPayload"] == {"arguments": {"id": 7}, "result": "shipped"}
    assert data["summary"]["turns"] == 4 and data["summary"]["assistantTurns"] == 2
    assert data["summary"]["averageLatency"]["llmTtftMs"] == 400.0
    assert data["summary"]["averageLatency"]["e2eLatencyMs"] is None
    assert data["summary"]["usage"]["promptTokens"] == 120


def test_it_answers_another_tenants_call_with_404(bob_client, agent):
    call = CallFactory(agent=agent)
    assert_error(bob_client.get(f"{URL}/{call.id}"), 404, f"Call with ID {call.id} does not exist")


def test_it_answers_an_unknown_call_with_404(alice_client):
    assert_error(alice_client.get(f"{URL}/987654"), 404, "Call with ID 987654 does not exist")


def test_the_detail_costs_a_constant_number_of_queries(alice_client, agent):
    call = CallFactory(agent=agent)
    TranscriptTurnFactory.create_batch(2, call=call)
    with CaptureQueriesContext(connection) as few:
        assert_success(alice_client.get(f"{URL}/{call.id}"))
    TranscriptTurnFactory.create_batch(30, call=call)
    with CaptureQueriesContext(connection) as many:
        data = assert_success(alice_client.get(f"{URL}/{call.id}"))
    assert len(data["transcript"]) == 32
    assert len(many) == len(few)


class TestCallsMatrix(ResourceMatrix):
    """Reads through the matrix; end/join-agent cross-tenant cases are in test_call_control."""

    list_url = URL
    list_key = "calls"
    not_found_label = "Call"
    actions = {
        "list": Action("get", on="list", message="Calls retrieved successfully"),
        "retrieve": Action("get", message="Call retrieved successfully"),
    }
    # Every role reads the call history.

    def make_object(self, customer):
        return CallFactory(agent=AgentFactory(customer=customer))

    def make_row(self, customer, index):
        # Each call with its own agent and number: the list joins both.
        return CallFactory(agent=AgentFactory(customer=customer), phone_number=PhoneNumberFactory(customer=customer))
