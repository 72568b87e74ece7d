"""Campaigns at scale: a 100,000-row contacts upload, and the dialer's scheduling work per
dial (prints figures, asserts nothing).

    .venv/bin/python benchmarks/campaigns_dialer.py           # SQLite in memory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/morpheus_bench .venv/bin/python benchmarks/campaigns_dialer.py

Upload: the CSV service (validation with phonenumbers, zone lookup, batched upserts, one
transaction) on 100k rows, after a 5k-row warm-up. Scheduling: one dialer tick
(`campaign_dial_due`: lock, budget, open zones, SKIP LOCKED claim, DNC check, attempt
rows, queued calls and their outbox rows) with LiveKit out of the picture (the outbox
is not published, so no dial runs); between ticks the placed calls are marked finished.
Ticks on a campaign with 1k pending contacts and on one with 100k are interleaved; the
last line is the ratio of their p50 per dial, then dials per second against the 50/s goal.
"""

import io
import logging
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "morpheus.test_settings")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

UPLOAD_ROWS = int(os.environ.get("BENCH_UPLOAD_ROWS", "100000"))
UPLOAD_RUNS = int(os.environ.get("BENCH_UPLOAD_RUNS", "3"))
TICKS = int(os.environ.get("BENCH_TICKS", "10"))
PER_TICK = 200  # the dialer's batch ceiling


def percentile(samples, q):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def report(label, samples, unit):
    print(
        f"{label:<52} n={len(samples):<4} p50={percentile(samples, 0.5):9.3f} {unit}  "
        f"p95={percentile(samples, 0.95):9.3f} {unit}"
    )


def csv_bytes(rows: int, offset: int = 0) -> bytes:
    lines = ["phone,name,plan"]
    for n in range(rows):
        # Real US area codes, so most rows get a zone from their number.
        area = (212, 415, 312, 617, 305)[n % 5]
        lines.append(f"+1{area}{2000000 + offset + n:07d},Name{n},gold")
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    logging.disable(logging.WARNING)
    setup_test_environment()
    connection.creation.create_test_db(verbosity=0)
    from accounts.models import Role
    from accounts.tests.factories import UserFactory
    from agents.models import AgentStatus
    from agents.tests.factories import AgentFactory
    from calls.models import Call, CallCapacity, CallStatus
    from campaigns import dialer, services
    from campaigns.models import Contact, ContactStatus
    from morpheus import outbox
    from telephony import trunks
    from telephony.tests.factories import PhoneNumberFactory
    from tenants.tests.factories import CustomerFactory
    from testsupport.livekit import LiveKitServer

    server = LiveKitServer().start()
    settings.LIVEKIT_URL, settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET = (
        server.url,
        server.api_key,
        server.api_secret,
    )
    outbox.publish = lambda message_id: False  # scheduling only: no dial task runs

    customer = CustomerFactory()
    user = UserFactory(customer=customer, role=Role.OWNER)
    CallCapacity.objects.create(customer=customer, concurrency_limit=100_000, reserved_inbound_concurrency=0)
    agent = AgentFactory(customer=customer, status=AgentStatus.ACTIVE, system_prompt="Call {{name}}.")
    number = PhoneNumberFactory(customer=customer, phone_number="+14155550100")
    trunks.sip_trunk_create(
        customer=customer, data={"name": "T", "address": "t.example.com", "phone_number_ids": [number.id]}
    )
    always = {
        "timezone": "UTC",
        "windows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "23:59"}],
    }

    def campaign(**overrides):
        data = {
            "name": "Bench",
            "agent_id": agent.id,
            "from_number_ids": [number.id],
            "schedule": always,
            "max_concurrency": 500,
            "calls_per_minute": 600,
            **overrides,
        }
        return services.campaign_create(user=user, data=data)

    print(f"database: {connection.vendor}; upload rows: {UPLOAD_ROWS}; ticks: {TICKS} x {PER_TICK} dials")

    # --- Upload ---------------------------------------------------------------------
    services.contacts_add_csv(campaign=campaign(), file=io.BytesIO(csv_bytes(5000)))  # warm-up
    upload_seconds = []
    big = None
    for run in range(UPLOAD_RUNS):
        target = campaign()
        payload = csv_bytes(UPLOAD_ROWS, offset=run)
        started = time.perf_counter()
        result = services.contacts_add_csv(campaign=target, file=io.BytesIO(payload))
        upload_seconds.append(time.perf_counter() - started)
        assert result.added == UPLOAD_ROWS, result
        big = big or target
    report(f"upload {UPLOAD_ROWS} contacts (CSV, one transaction)", upload_seconds, "s")
    rates = [UPLOAD_ROWS / s for s in upload_seconds]
    print(f"{'  rows per second':<52} p50={percentile(rates, 0.5):9.0f}")

    # --- Scheduling -------------------------------------------------------------------
    small = campaign()
    services.contacts_add_csv(campaign=small, file=io.BytesIO(csv_bytes(1000, offset=50)))
    for target in (small, big):
        services.campaign_start(campaign=target)
    clock = {"now": None}

    def tick(target) -> tuple[float, int]:
        # A minute later each time: the callsPerMinute pacing never holds the dialer back.
        from django.utils import timezone

        clock["now"] = (clock["now"] or timezone.now()) + timedelta(minutes=1)
        started = time.perf_counter()
        placed = dialer.campaign_dial_due(campaign_id=target.id, now=clock["now"])
        elapsed = time.perf_counter() - started
        # The calls finish: free the campaign's concurrency and the customer's capacity.
        Contact.objects.filter(campaign=target, status=ContactStatus.IN_PROGRESS).update(status=ContactStatus.COMPLETED)
        Call.objects.filter(customer=customer, status=CallStatus.QUEUED).update(status=CallStatus.COMPLETED)
        return elapsed, placed

    tick(small)  # warm-up
    per_dial = {"1k pending": [], "100k pending": []}
    dialed = {"1k pending": 0, "100k pending": 0}
    seconds = {"1k pending": 0.0, "100k pending": 0.0}
    for _ in range(TICKS):  # interleaved
        for label, target in (("1k pending", small), ("100k pending", big)):
            if label == "1k pending" and not Contact.objects.filter(campaign=small, status="pending").exists():
                Contact.objects.filter(campaign=small).update(status=ContactStatus.PENDING)
            elapsed, placed = tick(target)
            if placed:
                per_dial[label].append(elapsed / placed * 1000)
                dialed[label] += placed
                seconds[label] += elapsed
    for label in per_dial:
        report(f"scheduling per dial, campaign with {label}", per_dial[label], "ms")
    for label in per_dial:
        print(f"{'  dials per second, ' + label:<52} {dialed[label] / seconds[label]:9.0f}")
    ratio = percentile(per_dial["100k pending"], 0.5) / percentile(per_dial["1k pending"], 0.5)
    print(f"ratio p50 per dial 100k/1k pending: {ratio:.2f}")
    print(f"dials per second (100k pending) / goal 50: {dialed['100k pending'] / seconds['100k pending'] / 50:.1f}x")
    server.stop()


if __name__ == "__main__":
    main()
