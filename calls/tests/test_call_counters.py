"""calls.CallCounter: exact per-tenant counts kept by triggers, read by GET /calls, rebuilt by a command."""

import datetime
import random
import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from agents.services import agent_delete
from agents.tests.factories import AgentFactory
from calls.models import Call, CallCounter, CallDirection, CallStatus
from calls.tests.factories import CallFactory
from tenants.tests.factories import CustomerFactory
from testsupport.api import assert_success
from testsupport.threads import run_at_once

URL = "/api/v1/calls"
TRIGGERS = {"calls_call_count_insert", "calls_call_count_update", "calls_call_count_delete"}


def true_counts() -> dict[tuple, int]:
    """COUNT(*) per counter key, straight from the calls."""
    counts: dict[tuple, int] = {}
    for call in Call.objects.values_list("customer_id", "agent_id", "status", "direction", "is_simulation"):
        key = (call[0], call[1] or 0, *call[2:])
        counts[key] = counts.get(key, 0) + 1
    return counts


def stored_counts() -> dict[tuple, int]:
    """The counters, zero rows left out (a key whose calls all moved away keeps a 0 row)."""
    rows = CallCounter.objects.exclude(count=0)
    return {(c.customer_id, c.agent_id, c.status, c.direction, c.is_simulation): c.count for c in rows}


def assert_counters_exact() -> None:
    assert stored_counts() == true_counts()


@pytest.mark.django_db
def test_the_triggers_are_installed():
    # A migration that makes SQLite rebuild calls_call would silently drop them.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'calls_call'::regclass")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'calls_call'")
        names = {row[0] for row in cursor.fetchall()}
    assert names >= TRIGGERS


@pytest.mark.django_db
def test_every_kind_of_write_keeps_the_counters_exact(customer_a, customer_b):
    sales, support = AgentFactory(customer=customer_a), AgentFactory(customer=customer_a)
    first = CallFactory(agent=sales, status=CallStatus.RINGING)
    CallFactory(agent=support, direction=CallDirection.OUTBOUND, status=CallStatus.QUEUED)
    CallFactory(agent=AgentFactory(customer=customer_b))
    assert CallCounter.objects.get(customer_id=customer_a.id, agent_id=sales.id, status="ringing").count == 1
    assert_counters_exact()

    first.status = CallStatus.ACTIVE
    first.save(update_fields=["status"])  # a save
    assert_counters_exact()
    first.metadata = {"note": "not a key field"}
    first.save()  # a save that changes no key
    assert_counters_exact()

    Call.objects.filter(agent=support).update(status=CallStatus.COMPLETED)  # QuerySet.update
    assert_counters_exact()

    Call.objects.bulk_create(  # bulk_create: one statement, many rows
        [
            Call(customer=customer_a, agent=sales, direction="web", status="active", room_name=f"bulk-{i}",
                 started_at=timezone.now(), is_simulation=True)
            for i in range(5)
        ]
    )  # fmt: skip
    assert_counters_exact()

    with connection.cursor() as cursor:  # raw SQL, as an import script would
        cursor.execute("UPDATE calls_call SET direction = 'inbound' WHERE is_simulation")
    assert_counters_exact()

    agent_delete(agent=support)  # the calls' agent becomes NULL (on_delete=SET_NULL)
    assert Call.objects.filter(agent__isnull=True).count() == 1
    assert_counters_exact()

    first.delete()
    Call.objects.filter(pk__in=Call.objects.filter(is_simulation=True).values("pk")[:2]).delete()
    assert_counters_exact()

    customer_b.delete()  # the cascade deletes its calls; its counters drop to zero
    assert not CallCounter.objects.filter(customer_id=customer_b.id).exclude(count=0).exists()
    assert_counters_exact()


