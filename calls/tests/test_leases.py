"""Capacity leases (calls/leases.py): limits, reserved inbound slots, heartbeats, expiry
and the sweeper. Runs on whichever backend the suite has: Redis with REDIS_URL (CI), the
in-process table without."""

import time

import pytest

from agents.tests.factories import AgentFactory
from analytics.rollups import REBUILD_LOCK_CLASS
from calls import leases
from calls.models import CallCapacity, CallDirection, CallStatus, EndReason
from calls.services import call_end
from calls.tasks import sweep_call_leases
from calls.tests.factories import CallFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def limited(customer_a):
    CallCapacity.objects.create(customer=customer_a, concurrency_limit=3, reserved_inbound_concurrency=1)
    return customer_a


def take(customer, call_id, direction=leases.OUTBOUND, **kwargs):
    return leases.acquire(customer_id=customer.pk, call_id=call_id, direction=direction, **kwargs)


def test_outbound_cannot_use_the_reserved_inbound_slots(limited):
    assert take(limited, 1) and take(limited, 2)
    assert not take(limited, 3)  # 3 - 1 reserved = 2 outbound
    assert take(limited, 4, leases.INBOUND)  # the reserved slot
    assert not take(limited, 5, leases.INBOUND)  # 3 in total
    assert leases.held(limited.pk) == {"inbound": ["call:4"], "outbound": ["call:1", "call:2"]}


def test_inbound_may_use_every_slot(limited):
    assert all(take(limited, n, leases.INBOUND) for n in (1, 2, 3))
    assert not take(limited, 4, leases.INBOUND) and not take(limited, 5)


def test_taking_the_same_lease_twice_holds_one_slot(limited):
    assert take(limited, 1) and take(limited, 1) and take(limited, 1)
    assert leases.in_use(limited.pk) == 1


def test_the_platform_defaults_apply_without_a_row(customer_a, settings):
    settings.CALL_CONCURRENCY_LIMIT, settings.CALL_RESERVED_INBOUND_CONCURRENCY = 1, 0
    assert take(customer_a, 1) and not take(customer_a, 2)


def test_zero_capacity_grants_nothing(customer_a):
    CallCapacity.objects.create(customer=customer_a, concurrency_limit=0)
    assert not take(customer_a, 1, leases.INBOUND) and not take(customer_a, 2)


@pytest.mark.parametrize("own_row", [True, False])
def test_the_capacity_read_can_take_the_rebuild_lock_in_the_same_statement(customer_a, settings, own_row):
    """What an inbound call does (calls.services._create_inbound): its capacity and the
    tenant's analytics rebuild lock, which counting the call needs next, in one round trip.
    The limits are the same as without the lock, with or without the customer's own row."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    settings.CALL_CONCURRENCY_LIMIT, settings.CALL_RESERVED_INBOUND_CONCURRENCY = 7, 2
    if own_row:
        CallCapacity.objects.create(customer=customer_a, concurrency_limit=3)
    expected = leases.Capacity(limit=3, reserved_inbound=2) if own_row else leases.Capacity(limit=7, reserved_inbound=2)
    assert leases.capacity_for(customer_a.pk) == expected
    with transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            assert leases.capacity_for(customer_a.pk, hold_rebuild_lock=True) == expected
        assert len(captured.captured_queries) == 1
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT mode FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND classid = %s",
                    [REBUILD_LOCK_CLASS],
                )
                assert cursor.fetchall() == [("ShareLock",)]  # held until the transaction ends


def test_a_lease_without_heartbeat_expires_and_its_slot_returns(limited, settings):
    now = time.time()
    assert take(limited, 1, now=now) and take(limited, 2, now=now)
    # The worker of call 1 keeps beating; call 2's worker was killed.
    later = now + settings.CALL_LEASE_TTL_SECONDS * 0.6
    assert leases.renew(customer_id=limited.pk, call_id=1, now=later)
    expired = now + settings.CALL_LEASE_TTL_SECONDS + 1
    assert leases.held(limited.pk, now=expired)["outbound"] == ["call:1"]
    assert take(limited, 3, now=expired)
    # A heartbeat after expiry says the lease is gone (the worker may not count on it).
    assert not leases.renew(customer_id=limited.pk, call_id=2, now=expired)


def test_releasing_is_idempotent(limited):
    take(limited, 1)
    leases.release(customer_id=limited.pk, call_id=1)
    leases.release(customer_id=limited.pk, call_id=1)
    leases.release(customer_id=limited.pk, call_id=99)
    assert leases.in_use(limited.pk) == 0


def test_ending_a_call_releases_its_lease(limited):
    call = CallFactory(agent=AgentFactory(customer=limited), status=CallStatus.ACTIVE)
    take(limited, call.id, leases.INBOUND)
    call_end(call=call, reason=EndReason.CALLER_HUNG_UP)
    assert leases.in_use(limited.pk) == 0


def test_the_sweeper_reclaims_leases_of_calls_that_ended_without_releasing(limited):
    open_call = CallFactory(agent=AgentFactory(customer=limited), status=CallStatus.ACTIVE)
    ended = CallFactory(agent=open_call.agent, status=CallStatus.COMPLETED, direction=CallDirection.OUTBOUND)
    take(limited, open_call.id, leases.INBOUND)
    take(limited, ended.id)  # its release was lost (Redis blip, crash after commit)
    take(limited, 987654321)  # a call that no longer exists
    assert sweep_call_leases.apply().get() >= 2
    assert leases.held(limited.pk) == {"inbound": [f"call:{open_call.id}"], "outbound": []}


def test_the_sweeper_drops_expired_leases(limited, settings):
    call = CallFactory(agent=AgentFactory(customer=limited), status=CallStatus.ACTIVE)
    past = time.time() - settings.CALL_LEASE_TTL_SECONDS - 5
    take(limited, call.id, now=past)
    leases.sweep()
    assert leases.in_use(limited.pk) == 0
