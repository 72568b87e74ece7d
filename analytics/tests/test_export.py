"""GET /calls/export.csv: filtered, tenant-scoped, streamed with flat memory."""

import csv
import io
import tracemalloc

import pytest
from django.utils import timezone

from agents.tests.factories import AgentFactory
from calls.models import Call
from testsupport.api import assert_error

from .helpers import make_call

URL = "/api/v1/calls/export.csv"
pytestmark = pytest.mark.django_db


def _rows(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_it_exports_the_tenants_calls_with_the_list_filters(alice_client, customer_a, customer_b, bob):
    agent = AgentFactory(customer=customer_a, name="Front desk")
    first = make_call(agent, "2026-03-10T10:00:00Z", duration=42, cost="0.1234")
    make_call(agent, "2026-03-11T10:00:00Z", direction="outbound")
    make_call(AgentFactory(customer=customer_b), "2026-03-10T10:00:00Z")
    rows = _rows(alice_client.get(URL))
    assert len(rows) == 2
    oldest = rows[-1]
    assert oldest["id"] == str(first.id)
    assert oldest["startedAt"] == "2026-03-10T10:00:00.000Z"
    assert oldest["agentName"] == "Front desk"
    assert oldest["durationSeconds"] == "42"
    assert oldest["cost"] == "0.1234"
    assert oldest["status"] == "completed"
    assert oldest["isSimulation"] == "false"
    assert [r["direction"] for r in _rows(alice_client.get(URL, {"direction": "outbound"}))] == ["outbound"]


def test_formula_like_values_are_defused(alice_client, customer_a):
    call = make_call(AgentFactory(customer=customer_a), "2026-03-10T10:00:00Z")
    Call.objects.filter(pk=call.pk).update(analysis={"status": "done", "summary": '=HYPERLINK("x")'})
    assert _rows(alice_client.get(URL))[0]["summary"] == '\'=HYPERLINK("x")'


def test_bad_filters_get_the_envelope(alice_client, alice):
    assert_error(alice_client.get(URL, {"status": "nope"}), 400, fields=["status"])


def test_it_needs_a_tenant_user(api_client):
    assert_error(api_client.get(URL), 401)


def _bulk_calls(customer, agent, n):
    now = timezone.now()
    Call.objects.bulk_create(
        [
            Call(customer=customer, agent=agent, direction="inbound", room_name=f"bulk-{n}-{i}", started_at=now)
            for i in range(n)
        ],
        batch_size=2000,
    )


def _peak_bytes(client) -> int:
    tracemalloc.start()
    try:
        response = client.get(URL)
        lines = sum(1 for _ in response.streaming_content)
        return tracemalloc.get_traced_memory()[1], lines
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_rows_grow(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a)
    _peak_bytes(alice_client)  # warm-up: first-request imports and caches are not rows
    # Both sizes are several fetch chunks (2000 rows) long.
    _bulk_calls(customer_a, agent, 5000)
    small_peak, lines = _peak_bytes(alice_client)
    assert lines == 5001
    _bulk_calls(customer_a, agent, 20000)
    big_peak, lines = _peak_bytes(alice_client)
    assert lines == 25001
    # Five times the rows, about the same peak: rows are never all held at once.
    assert big_peak < small_peak * 2, (small_peak, big_peak)
