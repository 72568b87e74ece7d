"""GET /analytics/calls against hand-computed figures, across time zones and DST."""

import pytest

from agents.tests.factories import AgentFactory
from analytics.models import CallRollup
from analytics.rollups import rollups_rebuild
from calls.models import CallStatus, EndReason
from testsupport.api import assert_error, assert_success

from .helpers import make_call
from .helpers import utc as make_utc

URL = "/api/v1/analytics/calls"
pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(customer_a):
    return AgentFactory(customer=customer_a, name="Front desk")


@pytest.fixture
def dst_calls(agent, customer_a):
    """New York springs forward on 2026-03-08 (a 23-hour day: 05:00Z to 04:00Z).

    | call | starts (UTC)      | New York day | UTC day | outcome                         |
    | 1    | 03-08 04:30       | 03-07        | 03-08   | completed, 60 s, $0.50, passed  |
    | 2    | 03-08 05:10       | 03-08        | 03-08   | transferred, 120 s, $0.25, fail |
    | 3    | 03-09 03:50       | 03-08        | 03-09   | failed (error), never answered  |
    | 4    | 03-09 04:05       | 03-09        | 03-09   | no answer                       |
    """
    customer_a.settings = {"timezone": "America/New_York"}
    customer_a.save()
    return [
        make_call(agent, "2026-03-08T04:30:00Z", duration=60, cost="0.50", successful=True),
        make_call(
            agent, "2026-03-08T05:10:00Z", duration=120, reason=EndReason.TRANSFERRED, cost="0.25", successful=False
        ),
        make_call(agent, "2026-03-09T03:50:00Z", duration=None, status=CallStatus.FAILED, reason=EndReason.ERROR),
        make_call(agent, "2026-03-09T04:05:00Z", duration=None, status=CallStatus.NO_ANSWER, reason="no_answer"),
    ]


def test_it_buckets_days_in_the_tenants_time_zone_across_spring_forward(alice_client, dst_calls):
    data = assert_success(
        alice_client.get(URL, {"from": "2026-03-07", "to": "2026-03-09"}), 200, "Call analytics retrieved successfully"
    )
    days = {item["localStart"]: item for item in data["series"]}
    assert list(days) == ["2026-03-07T00:00:00-05:00", "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00"]
    assert [item["bucket"] for item in data["series"]] == [
        "2026-03-07T05:00:00.000Z",
        "2026-03-08T05:00:00.000Z",
        "2026-03-09T04:00:00.000Z",
    ]
    assert days["2026-03-07T00:00:00-05:00"] == {
        "bucket": "2026-03-07T05:00:00.000Z",
        "localStart": "2026-03-07T00:00:00-05:00",
        "total": 1,
        "completed": 1,
        "failed": 0,
        "transferred": 0,
        "noAnswer": 0,
        "avgDurationSeconds": 60.0,
        "totalMinutes": 1.0,
        "successRate": 1.0,
        "cost": 0.5,
    }
    march_8 = days["2026-03-08T00:00:00-05:00"]
    assert (march_8["total"], march_8["completed"], march_8["failed"], march_8["transferred"]) == (2, 1, 1, 1)
    assert march_8["avgDurationSeconds"] == 120.0 and march_8["totalMinutes"] == 2.0
    assert march_8["successRate"] == 0.0 and march_8["cost"] == 0.25
    march_9 = days["2026-03-09T00:00:00-04:00"]
    assert (march_9["total"], march_9["noAnswer"], march_9["avgDurationSeconds"], march_9["successRate"]) == (
        1,
        1,
        None,
        None,
    )
    assert data["totals"] == {
        "total": 4,
        "completed": 2,
        "failed": 1,
        "transferred": 1,
        "noAnswer": 1,
        "avgDurationSeconds": 90.0,
        "totalMinutes": 3.0,
        "successRate": 0.5,
        "cost": 0.75,
    }
    assert data["byStatus"] == {"open": 0, "completed": 2, "failed": 1, "no_answer": 1, "busy": 0, "canceled": 0}
    assert data["byEndReason"]["transferred"] == 1 and data["byEndReason"]["caller_hung_up"] == 1
    assert data["byEndReason"]["error"] == 1 and data["byEndReason"]["no_answer"] == 1
    assert sum(data["byEndReason"].values()) == 4


