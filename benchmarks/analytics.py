"""Analytics at scale: GET /analytics/calls and /analytics/latency over 90 days for a tenant
with 1M calls against the same query for a tenant with 10k calls, for every interval
(hour, day, week) in the organization's zone (America/New_York) and in two others
(Asia/Kolkata, +05:30; UTC). Target for every one: p50 ratio 1M / 10k <= 2.

    .venv/bin/python benchmarks/analytics.py [--rounds N]    # BENCH_QUICK=1: 20k vs 1k calls

--rounds N measures every query N times over the same data (built once: most of a run's
time) and prints each query's range of ratios last, to read the machine's noise from.

The calls (and two turns with latencies per answered call) are inserted with
INSERT ... SELECT over generate_series, then `manage.py rebuild_rollups --bulk` builds the
rollups from them exactly as the hook would have (the rebuild is timed too). Both tenants
spread their calls over the same 90 days, 3 agents and 2 directions.
"""

import argparse
import datetime
import io
import json
import time

from harness import compare, heading, print_ratio, setup_django, size, test_database

DAYS = 90
ZONES = ("America/New_York", "Asia/Kolkata", "UTC")


def _literal(field, value) -> str:
    """A column's default as SQL (the ORM fills defaults in Python, not in the database)."""
    from django.db import models

    if value is None:
        return "now()" if isinstance(field, models.DateTimeField) else "NULL"
    if isinstance(field, models.JSONField):
        return f"'{json.dumps(value)}'::jsonb"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _with_defaults(model, given: dict[str, str]) -> dict[str, str]:
    columns = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.column in given or field.null:
            continue
        columns[field.column] = _literal(field, field.get_default())
    return {**columns, **given}


def _sql(columns: dict[str, str]) -> str:
    return ", ".join(columns.values()).replace("%", "%%")  # the modulo operator, not a placeholder


