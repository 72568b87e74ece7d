"""Campaigns at scale: a 100,000-row contacts upload, and the dialer's scheduling work per
dial on a campaign with 1k and with 100k pending contacts (target: >= 50 dials/s).

    .venv/bin/python benchmarks/campaigns_dialer.py

Upload: the CSV service (validation with phonenumbers, zone lookup, batched upserts, one
transaction) on 100k rows, after a 5k-row warm-up. Scheduling: one dialer tick
(`campaign_dial_due`: lock, budget, open zones, SKIP LOCKED claim, DNC check, attempt
rows, queued calls and their outbox rows) with LiveKit out of the picture (the outbox is
not published, so no dial runs); between ticks, untimed, the placed calls are marked
finished. Ticks on the two campaigns are interleaved; the ratio of their p50 per dial
shows whether the claim grows with the list, then dials per second against the goal.
"""

import io
import time
from datetime import timedelta

from harness import Stats, heading, print_ratio, print_stats, setup_django, size, test_database

PER_TICK = 200  # the dialer's batch ceiling
DIALS_PER_SECOND_GOAL = 50.0


def csv_bytes(rows: int, offset: int = 0) -> bytes:
    lines = ["phone,name,plan"]
    for n in range(rows):
        # Real US area codes, so most rows get a zone from their number.
        area = (212, 415, 312, 617, 305)[n % 5]
        lines.append(f"+1{area}{2000000 + offset + n:07d},Name{n},gold")
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    setup_django()
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

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

    upload_rows, upload_runs, ticks = size(100_000, 2_000), size(2, 1), size(10, 3)
    small_rows = size(1_000, 200)
    server = LiveKitServer().start()
    settings.LIVEKIT_URL, settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET = (
        server.url,
        server.api_key,
        server.api_secret,
    )
    outbox.publish = lambda message_id: False  # scheduling only: no dial task runs
    with test_database():
        customer = CustomerFactory()
        user = UserFactory(customer=customer, role=Role.OWNER)
        CallCapacity.objects.create(customer=customer, concurrency_limit=100_000, reserved_inbound_concurrency=0)
        agent = AgentFactory(customer=customer, status=AgentStatus.ACTIVE, system_prompt="Call {{name}}.")
        number = PhoneNumberFactory(customer=customer, phone_number="+14155550100")
        trunks.sip_trunk_create(
            customer=customer, data={"name": "T", "address": "t.example.com", "phone_number_ids": [number.id]}
        )
        every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        always = {"timezone": "UTC", "windows": [{"days": every_day, "start": "00:00", "end": "23:59"}]}

        def campaign():
            data = {
                "name": "Bench",
                "agent_id": agent.id,
                "from_number_ids": [number.id],
                "schedule": always,
                "max_concurrency": 500,
                "calls_per_minute": 600,
            }
            return services.campaign_create(actor=user, data=data)

        heading(f"{connection.vendor}: upload {upload_rows} contacts (CSV, one transaction), {upload_runs} run(s)")
        services.contacts_add_csv(campaign=campaign(), file=io.BytesIO(csv_bytes(5000)))  # warm-up
        upload = Stats("upload (s, as ms)")
        big = None
        for run in range(upload_runs):
            target = campaign()
            payload = csv_bytes(upload_rows, offset=run)
            started = time.perf_counter()
            result = services.contacts_add_csv(campaign=target, file=io.BytesIO(payload))
            upload.samples_ms.append((time.perf_counter() - started) * 1000)
            assert result.added == upload_rows, result
            big = big or target
        print_stats([upload])
        print(f"  upload time p50 {upload.p50 / 1000:.1f} s, {upload_rows / (upload.p50 / 1000):.0f} rows/s")

        small = campaign()
        services.contacts_add_csv(campaign=small, file=io.BytesIO(csv_bytes(small_rows, offset=50)))
        for target in (small, big):
            services.campaign_start(campaign=target)
        clock = {"now": timezone.now()}

        def tick(target) -> tuple[float, int]:
            # A minute later each time: the callsPerMinute pacing never holds the dialer back.
            clock["now"] += timedelta(minutes=1)
            started = time.perf_counter()
            placed = dialer.campaign_dial_due(campaign_id=target.id, now=clock["now"])
            elapsed = time.perf_counter() - started
            # The calls finish (untimed): free the campaign's concurrency and the customer's capacity.
            Contact.objects.filter(campaign=target, status=ContactStatus.IN_PROGRESS).update(
                status=ContactStatus.COMPLETED
            )
            Call.objects.filter(customer=customer, status=CallStatus.QUEUED).update(status=CallStatus.COMPLETED)
            return elapsed, placed

        labels = {f"{small_rows} pending": small, f"{upload_rows} pending": big}
        heading(f"scheduling per dial: {ticks} interleaved ticks of up to {PER_TICK} dials per campaign")
        tick(small)  # warm-up
        per_dial = {label: Stats(f"per dial, {label}") for label in labels}
        dialed = dict.fromkeys(labels, 0)
        spent = dict.fromkeys(labels, 0.0)
        for _ in range(ticks):
            for label, target in labels.items():
                if not Contact.objects.filter(campaign=target, status=ContactStatus.PENDING).exists():
                    Contact.objects.filter(campaign=target).update(status=ContactStatus.PENDING)
                elapsed, placed = tick(target)
                if placed:
                    per_dial[label].samples_ms.append(elapsed / placed * 1000)
                    dialed[label] += placed
                    spent[label] += elapsed
        print_stats(per_dial.values())
        small_label, big_label = labels
        for label in labels:
            print(f"  dials per second, {label}: {dialed[label] / spent[label]:.0f}")
        growth = per_dial[big_label].p50 / per_dial[small_label].p50
        print(f"  ratio p50 per dial {big_label} / {small_label}: {growth:.2f}x")
        for label in labels:
            rate = dialed[label] / spent[label]
            print_ratio(f"dials per second, {label}", rate, DIALS_PER_SECOND_GOAL, higher_is_better=True)
    server.stop()


if __name__ == "__main__":
    main()