@pytest.mark.django_db
def test_a_failed_transaction_leaves_the_counters_untouched(customer_a):
    agent = AgentFactory(customer=customer_a)
    kept = CallFactory(agent=agent, status=CallStatus.RINGING)
    before = stored_counts()

    with pytest.raises(RuntimeError), transaction.atomic():
        CallFactory(agent=agent, status=CallStatus.FAILED)
        Call.objects.filter(pk=kept.pk).update(status=CallStatus.COMPLETED)
        kept_row = Call.objects.get(pk=kept.pk)
        kept_row.delete()
        assert stored_counts() != before  # the triggers did count inside the transaction
        raise RuntimeError("the write fails after the calls changed")

    assert stored_counts() == before
    assert_counters_exact()


@pytest.mark.django_db
def test_the_command_repairs_tampered_counters(customer_a, customer_b):
    agent = AgentFactory(customer=customer_a)
    CallFactory.create_batch(3, agent=agent, status=CallStatus.COMPLETED)
    CallFactory(agent=AgentFactory(customer=customer_b))
    CallCounter.objects.filter(customer_id=customer_a.id).update(count=99)  # drifted
    CallCounter.objects.filter(customer_id=customer_b.id).delete()  # lost
    CallCounter.objects.create(customer_id=uuid.uuid4(), status="active", direction="web", count=7)  # left over

    out = StringIO()
    call_command("rebuild_call_counters", "--customer", str(customer_a.id), stdout=out)
    assert out.getvalue().strip() == (
        f"Call counters rebuilt for customer {customer_a.id}: 3 call(s) counted, 1 counter(s) corrected."
    )
    assert CallCounter.objects.get(customer_id=customer_a.id).count == 3
    assert not CallCounter.objects.filter(customer_id=customer_b.id).exists()  # another customer: untouched

    out = StringIO()
    call_command("rebuild_call_counters", stdout=out)
    assert (
        out.getvalue().strip() == "Call counters rebuilt for every customer: 4 call(s) counted, 2 counter(s) corrected."
    )
    assert CallCounter.objects.exclude(count=0).count() == 2
    assert_counters_exact()


@pytest.mark.django_db
def test_the_command_refuses_an_unknown_customer():
    with pytest.raises(CommandError, match="--customer must be a customer's UUID, not 'acme'"):
        call_command("rebuild_call_counters", "--customer", "acme")
    missing = uuid.uuid4()
    with pytest.raises(CommandError, match=f"Customer {missing} does not exist"):
        call_command("rebuild_call_counters", "--customer", str(missing))


# --- Concurrency (PostgreSQL: SQLite serialises every writer anyway) ---------------------------

WRITERS = 8
OPERATIONS = 40


@pytest.mark.django_db(transaction=True)
def test_parallel_creates_status_changes_and_deletes_keep_the_counters_exact():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: concurrent writers (SQLite takes one writer at a time)")
    customer = CustomerFactory()
    agents = [AgentFactory(customer=customer) for _ in range(2)]
    statuses = [CallStatus.RINGING, CallStatus.ACTIVE, CallStatus.COMPLETED, CallStatus.FAILED]
    CallFactory.create_batch(20, agent=agents[0], status=CallStatus.RINGING)

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        for i in range(OPERATIONS):
            with transaction.atomic():
                action = rng.choice(["create", "create", "status", "status", "delete", "bulk"])
                if action == "create":
                    Call.objects.create(
                        customer=customer, agent=rng.choice(agents), direction=rng.choice(["inbound", "web"]),
                        status=rng.choice(statuses), room_name=f"race-{seed}-{i}", started_at=timezone.now(),
                    )  # fmt: skip
                elif action == "bulk":  # one statement moving many calls between keys
                    Call.objects.filter(customer=customer, status=rng.choice(statuses)).update(
                        status=rng.choice(statuses)
                    )
                else:
                    call = Call.objects.filter(customer=customer).order_by("?").select_for_update().first()
                    if call is None:
                        continue
                    if action == "delete":
                        call.delete()
                    else:
                        call.status = rng.choice(statuses)
                        call.agent = rng.choice(agents)
                        call.save(update_fields=["status", "agent"])

    run_at_once([lambda seed=seed: writer(seed) for seed in range(WRITERS)])
    assert Call.objects.filter(customer=customer).exists()
    assert_counters_exact()


# --- GET /calls pagination.total ---------------------------------------------------------------


def ago(**kwargs) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**kwargs)


