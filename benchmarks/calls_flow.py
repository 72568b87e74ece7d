"""Latency of the call flow against the local LiveKit server (prints figures, asserts nothing).

    .venv/bin/python benchmarks/calls_flow.py            # SQLite in memory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/morpheus_bench .venv/bin/python benchmarks/calls_flow.py

Measures the inbound webhook (call + LiveKit room + agent dispatch, eager Celery),
POST /calls/simulate, GET /calls (a page of 100 out of 2,000) and GET /calls/:id with
a 200-turn transcript, through Django's test client (no network but LiveKit's Twirp).
"""

import itertools
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "morpheus.test_settings")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


def timed(label: str, runs: int, action) -> None:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    print(f"{label:<48} n={runs:<4} mean={statistics.fmean(samples):7.2f} ms  p95={p95:7.2f} ms")


def main() -> None:
    logging.disable(logging.WARNING)  # per-request and per-task log lines would drown the figures
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0)
    from accounts.tests.factories import UserFactory
    from agents.tests.factories import AgentFactory
    from calls.tests.factories import CallFactory, TranscriptTurnFactory
    from telephony.tests.factories import PhoneNumberFactory
    from tenants.tests.factories import CustomerFactory
    from testsupport.api import client_for
    from testsupport.livekit import LiveKitServer

    server = LiveKitServer().start()
    settings.LIVEKIT_URL, settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET = (
        server.url,
        server.api_key,
        server.api_secret,
    )
    settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["webhook"] = "1000000/min"
    # The JSON form is allowed from the benchmark's own address; every post is a new caller
    # (a repeated From/To within seconds would return the ringing call) and none is capped.
    settings.VOICE_WEBHOOK_ALLOWED_IPS = ["127.0.0.1/32"]
    settings.VOICE_INBOUND_MAX_RINGING = 10**9
    callers = itertools.count(1)

    customer = CustomerFactory()
    owner = UserFactory(customer=customer, role="owner")
    agent = AgentFactory(customer=customer)
    PhoneNumberFactory(customer=customer, phone_number="+15551234567", agent=agent)
    client = client_for(owner)
    anonymous = client_for(None)

    def body():
        return json.dumps({"From": f"+1555{next(callers):07d}", "To": "+15551234567"})

    print(f"database: {connection.vendor}")
    timed(
        "POST /webhooks/voice/inbound (JSON, new call)",
        200,
        lambda: anonymous.post("/api/v1/webhooks/voice/inbound", body(), content_type="application/json"),
    )
    timed("POST /calls/simulate", 200, lambda: client.post("/api/v1/calls/simulate"))

    for _ in range(2000 - 400):
        CallFactory(agent=agent)
    timed("GET /calls?limit=100 (2,000 calls)", 100, lambda: client.get("/api/v1/calls?limit=100"))
    call = CallFactory(agent=agent)
    TranscriptTurnFactory.create_batch(200, call=call)
    timed("GET /calls/:id (200-turn transcript)", 100, lambda: client.get(f"/api/v1/calls/{call.id}"))
    server.stop()
    connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
