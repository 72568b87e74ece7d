"""Every list endpoint's page query reads a tenant-leading index in the list's order.

The page query each request really sends (captured from the API call, parameters bound)
is EXPLAINed with sequential scans priced out (`enable_seqscan = off`): on a small test
table the planner would rightly scan the heap, and the question here is whether an index
exists that serves the filter *and* the ORDER BY, so no sort is needed. Bitmap scans and
sorts are priced out too: a plan that cannot do without a sort (no index yields the order)
still has its Sort node, and fails. PostgreSQL only: SQLite's
planner is not what production runs.
"""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Role, UserStatus
from accounts.tests.factories import UserFactory
from agents.models import AgentStatus
from agents.tests.factories import AgentFactory
from calls.models import Call, CallDirection, CallStatus
from calls.tests.factories import CallFactory
from telephony.tests.factories import PhoneNumberFactory
from tenants.models import CustomerStatus
from tenants.tests.factories import CustomerFactory
from testsupport.api import assert_success

pytestmark = pytest.mark.django_db
# Priced out, not forbidden: a plan that cannot do without a sort still has its Sort node.
PRICED_OUT = ("enable_seqscan", "enable_bitmapscan", "enable_sort", "enable_incremental_sort")
PAGE = 7  # a page size no other query of a request uses, to pick the page query out


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN plans are PostgreSQL's (production); SQLite plans prove nothing here")


BULK = 3000  # enough rows that a filter's own index beats filtering the history


def bulk_copies(call, count: int) -> None:
    """`count` copies of `call`, a minute apart, in one INSERT ... SELECT (realistic stats)."""
    columns = [f.column for f in Call._meta.concrete_fields if f.column not in ("id", "room_name", "started_at")]
    names = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO calls_call ({names}, room_name, started_at) "  # noqa: S608 - model columns
            f"SELECT {names}, room_name || '-' || i, now() - i * interval '1 minute' "
            "FROM calls_call, generate_series(1, %s) AS s(i) WHERE calls_call.id = %s",
            [count, call.id],
        )


@pytest.fixture
def data(customer_a, customer_b, alice):
    """Each tenant's history is mostly one agent's completed inbound calls and its team mostly
    active members; the filters pick the rare ones (another agent, failed, outbound, a
    number, simulations; a paused agent; an admin, a suspended user; a suspended tenant), as a real dashboard does."""
    rare = AgentFactory(customer=customer_a)
    number = PhoneNumberFactory(customer=customer_a, agent=rare)
    for customer in (customer_a, customer_b):
        bulk_copies(CallFactory(agent=AgentFactory(customer=customer), status=CallStatus.COMPLETED), BULK)
        UserFactory.create_batch(40, customer=customer, role=Role.MEMBER)
        UserFactory(customer=customer, role=Role.ADMIN, status=UserStatus.SUSPENDED)
    CallFactory(agent=rare, direction=CallDirection.OUTBOUND, status=CallStatus.FAILED)
    CallFactory(agent=rare, phone_number=number, status=CallStatus.FAILED)
    CallFactory(agent=rare, is_simulation=True, direction=CallDirection.WEB)
    AgentFactory.create_batch(20, customer=customer_a, status=AgentStatus.ACTIVE)
    AgentFactory(customer=customer_a, status=AgentStatus.PAUSED)
    CustomerFactory.create_batch(40)
    CustomerFactory(status=CustomerStatus.SUSPENDED)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"agent": rare.id, "number": number.id}


def page_plan(client, url: str, table: str) -> str:
    """The plan of the request's page query (the SELECT from `table` in the list's order)."""
    with CaptureQueriesContext(connection) as queries:
        assert_success(client.get(f"{url}{'&' if '?' in url else '?'}limit={PAGE}"), 200)
    pages = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"] and q["sql"].endswith(f" LIMIT {PAGE}")
    ]
    assert len(pages) == 1, [q["sql"] for q in queries.captured_queries]
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in PRICED_OUT:
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute(f"EXPLAIN {pages[0]}")
        return "\n".join(row[0] for row in cursor.fetchall())


TENANT_LISTS = [
    ("/api/v1/calls", "calls_call", "call_customer_started_idx"),
    ("/api/v1/calls?status=failed", "calls_call", "call_customer_status_idx"),
    ("/api/v1/calls?agentId={agent}", "calls_call", "call_customer_agent_idx"),
    ("/api/v1/calls?direction=outbound", "calls_call", "call_customer_direction_idx"),
    ("/api/v1/calls?phoneNumberId={number}", "calls_call", "call_customer_number_idx"),
    ("/api/v1/calls?simulation=true", "calls_call", "call_customer_sim_idx"),
    ("/api/v1/agents", "agents_agent", "agent_customer_created_idx"),
    ("/api/v1/agents?status=paused", "agents_agent", "agent_customer_status_list_idx"),
    ("/api/v1/phone-numbers", "telephony_phonenumber", "phone_customer_created_idx"),
    ("/api/v1/phone-numbers?agentId={agent}", "telephony_phonenumber", "phone_customer_agent_idx"),
    ("/api/v1/users", "accounts_user", "user_customer_created_idx"),
    ("/api/v1/users?role=admin", "accounts_user", "user_customer_role_idx"),
    ("/api/v1/users?status=suspended", "accounts_user", "user_customer_status_idx"),
]


@pytest.mark.parametrize(("url", "table", "index"), TENANT_LISTS, ids=[u for u, _, _ in TENANT_LISTS])
def test_each_tenant_list_pages_through_its_tenant_leading_index(alice_client, data, url, table, index):
    plan = page_plan(alice_client, url.format(**data), table)

    assert index in plan, plan
    assert "Sort" not in plan, plan  # the index yields the list's order


@pytest.mark.parametrize(
    ("url", "index"),
    [
        ("/api/v1/admin/customers", "customer_created_idx"),
        ("/api/v1/admin/customers?status=suspended", "customer_status_created_idx"),
    ],
)
def test_the_admin_tenant_list_pages_through_its_index(platform_admin_client, data, url, index):
    plan = page_plan(platform_admin_client, url, "tenants_customer")

    assert index in plan, plan


def test_a_date_range_total_counts_on_a_tenant_leading_index(alice_client, data):
    with CaptureQueriesContext(connection) as queries:
        page = assert_success(alice_client.get("/api/v1/calls?startedAfter=2020-01-01&status=failed"), 200)
    assert page["pagination"]["total"] == 2
    counts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
    assert len(counts) == 1
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {counts[0]}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "call_customer_status_idx" in plan, plan