@pytest.fixture
def history(customer_a, customer_b):
    """A mixed history: two agents, statuses, directions, a simulation, a call with no agent."""
    sales, support = AgentFactory(customer=customer_a), AgentFactory(customer=customer_a)
    rng = random.Random(7)
    for i in range(40):
        CallFactory(
            agent=rng.choice([sales, support]),
            status=rng.choice([CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.ACTIVE]),
            direction=rng.choice([CallDirection.INBOUND, CallDirection.OUTBOUND]),
            is_simulation=i % 9 == 0,
            started_at=ago(hours=i),
        )
    orphan = CallFactory(agent=sales, status=CallStatus.COMPLETED)
    Call.objects.filter(pk=orphan.pk).update(agent=None)
    CallFactory.create_batch(5, agent=AgentFactory(customer=customer_b), status=CallStatus.COMPLETED)
    return sales, support


FILTERS = [
    {},
    {"status": "failed"},
    {"status": "completed,failed"},
    {"agentId": "sales"},
    {"direction": "outbound"},
    {"simulation": "true"},
    {"status": "completed", "agentId": "support"},
    {"status": "active", "direction": "inbound"},
    {"agentId": "sales", "direction": "outbound"},
    {"status": "completed,active", "agentId": "sales", "direction": "inbound", "simulation": "false"},
]


def _expected(customer, filters, agents) -> int:
    calls = Call.objects.filter(customer=customer)
    if "status" in filters:
        calls = calls.filter(status__in=filters["status"].split(","))
    if "agentId" in filters:
        calls = calls.filter(agent=agents[filters["agentId"]])
    if "direction" in filters:
        calls = calls.filter(direction=filters["direction"])
    if "simulation" in filters:
        calls = calls.filter(is_simulation=filters["simulation"] == "true")
    return calls.count()


@pytest.mark.django_db
@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f) or "none")
def test_the_total_is_exact_for_every_filter_combination(alice_client, customer_a, history, filters):
    agents = dict(zip(("sales", "support"), history, strict=True))
    query = {k: (str(agents[v].id) if k == "agentId" else v) for k, v in filters.items()}
    expected = _expected(customer_a, filters, agents)

    data = assert_success(alice_client.get(URL, {**query, "limit": 7}), 200, "Calls retrieved successfully")

    assert data["pagination"] == {"page": 1, "limit": 7, "total": expected, "totalPages": -(-expected // 7)}
    assert len(data["calls"]) == min(7, expected)
    assert expected > 0


@pytest.mark.django_db
def test_the_total_comes_from_the_counters_and_date_ranges_count_rows(alice_client, customer_a, history):
    sales, _ = history
    real = Call.objects.filter(customer=customer_a).count()
    # Tamper with a counter: the totals the counters answer show it, the row counts do not.
    CallCounter.objects.filter(customer_id=customer_a.id, agent_id=sales.id).update(count=1000)
    tampered = sum(CallCounter.objects.filter(customer_id=customer_a.id).values_list("count", flat=True))

    assert assert_success(alice_client.get(URL), 200)["pagination"]["total"] == tampered
    after = (timezone.now() - datetime.timedelta(days=30)).isoformat()
    in_range = assert_success(alice_client.get(URL, {"startedAfter": after}), 200)["pagination"]["total"]
    assert in_range == real
    recent = ago(hours=10).isoformat()
    assert (
        assert_success(alice_client.get(URL, {"startedAfter": recent}), 200)["pagination"]["total"]
        == Call.objects.filter(customer=customer_a, started_at__gte=recent).count()
    )

    call_command("rebuild_call_counters", stdout=StringIO())
    assert assert_success(alice_client.get(URL), 200)["pagination"]["total"] == real


@pytest.mark.django_db
def test_another_tenants_calls_never_count(bob_client, customer_b, history):
    data = assert_success(bob_client.get(URL), 200, "Calls retrieved successfully")
    assert data["pagination"]["total"] == 5 == len(data["calls"])
    assert assert_success(bob_client.get(URL, {"agentId": history[0].id}), 200)["pagination"]["total"] == 0
