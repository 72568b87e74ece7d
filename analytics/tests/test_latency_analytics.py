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


def test_hours_in_kolkata_and_new_york_days_from_the_hour_rows(alice_client, customer_a):
    """The organization's zone is UTC: Kolkata hours and New York days read the hour rows."""
    front, sales = AgentFactory(customer=customer_a), AgentFactory(customer=customer_a)
    # 18:35Z and 19:20Z: Kolkata's 00:00 hour on 03-09 (+05:30); 19:40Z its 01:00 hour.
    make_call(front, "2026-03-08T18:35:00Z", latencies=[400, 500, 1234])
    make_call(sales, "2026-03-08T19:20:00Z", latencies=[600, 2000], direction="outbound")
    make_call(front, "2026-03-08T19:40:00Z", latencies=[12_345])
    params = {"from": "2026-03-09", "to": "2026-03-09", "timezone": "Asia/Kolkata", "interval": "hour"}
    data = assert_success(alice_client.get(URL, params), 200)
    first, second = data["series"][0], data["series"][1]
    assert first["localStart"] == "2026-03-09T00:00:00+05:30"
    # 400 500 600 1200 (1234 to 100 ms) 2000: p50 rank 3, p95 rank 5.
    assert first["e2eLatencyMs"] == {"p50": 600.0, "p95": 2000.0, "count": 5}
    assert second["e2eLatencyMs"] == {"p50": 12000.0, "p95": 12000.0, "count": 1}  # 12,345 to the second
    assert data["totals"]["e2eLatencyMs"] == {"p50": 600.0, "p95": 12000.0, "count": 6}
    only_front = assert_success(alice_client.get(URL, {**params, "agentId": front.id}), 200)
    assert only_front["series"][0]["e2eLatencyMs"] == {"p50": 500.0, "p95": 1200.0, "count": 3}
    # New York (-05:00): all three are on 03-08 there.
    days = {"from": "2026-03-08", "to": "2026-03-08", "timezone": "America/New_York"}
    data = assert_success(alice_client.get(URL, days), 200)
    assert data["series"][0]["e2eLatencyMs"] == {"p50": 600.0, "p95": 12000.0, "count": 6}


@pytest.mark.parametrize(
    "value, bin_ms",
    [(4, 0), (994, 990), (995, 1000), (1234, 1200), (1250, 1200), (9949, 9900), (9950, 10000), (12_345, 12_000)],
)
def test_latency_bins_keep_two_significant_digits(value, bin_ms):
    from analytics.rollups import LATENCY_BIN_MS, latency_bin

    assert int(latency_bin(value)) * LATENCY_BIN_MS == bin_ms