def build_calls(customer, agents: list[int], count: int, label: str) -> None:
    """`count` calls spread evenly over the last 90 days: 80% completed (20-400 s, a fifth of
    them analysed), 15% unanswered, 5% failed; two turns with latencies per completed call."""
    from django.db import connection

    from calls.models import Call, TranscriptTurn

    seconds = DAYS * 86400 / count
    outcome = "CASE WHEN i % 20 = 0 THEN 'failed' WHEN i % 20 < 4 THEN 'no_answer' ELSE 'completed' END"
    start = f"now() - (i * {seconds}) * interval '1 second'"
    duration = "(20 + (i % 1000) * 7919 % 380)"
    calls = _with_defaults(
        Call,
        {
            "customer_id": f"'{customer.pk}'",
            "agent_id": f"(ARRAY{agents})[1 + i % 3]",
            "direction": "CASE WHEN i % 2 = 0 THEN 'inbound' ELSE 'outbound' END",
            "room_name": f"'bench-{label}-' || i",
            "status": outcome,
            "end_reason": "CASE WHEN i % 20 = 0 THEN 'error' WHEN i % 20 < 4 THEN 'no_answer' "
            "ELSE 'caller_hung_up' END",
            "started_at": start,
            "answered_at": f"CASE WHEN i % 20 >= 4 THEN {start} + interval '5 seconds' END",
            "ended_at": f"{start} + interval '10 minutes'",
            "duration": f"CASE WHEN i % 20 >= 4 THEN {duration} END",
            "cost": f"CASE WHEN i % 20 >= 4 THEN {duration} * 0.0005 END",
            "analysis": "CASE WHEN i % 20 >= 4 AND i % 5 = 0 THEN "
            "jsonb_build_object('status', 'done', 'successful', i % 3 > 0) END",
        },
    )
    turns = _with_defaults(
        TranscriptTurn,
        {
            "call_id": "c.id",
            "role": "'assistant'",
            "e2e_latency_ms": "400 + (c.id * 37 + k * 101) % 1600",
            "llm_ttft_ms": "150 + (c.id * 13 + k * 7) % 600",
            "tts_ttfb_ms": "100 + (c.id * 7 + k * 3) % 300",
            "end_of_turn_delay_ms": "200 + (c.id * 11 + k) % 500",
        },
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Call._meta.db_table} ({', '.join(calls)}) "  # noqa: S608 - script-defined SQL
            f"SELECT {_sql(calls)} FROM generate_series(1, %s) AS s(i)",
            [count],
        )
        cursor.execute(
            f"INSERT INTO {TranscriptTurn._meta.db_table} ({', '.join(turns)}) "  # noqa: S608
            f"SELECT {_sql(turns)} FROM {Call._meta.db_table} c, generate_series(1, 2) AS t(k) "
            "WHERE c.customer_id = %s AND c.status = 'completed'",
            [customer.pk],
        )
        cursor.execute(f"ANALYZE {Call._meta.db_table}")
        cursor.execute(f"ANALYZE {TranscriptTurn._meta.db_table}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="measure every query this many times")
    rounds = parser.parse_args().rounds
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Role
    from accounts.tests.factories import UserFactory
    from agents.tests.factories import AgentFactory
    from analytics.models import CallHourRollup, CallRollup
    from tenants.tests.factories import CustomerFactory
    from testsupport.api import client_for

    with test_database():
        owners = {}
        for label, count in (("10k", size(10_000, 1_000)), ("1M", size(1_000_000, 20_000))):
            customer = CustomerFactory(company_name=f"Bench {label}", settings={"timezone": ZONES[0]})
            owner = UserFactory(customer=customer, role=Role.OWNER, email=f"{label}@bench.example")
            agents = [AgentFactory(customer=customer).pk for _ in range(3)]
            started = time.perf_counter()
            build_calls(customer, agents, count, label)
            inserted = time.perf_counter()
            call_command("rebuild_rollups", "--bulk", "--customer", str(customer.pk), stdout=io.StringIO())
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            rebuilt = time.perf_counter()
            quarters = CallRollup.objects.filter(customer=customer).count()
            hours = CallHourRollup.objects.filter(customer=customer).count()
            print(
                f"{label}: {count} calls inserted in {inserted - started:.1f} s, rollups rebuilt in "
                f"{rebuilt - inserted:.1f} s ({quarters} 15-minute rows, {hours} hour rows)",
                flush=True,
            )
            owners[label] = owner

        end = datetime.datetime.now(datetime.UTC).date()
        first = (end - datetime.timedelta(days=DAYS - 1)).isoformat()
        ratios: dict[str, list[float]] = {}
        for round_number in range(1, rounds + 1):
            # Fresh access tokens each round: a round outlasts their lifetime.
            clients = {label: client_for(owner) for label, owner in owners.items()}
            for endpoint in ("calls", "latency"):
                for interval in ("hour", "day", "week"):
                    for zone in ZONES:
                        url = (
                            f"/api/v1/analytics/{endpoint}?from={first}&to={end.isoformat()}"
                            f"&interval={interval}&timezone={zone}"
                        )
                        heading(f"round {round_number}: /analytics/{endpoint}, 90 days, {interval=}, timezone={zone}")

                        def get(client, url=url):
                            response = client.get(url)
                            assert response.status_code == 200, response.content

                        stats = compare(
                            {label: (lambda client=client: get(client)) for label, client in clients.items()},
                            n=size(7, 3),
                            warmup=size(2, 1),
                            baseline="10k",
                        )
                        ratio = stats["1M"].p50 / stats["10k"].p50
                        ratios.setdefault(f"{endpoint} {interval} {zone}", []).append(ratio)
                        print(f"  p50 1M / 10k: {ratio:.2f}")
        heading(f"p50 ratio 1M / 10k, the worst of {rounds} round(s) against the target")
        results = []
        for label, values in ratios.items():
            spread = f" (rounds {min(values):.2f}-{max(values):.2f})" if rounds > 1 else ""
            results.append(print_ratio(f"{label} p50 1M / 10k{spread}", max(values), 2))
        print(f"\n{sum(results)} of {len(results)} queries within the target")


if __name__ == "__main__":
    main()
