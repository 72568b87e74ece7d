"""GET /analytics/calls against hand-computed figures, across time zones and DST."""

import datetime
import io

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


def test_hours_in_kolkata_start_half_past_the_utc_hour(alice_client, agent):
    # Kolkata is +05:30 (the organization's zone is UTC): 18:20Z is 23:50 on the 8th there,
    # 18:35Z and 19:29Z are in the 00:00 hour of the 9th, 19:31Z in its 01:00 hour.
    make_call(agent, "2026-03-08T18:20:00Z", duration=30, cost="0.10")
    make_call(agent, "2026-03-08T18:35:00Z", duration=60, cost="0.20")
    make_call(agent, "2026-03-08T19:29:00Z", duration=None, status=CallStatus.NO_ANSWER, reason="no_answer")
    make_call(agent, "2026-03-08T19:31:00Z", duration=90, reason=EndReason.TRANSFERRED)
    params = {"from": "2026-03-09", "to": "2026-03-09", "interval": "hour", "timezone": "Asia/Kolkata"}
    data = assert_success(alice_client.get(URL, params), 200)
    assert len(data["series"]) == 24
    first, second = data["series"][0], data["series"][1]
    assert first == {
        "bucket": "2026-03-08T18:30:00.000Z",
        "localStart": "2026-03-09T00:00:00+05:30",
        "total": 2,
        "completed": 1,
        "failed": 0,
        "transferred": 0,
        "noAnswer": 1,
        "avgDurationSeconds": 60.0,
        "totalMinutes": 1.0,
        "successRate": None,
        "cost": 0.2,
    }
    assert (second["localStart"], second["total"], second["transferred"], second["totalMinutes"]) == (
        "2026-03-09T01:00:00+05:30",
        1,
        1,
        1.5,
    )
    assert sum(item["total"] for item in data["series"]) == 3 == data["totals"]["total"]
    assert [(a["agentId"], a["total"]) for a in data["byAgent"]] == [(agent.id, 3)]


def test_new_york_hours_across_spring_forward_from_another_zones_organization(alice_client, agent, customer_a):
    customer_a.settings = {"timezone": "Asia/Tokyo"}  # not New York: no day rows to read
    customer_a.save()
    # 2026-03-08 in New York: 01:59 EST is followed by 03:00 EDT, a 23-hour day.
    make_call(agent, "2026-03-08T06:30:00Z")  # 01:30 EST
    make_call(agent, "2026-03-08T07:10:00Z", direction="outbound")  # 03:10 EDT
    make_call(agent, "2026-03-09T03:59:00Z")  # 23:59 EDT
    params = {"from": "2026-03-08", "to": "2026-03-08", "timezone": "America/New_York"}
    hours = assert_success(alice_client.get(URL, {**params, "interval": "hour"}), 200)["series"]
    assert len(hours) == 23
    busy = [(item["localStart"], item["bucket"], item["total"]) for item in hours if item["total"]]
    assert busy == [
        ("2026-03-08T01:00:00-05:00", "2026-03-08T06:00:00.000Z", 1),
        ("2026-03-08T03:00:00-04:00", "2026-03-08T07:00:00.000Z", 1),
        ("2026-03-08T23:00:00-04:00", "2026-03-09T03:00:00.000Z", 1),
    ]
    days = assert_success(alice_client.get(URL, params), 200)
    assert [(item["localStart"], item["total"]) for item in days["series"]] == [("2026-03-08T00:00:00-05:00", 3)]
    outbound = assert_success(alice_client.get(URL, {**params, "interval": "hour", "direction": "outbound"}), 200)
    assert [item["total"] for item in outbound["series"]][2] == 1 and outbound["totals"]["total"] == 1


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


