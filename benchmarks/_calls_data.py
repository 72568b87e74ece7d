"""The calls benchmarks' data set: built once, kept, reused (`make bench` skips this file).

A million calls take a minute or two to insert and index, so calls_list.py and
call_detail.py keep them in their own database, `<DATABASE_URL's name>_calls_bench`,
migrated to the code being measured on every run, and rebuild the data only when the
marker row (the data set's description) differs. `BENCH_REBUILD=1` forces a rebuild.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from harness import QUICK, insert_series

BIG = 100_000 if QUICK else 1_000_000
SMALL = 10_000
AGENTS = 10
TURNS = 1000
MARKER = f"calls-v1 big={BIG}x2 small={SMALL} agents={AGENTS} turns={TURNS}"
# i -> status: 14/20 completed, 2/20 failed, 2/20 no_answer, 1/20 busy, 1/20 canceled.
STATUS_SQL = (
    "(ARRAY['completed','completed','completed','completed','completed','completed','completed',"
    "'completed','completed','completed','completed','completed','completed','completed','failed','failed',"
    "'no_answer','no_answer','busy','canceled'])[1 + i %% 20]"
)


@dataclass
class Tenant:
    customer_id: str
    owner_id: str
    agent_ids: list[int]
    calls: int


@dataclass
class DataSet:
    big: Tenant
    other: Tenant
    small: Tenant
    detail_call_id: int


def use_kept_database() -> str:
    """Points Django at the kept benchmark database (created if missing) and migrates it."""
    import psycopg
    from django.core.management import call_command
    from django.db import connection

    base = connection.settings_dict["NAME"]
    name = f"{base}_calls_bench"
    params = {k: v for k, v in {
        "host": connection.settings_dict["HOST"], "port": connection.settings_dict["PORT"],
        "user": connection.settings_dict["USER"], "password": connection.settings_dict["PASSWORD"],
    }.items() if v}  # fmt: skip
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    connection.settings_dict["NAME"] = name
    call_command("migrate", verbosity=0, interactive=False)
    return name


def _call_columns(customer_id: str, agents: list[int], prefix: str) -> dict[str, str]:
    """Every NOT NULL column of calls_call as an SQL expression of i (no DB defaults in Django).
    `%%` is SQL's modulo: insert_series sends the expressions with parameters."""
    agent_array = "ARRAY[" + ",".join(str(a) for a in agents) + "]::bigint[]"
    return {
        "created_at": "now() - i * interval '30 seconds'",
        "updated_at": "now() - i * interval '30 seconds'",
        "customer_id": f"'{customer_id}'::uuid",
        "agent_id": f"({agent_array})[1 + i %% {len(agents)}]",
        "mode": "'voice'",
        "direction": "(ARRAY['inbound','inbound','outbound'])[1 + i %% 3]",
        "from_number": "'+14155550199'",
        "to_number": "'+14155550100'",
        "carrier": "''",
        "carrier_call_id": "''",
        "room_name": f"'{prefix}-' || i",
        "is_simulation": "i %% 50 = 0",
        "status": STATUS_SQL,
        "end_reason": "''",
        "error_message": "''",
        "started_at": "now() - i * interval '30 seconds'",
        "duration": "60 + i %% 300",
        "cost_currency": "'USD'",
        "recording_status": "''",
        "recording_egress_id": "''",
        "recording_key": "''",
        "recording_error": "''",
        "metadata": "'{}'::jsonb",
        "answered_by": "''",
    }


def _tenant(name: str, calls: int) -> Tenant:
    from accounts.tests.factories import UserFactory
    from agents.tests.factories import AgentFactory
    from tenants.tests.factories import CustomerFactory

    customer = CustomerFactory(company_name=name)
    owner = UserFactory(customer=customer, role="owner", email=f"owner@{name}.bench.example")
    agents = [AgentFactory(customer=customer).id for _ in range(AGENTS)]
    insert_series("calls_call", calls, _call_columns(str(customer.id), agents, name))
    return Tenant(str(customer.id), str(owner.id), agents, calls)


def _turns(call_id: int) -> None:
    insert_series(
        "calls_transcriptturn",
        TURNS,
        {
            "call_id": str(call_id),
            "role": "(ARRAY['assistant','user'])[1 + i %% 2]",
            "content": "'Turn ' || i || ': the caller asks about the order and the agent answers in a sentence.'",
            "tool_name": "''",
            "interrupted": "false",
            "created_at": "now() - (2000 - i) * interval '1 second'",
            "e2e_latency_ms": "CASE WHEN i %% 2 = 1 THEN 700 + i %% 300 END",
            "llm_ttft_ms": "CASE WHEN i %% 2 = 1 THEN 300 + i %% 100 END",
            "prompt_tokens": "CASE WHEN i %% 2 = 1 THEN 500 + i END",
            "completion_tokens": "CASE WHEN i %% 2 = 1 THEN 40 END",
        },
    )


def data_set() -> DataSet:
    """The kept data set: built now if the marker says it is missing or another one."""
    from django.db import connection

    from calls.models import Call

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_marker (marker text PRIMARY KEY, payload jsonb)")
        cursor.execute("SELECT payload FROM bench_marker WHERE marker = %s", [MARKER])
        row = cursor.fetchone()
    if row and os.environ.get("BENCH_REBUILD", "") in ("", "0"):
        payload = json.loads(row[0]) if isinstance(row[0], str) else row[0]  # Django leaves jsonb as text
        return DataSet(
            big=Tenant(**payload["big"]),
            other=Tenant(**payload["other"]),
            small=Tenant(**payload["small"]),
            detail_call_id=payload["detail_call_id"],
        )
    print(f"building the data set ({MARKER}); kept for the next runs", flush=True)
    with connection.cursor() as cursor:  # whatever an older data set left
        cursor.execute("DELETE FROM bench_marker")
        cursor.execute("TRUNCATE tenants_customer CASCADE")
        if "calls_callcounter" in connection.introspection.table_names():
            cursor.execute("TRUNCATE calls_callcounter")
    big, other, small = _tenant("big", BIG), _tenant("other", BIG), _tenant("small", SMALL)
    detail = Call.objects.filter(customer_id=small.customer_id).order_by("-started_at").first()
    assert detail is not None
    _turns(detail.id)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # visibility map and statistics, as a settled table has
        payload = {"big": asdict(big), "other": asdict(other), "small": asdict(small), "detail_call_id": detail.id}
        cursor.execute("INSERT INTO bench_marker VALUES (%s, %s)", [MARKER, json.dumps(payload)])
    return DataSet(big, other, small, detail.id)
