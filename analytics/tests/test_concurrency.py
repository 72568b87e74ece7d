"""Rollups under concurrent call writes (PostgreSQL: real row and advisory locks)."""

import pytest
from django.db import connection, transaction

from agents.tests.factories import AgentFactory
from analytics.models import ALL_AGENTS, ALL_DIRECTIONS, CallDayRollup, CallHourRollup, CallRollup
from analytics.rollups import call_changed, calls_added, rollups_rebuild_bulk
from calls import services
from calls.models import CallStatus, EndReason
from calls.tests.factories import CallFactory
from testsupport.threads import run_at_once

from .helpers import utc

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row and advisory locks need PostgreSQL"),
]


def _end(call):
    services.call_end(call=call, reason=EndReason.AGENT_ENDED, teardown=services.TEARDOWN_NONE)


def _figures():
    rows = []
    for model in (CallRollup, CallDayRollup, CallHourRollup):
        for row in model.objects.order_by("pk"):
            key = tuple(getattr(row, name) for name in ("bucket", "day", "phase", "hour") if hasattr(row, name))
            rows.append((model.__name__, key, row.agent_id, row.direction, row.calls, row.status_completed))
    return sorted(rows)


def _hour_figures(*, phase):
    """(calls, completed, still open) of the hour rollup row of every agent and direction."""
    everyone = CallHourRollup.objects.get(phase=phase, agent_id=ALL_AGENTS, direction=ALL_DIRECTIONS)
    return everyone.calls, everyone.status_completed, everyone.status_open


def _assert_a_rebuild_finds_the_same(customer):
    """The rollups the concurrent writes left are what a bulk rebuild from the calls makes:
    nothing counted twice or lost."""
    kept = _figures()
    rollups_rebuild_bulk(customer_id=customer.id)
    assert _figures() == kept


def _open_calls(customer, count):
    agents = [AgentFactory(customer=customer), AgentFactory(customer=customer)]
    calls = []
    for index in range(count):
        call = CallFactory(
            agent=agents[index % 2],
            customer=customer,
            status=CallStatus.ACTIVE,
            started_at=utc(f"2026-03-10T10:{index * 5:02d}:00Z"),
            answered_at=utc(f"2026-03-10T10:{index * 5:02d}:05Z"),
        )
        call_changed(call)
        calls.append(call)
    return calls


def test_calls_ending_at_once_in_one_hour_count_once_each(customer_a):
    calls = _open_calls(customer_a, 8)
    run_at_once([lambda call=call: _end(call) for call in calls])
    assert _hour_figures(phase=0) == (8, 8, 0)
    _assert_a_rebuild_finds_the_same(customer_a)


def test_writes_during_a_bulk_rebuild_wait_for_it_and_count_once(customer_a):
    calls = _open_calls(customer_a, 6)
    actions = [lambda: rollups_rebuild_bulk(customer_id=customer_a.id)]
    actions += [lambda call=call: _end(call) for call in calls]
    run_at_once(actions)
    assert _hour_figures(phase=30) == (6, 6, 0)
    _assert_a_rebuild_finds_the_same(customer_a)


def test_calls_created_at_once_in_one_bucket_count_once_each(customer_a):
    """New calls are counted by upserts that add to the rows (no read-then-write): parallel
    writers of the same rows must neither lose a count nor deadlock."""
    agents = [AgentFactory(customer=customer_a), AgentFactory(customer=customer_a)]
    calls = [
        CallFactory(
            agent=agents[index % 2],
            customer=customer_a,
            status=CallStatus.RINGING,
            started_at=utc(f"2026-03-10T10:{index:02d}:00Z"),
        )
        for index in range(10)
    ]

    def count(call):
        with transaction.atomic():
            calls_added([call])

    run_at_once([lambda call=call: count(call) for call in calls])
    assert _hour_figures(phase=0) == (10, 0, 10)
    quarter = CallRollup.objects.filter(bucket=utc("2026-03-10T10:00:00Z"))
    assert sorted(row.calls for row in quarter) == [5, 5]
    _assert_a_rebuild_finds_the_same(customer_a)


def _new_calls(customer, count):
    agents = list(customer.agents.order_by("pk")[:2])
    return [
        CallFactory(
            agent=agents[index % 2],
            customer=customer,
            status=CallStatus.RINGING,
            started_at=utc(f"2026-03-10T10:{index * 5 + 2:02d}:00Z"),
        )
        for index in range(count)
    ]


def test_calls_added_and_calls_ending_at_once_on_the_same_rows_count_once_each(customer_a):
    """On PostgreSQL a new call's rows are written by one statement whose WITH queries run in
    `call_changed`'s table order: writers of both kinds on the same rows add up and never
    deadlock (a deadlock would fail one of them)."""
    ending = _open_calls(customer_a, 6)
    added = _new_calls(customer_a, 6)

    def count(call):
        with transaction.atomic():
            calls_added([call])

    actions = [lambda call=call: _end(call) for call in ending]
    actions += [lambda call=call: count(call) for call in added]
    run_at_once(actions)
    assert _hour_figures(phase=0) == (12, 6, 6)
    _assert_a_rebuild_finds_the_same(customer_a)


def test_new_calls_locked_with_their_capacity_read_wait_for_a_bulk_rebuild(customer_a):
    """An inbound call takes the rebuild lock with its capacity read (calls.leases) and then
    counts itself without taking it again (calls.services._create_inbound): still kept
    apart from a bulk rebuild, which counts it once either way."""
    from calls import leases

    _open_calls(customer_a, 4)
    agent = customer_a.agents.order_by("pk").first()

    def start_call(minute):
        with transaction.atomic():  # the call row and its counting commit together, as in the service
            call = CallFactory(
                agent=agent,
                customer=customer_a,
                status=CallStatus.RINGING,
                started_at=utc(f"2026-03-10T10:{minute:02d}:00Z"),
            )
            leases.capacity_for(customer_a.pk, hold_rebuild_lock=True)
            calls_added([call], customer=customer_a, rebuild_locked=True)

    actions = [lambda: rollups_rebuild_bulk(customer_id=customer_a.id)]
    actions += [lambda minute=minute: start_call(minute) for minute in (2, 17, 32, 47)]
    run_at_once(actions)
    assert _hour_figures(phase=0) == (8, 0, 8)
    _assert_a_rebuild_finds_the_same(customer_a)
