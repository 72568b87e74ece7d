"""GET /calls/:id/transcript: a long call's transcript page by page, in GET /calls/:id's turn shape."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator

from agents.tests.factories import AgentFactory
from calls.models import TurnRole
from calls.tests.factories import CallFactory, TranscriptTurnFactory
from testsupport.api import assert_error, assert_success

pytestmark = pytest.mark.django_db

MESSAGE = "Transcript retrieved successfully"
TURN_KEYS = {
    "id",
    "role",
    "content",
    "toolName",
    "toolPayload",
    "createdAt",
    "endOfTurnDelayMs",
    "llmTtftMs",
    "ttsTtfbMs",
    "e2eLatencyMs",
    "promptTokens",
    "completionTokens",
    "ttsCharacters",
    "audioSeconds",
    "interrupted",
}


def url(call, **query) -> str:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return f"/api/v1/calls/{call.id}/transcript" + (f"?{params}" if params else "")


@pytest.fixture
def call(customer_a):
    call = CallFactory(agent=AgentFactory(customer=customer_a))
    for i in range(25):
        TranscriptTurnFactory(
            call=call,
            role=TurnRole.ASSISTANT if i % 2 else TurnRole.USER,
            content=f"turn {i}",
            llm_ttft_ms=300.5 if i % 2 else None,
            prompt_tokens=100 + i if i % 2 else None,
        )
    TranscriptTurnFactory(call=CallFactory(agent=call.agent), content="another call's turn")
    return call


def test_it_pages_through_the_turns_in_order_in_the_detail_shape(alice_client, call):
    detail = assert_success(alice_client.get(f"/api/v1/calls/{call.id}"), 200, "Call retrieved successfully")

    data = assert_success(alice_client.get(url(call, page=2, limit=10)), 200, MESSAGE)

    assert data["pagination"] == {"page": 2, "limit": 10, "total": 25, "totalPages": 3}
    assert [t["content"] for t in data["transcript"]] == [f"turn {i}" for i in range(10, 20)]
    assert data["transcript"] == detail["transcript"][10:20]
    turn = data["transcript"][1]  # turn 11, an assistant turn
    assert set(turn) == TURN_KEYS
    assert (turn["role"], turn["llmTtftMs"], turn["promptTokens"], turn["ttsTtfbMs"]) == ("assistant", 300.5, 111, None)
    assert turn["createdAt"].endswith("Z") and turn["interrupted"] is False


def test_the_first_page_is_the_default_and_a_page_past_the_end_is_empty(alice_client, call):
    first = assert_success(alice_client.get(url(call)), 200, MESSAGE)
    assert first["pagination"] == {"page": 1, "limit": 10, "total": 25, "totalPages": 3}
    assert [t["content"] for t in first["transcript"]] == [f"turn {i}" for i in range(10)]

    past = assert_success(alice_client.get(url(call, page=9, limit=10)), 200, MESSAGE)
    assert past == {"transcript": [], "pagination": {"page": 9, "limit": 10, "total": 25, "totalPages": 3}}


def test_a_call_without_turns_has_an_empty_transcript(alice_client, customer_a):
    call = CallFactory(agent=AgentFactory(customer=customer_a))
    data = assert_success(alice_client.get(url(call)), 200, MESSAGE)
    assert data == {"transcript": [], "pagination": {"page": 1, "limit": 10, "total": 0, "totalPages": 0}}


@pytest.mark.parametrize(
    ("query", "field"), [({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"page": "x"}, "page")]
)
def test_bad_paging_is_a_400_naming_the_field(alice_client, call, query, field):
    response = alice_client.get(url(call, **query))
    body = assert_error(response, 400)
    assert [e["field"] for e in body["errors"]] == [field]


def test_another_tenants_call_is_a_404(bob_client, call):
    assert_error(bob_client.get(url(call)), 404, f"Call with ID {call.id} does not exist")


def test_it_requires_authentication(api_client, call):
    assert_error(api_client.get(url(call)), 401)


def test_a_page_costs_a_constant_number_of_queries(alice_client, customer_a):
    call = CallFactory(agent=AgentFactory(customer=customer_a))
    TranscriptTurnFactory.create_batch(3, call=call)
    with CaptureQueriesContext(connection) as few:
        assert_success(alice_client.get(url(call, limit=100)))
    TranscriptTurnFactory.create_batch(60, call=call)
    with CaptureQueriesContext(connection) as many:
        data = assert_success(alice_client.get(url(call, limit=100)))
    assert len(data["transcript"]) == 63
    assert len(many) == len(few)


def test_the_schema_documents_it_with_one_turn_shape_everywhere():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/calls/{id}/transcript"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"id", "page", "limit"}
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert body["properties"]["data"] == {"$ref": "#/components/schemas/TranscriptPageOutput"}
    components = schema["components"]["schemas"]
    turn = {"$ref": "#/components/schemas/TranscriptTurnOutput"}
    assert components["TranscriptPageOutput"]["properties"]["transcript"]["items"] == turn
    assert components["CallDetail"]["properties"]["transcript"]["items"] == turn  # GET /calls/:id
    assert components["MessageOutput"]["properties"]["turns"]["items"] == turn  # POST /calls/:id/messages
    assert set(components["TranscriptTurnOutput"]["properties"]) == TURN_KEYS