def test_rollups_equal_a_rebuild_from_the_calls(dst_calls, customer_a, agent):
    from django.core.management import call_command

    from analytics.models import CallDayRollup, CallFact, CallHourRollup

    make_call(agent, "2026-03-09T10:00:00Z", latencies=[310, 1234], direction="outbound")

    def snapshot():
        rows = []
        for model in (CallRollup, CallDayRollup, CallHourRollup):
            for row in model.objects.filter(customer=customer_a).order_by(*[f.name for f in model._meta.fields][1:]):
                rows.append({k: v for k, v in row.__dict__.items() if k not in ("_state", "id")})
        facts = CallFact.objects.filter(call__customer=customer_a).order_by("call_id")
        fields = ("call_id", "status", "cost", "latency", "in_hour_rollups", "rollup__bucket", "day_rollup__day")
        return rows, list(facts.values_list(*fields))

    kept = snapshot()
    assert {row["phase"] for row in kept[0] if "phase" in row} == {0, 15, 30, 45}
    assert rollups_rebuild(customer_id=customer_a.id) == 5
    assert snapshot() == kept
    call_command("rebuild_rollups", "--bulk", "--customer", str(customer_a.id), stdout=io.StringIO())
    assert snapshot() == kept


def test_calls_added_together_count_as_a_rebuild_does(customer_a, customer_b, agent):
    """A batch of new calls (a dialer tick) across tenants, zones, agents, buckets and
    directions: each fact points at its own 15-minute and day rows (on PostgreSQL they are
    matched by key in the one statement that writes them) and the rows add up."""
    from analytics.models import CallDayRollup, CallFact, CallHourRollup
    from analytics.rollups import calls_added
    from calls.tests.factories import CallFactory

    customer_a.settings = {"timezone": "Asia/Kolkata"}
    customer_a.save()
    agents = [agent, AgentFactory(customer=customer_a), AgentFactory(customer=customer_b)]
    calls = [
        CallFactory(
            agent=agents[index % 3],
            customer=agents[index % 3].customer,
            status=CallStatus.QUEUED if index % 2 else CallStatus.RINGING,
            direction="outbound" if index % 2 else "inbound",
            started_at=make_utc("2026-03-09T18:20:00Z") + datetime.timedelta(minutes=7 * index),
        )
        for index in range(12)
    ]
    calls_added(calls)

    def snapshot():
        rows = []
        for model in (CallRollup, CallDayRollup, CallHourRollup):
            for row in model.objects.order_by(*[f.name for f in model._meta.fields][1:]):
                rows.append({k: v for k, v in row.__dict__.items() if k not in ("_state", "id")})
        fields = ("call_id", "status", "in_hour_rollups", "rollup__bucket", "rollup__agent_id", "day_rollup__day")
        return rows, list(CallFact.objects.order_by("call_id").values_list(*fields, "day_rollup__timezone"))

    kept = snapshot()
    assert len(kept[1]) == 12 and {fact[5] for fact in kept[1]} == {
        datetime.date(2026, 3, 9),
        datetime.date(2026, 3, 10),
    }
    rollups_rebuild(customer_id=customer_a.id)
    rollups_rebuild(customer_id=customer_b.id)
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


def _only_15_minute_rows(monkeypatch):
    """Answers from the 15-minute rows alone: the reference every coarser source must equal."""
    from analytics import selectors

    monkeypatch.setattr(selectors, "_day_rows", lambda query: None)
    monkeypatch.setattr(selectors, "_plan", lambda query: selectors._Plan({}, [(query.start, query.end)]))


