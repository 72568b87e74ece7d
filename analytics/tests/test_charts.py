"""The platform admin's charts (analytics/charts.py) show the analytics API's figures for
the same 30 UTC days, read from the hour rows."""

import datetime

import pytest
from django.utils import timezone

from agents.tests.factories import AgentFactory
from analytics import charts
from analytics.models import CallRollup
from calls.models import CallStatus
from testsupport.api import assert_success

from .helpers import make_call

pytestmark = pytest.mark.django_db


def _at(day: datetime.date, clock: str) -> str:
    return f"{day.isoformat()}T{clock}:00Z"


@pytest.fixture
def calls(customer_a, customer_b):
    """Alice (organization in New York: the API reads hour rows for UTC days) and Bob (UTC:
    the API reads his day rows). Calls five minutes either side of UTC midnight, two
    agents, both directions, a simulation and a call before the 30 days."""
    customer_a.settings = {"timezone": "America/New_York"}
    customer_a.save()
    today = timezone.now().astimezone(datetime.UTC).date()
    front, sales = AgentFactory(customer=customer_a), AgentFactory(customer=customer_a)
    for back, clock, agent, kwargs in (
        (3, "23:55", front, {"latencies": [410, 620, 1234]}),
        (2, "00:05", sales, {"latencies": [880], "direction": "outbound"}),
        (2, "12:30", front, {"status": CallStatus.FAILED, "reason": "error", "latencies": [2500, 300]}),
        (2, "13:00", sales, {"duration": None, "status": CallStatus.NO_ANSWER, "reason": "no_answer"}),
        (0, "00:00", front, {"latencies": [90]}),
        (29, "00:05", front, {"latencies": [700]}),  # the first of the 30 days
        (30, "23:55", front, {"latencies": [9000]}),  # the day before
    ):
        make_call(agent, _at(today - datetime.timedelta(days=back), clock), **kwargs)
    simulated = make_call(front, _at(today - datetime.timedelta(days=2), "10:00"), latencies=[5000])
    simulated.is_simulation = True
    simulated.save()
    from analytics.rollups import call_changed

    call_changed(simulated)
    bob_agent = AgentFactory(customer=customer_b)
    make_call(bob_agent, _at(today - datetime.timedelta(days=2), "23:59"))
    make_call(bob_agent, _at(today - datetime.timedelta(days=1), "00:01"), status=CallStatus.FAILED, reason="error")


def _api(client, days):
    params = {"from": days[0].isoformat(), "to": days[-1].isoformat(), "timezone": "UTC", "interval": "day"}
    calls = assert_success(client.get("/api/v1/analytics/calls", params), 200)["series"]
    latency = assert_success(client.get("/api/v1/analytics/latency", params), 200)["series"]
    return calls, latency


def _chart_figures(customer_id=None):
    rows, days = charts.chart_rows(customer_id)
    return days, charts.calls_per_day(rows, days), charts.latency_per_day(rows, days)


def test_a_customers_charts_show_the_apis_figures(calls, customer_a, customer_b, alice_client, bob_client):
    for customer, client in ((customer_a, alice_client), (customer_b, bob_client)):
        days, per_day, latency = _chart_figures(customer.pk)
        api_calls, api_latency = _api(client, days)
        assert [item["localStart"][:10] for item in api_calls] == [day.isoformat() for day in days]
        for day, item, figures, api_figures in zip(days, api_calls, latency, api_latency, strict=True):
            counts = per_day[day]
            assert sum(counts.values()) == item["total"], day
            assert counts["status_completed"] == item["completed"], day
            assert counts["status_failed"] == item["failed"], day
            assert counts["status_no_answer"] == item["noAnswer"], day
            assert figures == api_figures["e2eLatencyMs"], day
    days, per_day, latency = _chart_figures(customer_a.pk)
    assert sum(sum(counts.values()) for counts in per_day.values()) == 6  # not the simulation nor the day before
    # 23:55 three days ago: 410 620 1200 (1234 to 100 ms); two days ago 880, 2500, 300.
    assert latency[-4] == {"p50": 620.0, "p95": 1200.0, "count": 3}
    assert latency[-3] == {"p50": 880.0, "p95": 2500.0, "count": 3}
    assert latency[0] == {"p50": 700.0, "p95": 700.0, "count": 1}


def test_the_overview_sums_every_customer(calls, customer_a, alice_client, bob_client):
    days, per_day, latency = _chart_figures()
    alice_calls, alice_latency = _api(alice_client, days)
    bob_calls, _ = _api(bob_client, days)
    for day, alice_day, bob_day in zip(days, alice_calls, bob_calls, strict=True):
        assert sum(per_day[day].values()) == alice_day["total"] + bob_day["total"], day
        assert per_day[day]["status_failed"] == alice_day["failed"] + bob_day["failed"], day
    # Bob's calls have no turns: the overview's latency is Alice's.
    assert latency == [item["e2eLatencyMs"] for item in alice_latency]


def test_the_charts_read_the_hour_rows_not_the_15_minute_rows(calls, customer_a):
    before = _chart_figures(customer_a.pk)
    CallRollup.objects.filter(customer=customer_a).delete()
    assert _chart_figures(customer_a.pk) == before
    assert sum(sum(counts.values()) for counts in before[1].values()) == 6