def test_the_same_calls_bucket_differently_in_utc(alice_client, dst_calls):
    data = assert_success(alice_client.get(URL, {"from": "2026-03-08", "to": "2026-03-09", "timezone": "UTC"}), 200)
    assert [(item["localStart"], item["total"]) for item in data["series"]] == [
        ("2026-03-08T00:00:00+00:00", 2),
        ("2026-03-09T00:00:00+00:00", 2),
    ]


def test_a_half_hour_zone_splits_one_utc_hour_at_local_midnight(alice_client, agent):
    # 18:20Z and 18:35Z share a UTC hour; in Kolkata (+05:30) they are 23:50 and 00:05.
    make_call(agent, "2026-03-08T18:20:00Z")
    make_call(agent, "2026-03-08T18:35:00Z")
    make_call(agent, "2026-03-08T18:40:00Z")
    data = assert_success(
        alice_client.get(URL, {"from": "2026-03-08", "to": "2026-03-09", "timezone": "Asia/Kolkata"}), 200
    )
    assert [(item["localStart"], item["total"]) for item in data["series"]] == [
        ("2026-03-08T00:00:00+05:30", 1),
        ("2026-03-09T00:00:00+05:30", 2),
    ]
    # Nepal is +05:45: 18:20Z is 00:05 on the 9th there, and so are the others.
    data = assert_success(
        alice_client.get(URL, {"from": "2026-03-08", "to": "2026-03-09", "timezone": "Asia/Kathmandu"}), 200
    )
    assert [item["total"] for item in data["series"]] == [0, 3]


def test_fall_back_day_has_25_hourly_buckets(alice_client, agent, customer_a):
    customer_a.settings = {"timezone": "America/New_York"}
    customer_a.save()
    # 05:30Z and 06:30Z are both 01:30 local (EDT, then EST): two different buckets.
    make_call(agent, "2026-11-01T05:30:00Z")
    make_call(agent, "2026-11-01T06:30:00Z")
    data = assert_success(alice_client.get(URL, {"from": "2026-11-01", "to": "2026-11-01", "interval": "hour"}), 200)
    assert len(data["series"]) == 25
    one_thirty = [item for item in data["series"] if item["localStart"].startswith("2026-11-01T01:00")]
    assert [(item["localStart"], item["total"]) for item in one_thirty] == [
        ("2026-11-01T01:00:00-04:00", 1),
        ("2026-11-01T01:00:00-05:00", 1),
    ]


def test_weeks_start_on_monday_local(alice_client, agent):
    make_call(agent, "2026-03-01T12:00:00Z")  # a Sunday: week of Mon 02-23
    make_call(agent, "2026-03-02T12:00:00Z")  # Monday
    make_call(agent, "2026-03-08T12:00:00Z")  # Sunday
    data = assert_success(
        alice_client.get(URL, {"from": "2026-02-23", "to": "2026-03-08", "interval": "week", "timezone": "UTC"}), 200
    )
    assert [(item["localStart"][:10], item["total"]) for item in data["series"]] == [
        ("2026-02-23", 1),
        ("2026-03-02", 2),
    ]


def test_filters_by_agent_and_direction_and_breaks_down_by_agent(alice_client, agent, customer_a):
    other = AgentFactory(customer=customer_a, name="Sales")
    make_call(agent, "2026-03-10T10:00:00Z", direction="inbound")
    make_call(agent, "2026-03-10T11:00:00Z", direction="outbound")
    make_call(other, "2026-03-10T12:00:00Z", direction="outbound", duration=30)
    params = {"from": "2026-03-10", "to": "2026-03-10", "timezone": "UTC"}
    data = assert_success(alice_client.get(URL, params), 200)
    assert [(a["agentId"], a["agentName"], a["total"]) for a in data["byAgent"]] == [
        (agent.id, "Front desk", 2),
        (other.id, "Sales", 1),
    ]
    only = assert_success(alice_client.get(URL, {**params, "agentId": other.id}), 200)
    assert only["totals"]["total"] == 1 and only["totals"]["avgDurationSeconds"] == 30.0
    outbound = assert_success(alice_client.get(URL, {**params, "direction": "outbound"}), 200)
    assert outbound["totals"]["total"] == 2


