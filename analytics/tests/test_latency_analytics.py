"""GET /analytics/latency: nearest-rank percentiles of per-turn latency from the rollups."""

import pytest

from agents.tests.factories import AgentFactory
from testsupport.api import assert_error, assert_success

from .helpers import make_call

URL = "/api/v1/analytics/latency"
pytestmark = pytest.mark.django_db


def test_it_gives_p50_and_p95_per_local_day_and_overall(alice_client, customer_a):
    agent = AgentFactory(customer=customer_a)
    customer_a.settings = {"timezone": "Europe/Berlin"}
    customer_a.save()
    # 2026-03-29: Berlin springs forward (02:00 -> 03:00). 22:30Z on the 28th is 23:30 there.
    make_call(agent, "2026-03-28T22:30:00Z", latencies=[800, 900, 1000, 1200, 3000])
    # 22:30Z on the 29th is 00:30 on the 30th in Berlin (CEST): a different local day.
    make_call(agent, "2026-03-29T22:30:00Z", latencies=[500, 700])
    response = alice_client.get(URL, {"from": "2026-03-28", "to": "2026-03-30"})
    data = assert_success(response, 200, "Latency analytics retrieved successfully")
    series = {item["localStart"]: item for item in data["series"]}
    assert list(series) == ["2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"]
    # Five values: p50 is the 3rd (1000), p95 the 5th (3000).
    assert series["2026-03-28T00:00:00+01:00"]["e2eLatencyMs"] == {"p50": 1000.0, "p95": 3000.0, "count": 5}
    assert series["2026-03-29T00:00:00+01:00"]["e2eLatencyMs"] == {"p50": None, "p95": None, "count": 0}
    assert series["2026-03-30T00:00:00+02:00"]["e2eLatencyMs"] == {"p50": 500.0, "p95": 700.0, "count": 2}
    # All seven: 500 700 800 900 1000 1200 3000 -> p50 rank 4 (900), p95 rank 7 (3000).
    assert data["totals"]["e2eLatencyMs"] == {"p50": 900.0, "p95": 3000.0, "count": 7}
    assert data["totals"]["llmTtftMs"] == {"p50": None, "p95": None, "count": 0}


def test_finalizing_twice_does_not_count_turns_twice(alice_client, customer_a):
    from calls import services

    call = make_call(AgentFactory(customer=customer_a), "2026-03-10T10:00:00Z", latencies=[400, 600])
    services.call_finalize(call=call)
    data = assert_success(alice_client.get(URL, {"from": "2026-03-10", "to": "2026-03-10", "timezone": "UTC"}), 200)
    assert data["totals"]["e2eLatencyMs"] == {"p50": 400.0, "p95": 600.0, "count": 2}


def test_an_inverted_range_is_refused(alice_client):
    assert_error(alice_client.get(URL, {"from": "2026-03-10", "to": "2026-03-09"}), 400, fields=["to"])
