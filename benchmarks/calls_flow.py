"""The call flow in process (Django's test client) against the local LiveKit double.

    .venv/bin/python benchmarks/calls_flow.py

Interleaves, against `GET /health` as the baseline: the inbound webhook (call + LiveKit
room + agent dispatch, eager Celery), `POST /calls/simulate`, `GET /calls?limit=100` out
of 2,000 calls and `GET /calls/:id` with a 200-turn transcript. No target: these are the
in-process figures; the HTTP figures with targets are in hot_paths.py (webhook, /health)
and the calls list/detail benchmarks.
"""

import itertools
import json
import os

from harness import compare, heading, setup_django, size, test_database


def main() -> None:
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
    setup_django()
    from django.conf import settings
    from django.db import connection

    from accounts.tests.factories import UserFactory
    from agents.tests.factories import AgentFactory
    from calls.tests.factories import CallFactory, TranscriptTurnFactory
    from telephony.tests.factories import PhoneNumberFactory
    from tenants.tests.factories import CustomerFactory
    from testsupport.api import client_for
    from testsupport.livekit import LiveKitServer

    with test_database():
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
        calls = size(2000, 200)
        CallFactory.create_batch(calls, agent=agent)
        call = CallFactory(agent=agent)
        TranscriptTurnFactory.create_batch(200, call=call)
        client, anonymous = client_for(owner), client_for(None)

        def expect(status: int, send):
            def action() -> None:
                response = send()
                assert response.status_code == status, response.content

            return action

        def inbound():
            body = json.dumps({"From": f"+1555{next(callers):07d}", "To": "+15551234567"})
            return anonymous.post("/api/v1/webhooks/voice/inbound", body, content_type="application/json")

        heading(f"{connection.vendor}, {calls} calls, test client (no HTTP)")
        try:
            compare(
                {
                    "GET /health": expect(200, lambda: anonymous.get("/api/v1/health")),
                    "POST /webhooks/voice/inbound (new call)": expect(200, inbound),
                    "POST /calls/simulate": expect(200, lambda: client.post("/api/v1/calls/simulate")),
                    f"GET /calls?limit=100 ({calls} calls)": expect(200, lambda: client.get("/api/v1/calls?limit=100")),
                    "GET /calls/:id (200 turns)": expect(200, lambda: client.get(f"/api/v1/calls/{call.id}")),
                },
                n=size(100, 10),
                warmup=3,
                baseline="GET /health",
            )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