def test_open_calls_count_then_move_when_they_end(alice_client, agent):
    call = make_call(agent, "2026-03-10T10:00:00Z", open_call=True)
    params = {"from": "2026-03-10", "to": "2026-03-10", "timezone": "UTC"}
    assert assert_success(alice_client.get(URL, params), 200)["byStatus"]["open"] == 1
    from calls import services

    services.call_end(call=call, reason=EndReason.AGENT_ENDED, teardown=services.TEARDOWN_NONE)
    data = assert_success(alice_client.get(URL, params), 200)
    assert data["byStatus"]["open"] == 0 and data["byStatus"]["completed"] == 1
    assert data["totals"]["total"] == 1


def test_simulations_are_apart_unless_asked(alice_client, agent):
    from analytics.rollups import call_changed
    from calls.tests.factories import CallFactory

    sim = CallFactory(agent=agent, is_simulation=True, direction="web")
    call_changed(sim)
    day = sim.started_at.date().isoformat()
    params = {"from": day, "to": day, "timezone": "UTC"}
    assert assert_success(alice_client.get(URL, params), 200)["totals"]["total"] == 0
    assert assert_success(alice_client.get(URL, {**params, "simulation": "true"}), 200)["totals"]["total"] == 1


def test_rollups_equal_a_rebuild_from_the_calls(dst_calls, customer_a):
    def snapshot():
        rows = CallRollup.objects.filter(customer=customer_a).order_by("bucket", "agent_id", "direction")
        return [{k: v for k, v in row.__dict__.items() if k not in ("_state", "id")} for row in rows]

    kept = snapshot()
    assert rollups_rebuild(customer_id=customer_a.id) == 4
    assert snapshot() == kept


def test_another_tenants_calls_never_count(alice_client, bob_client, agent, bob, customer_b):
    make_call(agent, "2026-03-10T10:00:00Z")
    make_call(AgentFactory(customer=customer_b), "2026-03-10T10:00:00Z")
    make_call(AgentFactory(customer=customer_b), "2026-03-10T11:00:00Z")
    params = {"from": "2026-03-10", "to": "2026-03-10", "timezone": "UTC"}
    assert assert_success(alice_client.get(URL, params), 200)["totals"]["total"] == 1
    assert assert_success(bob_client.get(URL, params), 200)["totals"]["total"] == 2
    # Naming another tenant's agent shows nothing of it.
    assert assert_success(alice_client.get(URL, {**params, "agentId": 10**6}), 200)["totals"]["total"] == 0


def test_the_query_count_does_not_grow_with_calls(alice_client, agent, django_assert_max_num_queries):
    params = {"from": "2026-03-01", "to": "2026-03-31", "timezone": "UTC"}
    make_call(agent, "2026-03-10T10:00:00Z")
    with django_assert_max_num_queries(99) as captured:
        alice_client.get(URL, params)
    few = len(captured.captured_queries)
    for day in range(1, 29):
        make_call(AgentFactory(customer=agent.customer), f"2026-03-{day:02d}T10:00:00Z")
    with django_assert_max_num_queries(few):
        data = assert_success(alice_client.get(URL, params), 200)
    assert data["totals"]["total"] == 29


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "2026-03-10", "to": "2026-03-01"}, "to"),
        ({"from": "2025-01-01", "to": "2026-03-01"}, "to"),
        ({"from": "yesterday"}, "from"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"interval": "minute"}, "interval"),
        ({"agentId": "x"}, "agentId"),
    ],
)
def test_bad_queries_are_400s(alice_client, alice, params, field):
    body = assert_error(alice_client.get(URL, params), 400, fields=[field])
    assert body["errors"][0]["message"]


