"""Analytics at scale: GET /analytics/calls and /analytics/latency over 90 days for a
tenant with 1M calls against the same query for a tenant with 10k calls. Served from
the 15-minute rollups, the cost follows the number of rollup rows in the range (at most
one per bucket, agent and direction), not the number of calls. Target: ratio <= 2.

    .venv/bin/python benchmarks/analytics.py [--small 10000] [--big 1000000] [--rounds 30]

Uses a throw-away test database (DATABASE_URL for PostgreSQL, as the tests). The rollup
rows are what `analytics.rollups.call_changed` writes for that many calls spread at
random over 90 days, 3 agents and 2 directions (built directly: a million calls through
the services would take hours and measure the writes, not the reads). Warm-up rounds,
then the two tenants interleaved; prints n, p50, p95 and the ratio last.
"""

import argparse
import datetime
import logging
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "morpheus.test_settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

DAYS = 90
STATUSES = [("completed", "caller_hung_up", 0.8), ("failed", "error", 0.05), ("no_answer", "no_answer", 0.15)]


def populate(customer, agents, calls: int, end: datetime.datetime, rng: random.Random) -> int:
    """Rollup rows for `calls` calls; returns how many rows."""
    from analytics.models import CallDayRollup, CallRollup
    from analytics.rollups import BUCKET, bucket_of, tenant_timezone

    first = bucket_of(end - datetime.timedelta(days=DAYS))
    buckets = int(datetime.timedelta(days=DAYS) / BUCKET)
    rows: dict = defaultdict(lambda: defaultdict(int))
    latency: dict = defaultdict(lambda: defaultdict(int))
    weights = [w for _, _, w in STATUSES]
    for _ in range(calls):
        key = (rng.randrange(buckets), rng.choice(agents), rng.choice(("inbound", "outbound")))
        status, reason, _ = rng.choices(STATUSES, weights)[0]
        row = rows[key]
        row["calls"] += 1
        row[f"status_{status}"] += 1
        row[f"reason_{reason}"] += 1
        if status == "completed":
            row["answered_ended"] += 1
            row["duration_seconds"] += rng.randrange(20, 400)
            latency[key][str(rng.randrange(60, 150))] += 1
    objects = []
    for (index, agent_id, direction), counts in rows.items():
        objects.append(
            CallRollup(
                customer=customer,
                bucket=first + index * BUCKET,
                agent_id=agent_id,
                direction=direction,
                latency={"e2e": dict(latency[(index, agent_id, direction)])},
                **counts,
            )
        )
    CallRollup.objects.bulk_create(objects, batch_size=5000)
    # The day rows the same hook keeps, in the tenant's zone.
    tz = tenant_timezone(customer)
    days: dict = defaultdict(lambda: defaultdict(int))
    day_latency: dict = defaultdict(lambda: defaultdict(int))
    for row in objects:
        key = (row.bucket.astimezone(tz).date(), row.agent_id, row.direction)
        for name, value in rows[((row.bucket - first) // BUCKET, row.agent_id, row.direction)].items():
            days[key][name] += value
        for bin_, count in row.latency["e2e"].items():
            day_latency[key][bin_] += count
    CallDayRollup.objects.bulk_create(
        [
            CallDayRollup(
                customer=customer,
                day=day,
                timezone=tz.key,
                agent_id=agent_id,
                direction=direction,
                latency={"e2e": dict(day_latency[(day, agent_id, direction)])},
                **counts,
            )
            for (day, agent_id, direction), counts in days.items()
        ],
        batch_size=5000,
    )
    return len(objects)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, int(round(p / 100 * len(ordered))) - 1)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()

    from accounts.models import Role
    from accounts.tests.factories import UserFactory
    from agents.tests.factories import AgentFactory
    from tenants.tests.factories import CustomerFactory
    from testsupport.api import client_for

    logging.disable(logging.WARNING)
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        rng = random.Random(18)
        end = datetime.datetime.now(datetime.UTC)
        tenants = {}
        for label, calls in (("small", args.small), ("big", args.big)):
            customer = CustomerFactory(company_name=f"Bench {label}", settings={"timezone": "America/New_York"})
            owner = UserFactory(customer=customer, role=Role.OWNER, email=f"{label}@bench.example")
            agents = [AgentFactory(customer=customer).pk for _ in range(3)]
            started = time.perf_counter()
            rows = populate(customer, agents, calls, end, rng)
            print(f"{label}: {calls} calls -> {rows} rollup rows ({time.perf_counter() - started:.1f} s to build)")
            tenants[label] = (client_for(owner), calls)
        start_day = (end - datetime.timedelta(days=DAYS - 1)).date().isoformat()
        queries = {
            "calls": f"/api/v1/analytics/calls?from={start_day}&to={end.date().isoformat()}&interval=day",
            "latency": f"/api/v1/analytics/latency?from={start_day}&to={end.date().isoformat()}&interval=day",
        }
        print(f"database: {connection.vendor}; 90 days, daily buckets in America/New_York; {args.rounds} rounds")
        for name, url in queries.items():
            timings = {label: [] for label in tenants}
            for round_ in range(args.warmup + args.rounds):
                for label, (client, _) in tenants.items():  # interleaved
                    started = time.perf_counter()
                    response = client.get(url)
                    elapsed = (time.perf_counter() - started) * 1000
                    assert response.status_code == 200, response.content
                    if round_ >= args.warmup:
                        timings[label].append(elapsed)
            for label, (_, calls) in tenants.items():
                values = timings[label]
                print(
                    f"  {name:<8} n={calls:>9}  p50 {statistics.median(values):8.2f} ms"
                    f"  p95 {percentile(values, 95):8.2f} ms"
                )
            ratio = statistics.median(timings["big"]) / statistics.median(timings["small"])
            print(f"  {name:<8} ratio p50 big/small = {ratio:.2f} (target <= 2)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