@pytest.mark.parametrize(
    "zone, phase",
    [
        ("America/New_York", 0),  # the day rows for day/week, hours at :00 otherwise
        ("UTC", 0),
        ("Asia/Kolkata", 30),
        ("Asia/Kathmandu", 15),
        ("Australia/Lord_Howe", 0),  # +11:00 in summer (:00), +10:30 from April 5th (:30)
    ],
)
def test_every_source_answers_what_the_15_minute_rows_do(dst_calls, customer_a, agent, monkeypatch, zone, phase):
    import dataclasses
    import zoneinfo

    from analytics import selectors

    make_call(agent, "2026-03-02T23:59:00Z", latencies=[300, 700])
    make_call(agent, "2026-04-04T15:20:00Z", latencies=[450], direction="outbound")  # Lord Howe's fall-back day
    make_call(AgentFactory(customer=customer_a), "2026-04-05T14:50:00Z", latencies=[1234, 2222])
    rollups = CallRollup.objects.all()
    tz = zoneinfo.ZoneInfo(zone)
    whole_days = selectors.AnalyticsQuery(
        customer_id=customer_a.id,
        start=datetime.datetime(2026, 3, 1, tzinfo=tz).astimezone(datetime.UTC),
        end=datetime.datetime(2026, 4, 7, tzinfo=tz).astimezone(datetime.UTC),
        tz=tz,
        tenant_tz="America/New_York",
    )
    to_the_minute = dataclasses.replace(whole_days, start=make_utc("2026-03-02T23:45:00Z"))
    queries = [
        dataclasses.replace(query, interval=interval, **filters)
        for query in (whole_days, to_the_minute)
        for interval in ("hour", "day", "week")
        for filters in ({}, {"agent_id": agent.id}, {"direction": "outbound"})
    ]
    assert phase in selectors._plan(dataclasses.replace(whole_days, interval="hour")).hours
    answers = [(selectors.calls_analytics(rollups, q), selectors.latency_analytics(rollups, q)) for q in queries]
    # Lord Howe: :00 until its fall back on April 5th, then :30.
    assert sorted(selectors._plan(dataclasses.replace(whole_days, interval="day")).hours) == (
        [0, 30] if zone == "Australia/Lord_Howe" else [phase]
    )
    _only_15_minute_rows(monkeypatch)
    reference = [(selectors.calls_analytics(rollups, q), selectors.latency_analytics(rollups, q)) for q in queries]
    for query, answer, expected in zip(queries, answers, reference, strict=True):
        assert answer == expected, query
    assert answers[0][0]["totals"]["total"] == 7


def test_hours_in_lord_howe_follow_its_half_hour_dst_changes(customer_a, agent):
    """Lord Howe's clocks move by 30 minutes: every call lands in the local hour that holds
    it, across the April fall-back (a 90-minute 01:00) and the October spring-forward
    (a 30-minute 02:30), and the series adds up to the totals."""
    import zoneinfo

    from analytics import selectors

    tz = zoneinfo.ZoneInfo("Australia/Lord_Howe")
    calls = {
        "2026-04-04T14:40:00Z": "2026-04-05T01:00:00+11:00",  # 01:40 summer time
        "2026-04-04T15:20:00Z": "2026-04-05T01:00:00+11:00",  # 01:50 again, winter time
        "2026-04-04T15:40:00Z": "2026-04-05T02:00:00+10:30",  # 02:10, on the :30 phase
        "2026-04-04T18:45:00Z": "2026-04-05T05:00:00+10:30",
        "2026-10-03T15:40:00Z": "2026-10-04T02:30:00+11:00",  # 02:10 winter is 02:40 summer
        "2026-10-03T16:10:00Z": "2026-10-04T03:00:00+11:00",
    }
    for started in calls:
        make_call(agent, started)
    rollups = CallRollup.objects.all()
    for day in ("2026-04-05", "2026-10-04"):
        query = selectors.AnalyticsQuery(
            customer_id=customer_a.id,
            start=datetime.datetime.fromisoformat(day).replace(tzinfo=tz).astimezone(datetime.UTC),
            end=(datetime.datetime.fromisoformat(day) + datetime.timedelta(days=1))
            .replace(tzinfo=tz)
            .astimezone(datetime.UTC),
            tz=tz,
            tenant_tz="Australia/Lord_Howe",
            interval="hour",
        )
        answer = selectors.calls_analytics(rollups, query)
        counted = {row["localStart"]: row["total"] for row in answer["series"] if row["total"]}
        expected: dict[str, int] = {}
        for started, bucket in calls.items():
            if started[:10] in (day, str(datetime.date.fromisoformat(day) - datetime.timedelta(days=1))):
                expected[bucket] = expected.get(bucket, 0) + 1
        assert counted == expected, day
        assert sum(row["total"] for row in answer["series"]) == answer["totals"]["total"] == sum(expected.values())


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