def test_members_may_read_and_strangers_may_not(api_client, charlie):
    from testsupport.api import client_for

    assert_success(client_for(charlie).get(URL), 200)
    assert_error(api_client.get(URL), 401)


def test_a_call_whose_start_moves_moves_to_its_new_bucket(alice_client, agent):
    from analytics.rollups import call_changed
    from calls.models import Call
    from calls.tests.factories import CallFactory

    # An outbound call queued on the 10th and dialed on the 11th counts on the 11th.
    call = CallFactory(agent=agent, status="queued", direction="outbound", started_at=make_utc("2026-03-10T10:00:00Z"))
    call_changed(call)
    Call.objects.filter(pk=call.pk).update(status="ringing", started_at=make_utc("2026-03-11T09:00:00Z"))
    call_changed(Call.objects.get(pk=call.pk))
    params = {"from": "2026-03-10", "to": "2026-03-11", "timezone": "UTC"}
    data = assert_success(alice_client.get(URL, params), 200)
    assert [item["total"] for item in data["series"]] == [0, 1]
    assert data["byStatus"]["open"] == 1
    assert CallRollup.objects.get(bucket=make_utc("2026-03-10T10:00:00Z")).calls == 0


def test_new_end_reasons_have_their_own_count(alice_client, agent):
    make_call(agent, "2026-03-10T10:00:00Z", duration=None, status="no_answer", reason="voicemail")
    data = assert_success(alice_client.get(URL, {"from": "2026-03-10", "to": "2026-03-10", "timezone": "UTC"}), 200)
    assert data["byEndReason"]["voicemail"] == 1 and data["byEndReason"]["other"] == 0


def test_the_day_rollups_answer_exactly_what_the_15_minute_rollups_do(dst_calls, customer_a, agent):
    import dataclasses
    import zoneinfo

    from analytics import selectors
    from analytics.models import CallDayRollup

    make_call(agent, "2026-03-02T23:59:00Z", latencies=[300, 700])
    tz = zoneinfo.ZoneInfo("America/New_York")
    query = selectors.AnalyticsQuery(
        customer_id=customer_a.id,
        start=make_utc("2026-03-01T05:00:00Z"),
        end=make_utc("2026-03-10T04:00:00Z"),
        tz=tz,
        interval="day",
        tenant_tz="America/New_York",
    )
    rollups = CallRollup.objects.all()
    assert selectors._source(rollups, query).field == "day"
    fine = dataclasses.replace(query, tenant_tz="UTC")  # not the day rows' zone: the 15-minute rows
    assert selectors._source(rollups, fine).field == "bucket"
    for interval in ("day", "week"):
        by_day = dataclasses.replace(query, interval=interval)
        by_bucket = dataclasses.replace(fine, interval=interval)
        assert selectors.calls_analytics(rollups, by_day) == selectors.calls_analytics(rollups, by_bucket)
        assert selectors.latency_analytics(rollups, by_day) == selectors.latency_analytics(rollups, by_bucket)
    assert CallDayRollup.objects.filter(customer=customer_a, timezone="America/New_York").count() == 4


def test_a_new_time_zone_falls_back_until_rebuilt(alice_client, agent, customer_a):
    from analytics.models import CallDayRollup

    customer_a.settings = {"timezone": "America/New_York"}
    customer_a.save()
    make_call(agent, "2026-03-10T12:00:00Z")
    customer_a.settings = {"timezone": "Europe/Berlin"}
    customer_a.save()
    make_call(agent, "2026-03-11T12:00:00Z")
    params = {"from": "2026-03-10", "to": "2026-03-11"}
    assert assert_success(alice_client.get(URL, params), 200)["totals"]["total"] == 2
    rollups_rebuild(customer_id=customer_a.id)
    assert set(CallDayRollup.objects.filter(customer=customer_a).values_list("timezone", flat=True)) == {
        "Europe/Berlin"
    }
    assert assert_success(alice_client.get(URL, params), 200)["totals"]["total"] == 2
