"""The hot paths over real HTTP, under gunicorn (deploy/gunicorn.conf.py) in another process.

    .venv/bin/python benchmarks/hot_paths.py

Production settings (DEBUG off, a Redis Celery broker when REDIS_URL is set) plus two
baseline views that only benchmarks route (`_bench_urls.py`): a bare Django JSON view and
a hand-written view issuing exactly the SQL that `GET /agents` issues (captured from the
API). The LiveKit server API is the Twirp double (testsupport/livekit.py) in this process.

1. Latency, one client, interleaved: bare view, `GET /health`, `GET /agents?page=1&limit=20`
   (100 agents), the hand-written view, `POST /webhooks/voice/inbound` (JSON form, a new
   caller each time: call row, LiveKit room, agent dispatch enqueued on the broker).
2. Throughput of `GET /agents` vs the hand-written view (2 client threads, 2 workers),
   with the workers' CPU per request.

Targets: /health p50 ÷ bare p50 ≤ 1.5; inbound webhook p50 ÷ /health p50 ≤ 3;
/agents req/s ÷ hand-written req/s ≥ 0.5.
"""

import itertools
import json
import os
import tempfile

from harness import (
    compare,
    database_url,
    gunicorn,
    heading,
    print_ratio,
    setup_django,
    size,
    test_database,
    throughput,
)

SETTINGS = "benchmarks._bench_settings"
AGENTS_PATH = "/api/v1/agents?page=1&limit=20"
NUMBER = "+15551234567"


def captured_sql(client, path: str) -> list[str]:
    """The SQL statements one in-process API request issues, as executed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)  # warm: per-process lookups (content types, catalogue caches) are not per request
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return [query["sql"] for query in captured.captured_queries]


def main() -> None:
    if not os.environ.get("REDIS_URL"):
        print("hot_paths.py needs REDIS_URL (the webhook's Celery broker and the throttle cache)")
        raise SystemExit(2)
    setup_django(SETTINGS)
    from django.conf import settings

    from accounts.tests.factories import UserFactory
    from agents.tests.factories import AgentFactory
    from telephony.tests.factories import PhoneNumberFactory
    from tenants.tests.factories import CustomerFactory
    from testsupport.api import client_for
    from testsupport.livekit import LiveKitServer

    with test_database() as name, tempfile.NamedTemporaryFile("w", suffix=".json") as sql_file:
        customer = CustomerFactory()
        owner = UserFactory(customer=customer, role="owner")
        agents = AgentFactory.create_batch(size(100, 20), customer=customer)
        PhoneNumberFactory(customer=customer, phone_number=NUMBER, agent=agents[0])
        client = client_for(owner)
        statements = captured_sql(client, AGENTS_PATH)
        json.dump(statements, sql_file)
        sql_file.flush()
        token = client._credentials["HTTP_AUTHORIZATION"]
        livekit = LiveKitServer().start()
        env = {
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "DATABASE_URL": database_url(name),
            "SECRET_KEY": settings.SECRET_KEY,
            "LIVEKIT_URL": livekit.url,
            "LIVEKIT_API_KEY": livekit.api_key,
            "LIVEKIT_API_SECRET": livekit.api_secret,
            "BENCH_SQL_FILE": sql_file.name,
            "GUNICORN_WORKERS": "2",
            "GUNICORN_THREADS": "1",
            "GUNICORN_MAX_REQUESTS": "0",
            "PYTHONWARNINGS": "ignore::UserWarning",  # WhiteNoise: no collectstatic here
        }
        callers = itertools.count(1)
        try:
            with gunicorn(env=env, config="deploy/gunicorn.conf.py", workers=2) as server:
                auth = {"Authorization": token}

                def get(path: str, headers: dict | None = None):
                    def call() -> None:
                        status, body = server.get(path, headers)
                        assert status == 200, body[:500]

                    return call

                def inbound() -> None:
                    body = json.dumps({"From": f"+1555{next(callers):07d}", "To": NUMBER}).encode()
                    status, answer = server.request(
                        "POST", "/api/v1/webhooks/voice/inbound", body, {"Content-Type": "application/json"}
                    )
                    assert status == 200 and b'"connect"' in answer, answer[:500]

                variants = {
                    "bare Django view": get("/bench/bare"),
                    "GET /health": get("/api/v1/health"),
                    "GET /agents": get(AGENTS_PATH, auth),
                    "hand-written, same SQL": get("/bench/sql"),
                    "POST /webhooks/voice/inbound": inbound,
                }
                heading(f"latency over HTTP, gunicorn 2 sync workers, {len(statements)} SQL statements per /agents")
                stats = compare(variants, n=size(300, 20), warmup=size(30, 5), baseline="bare Django view")
                health = stats["GET /health"].p50
                print_ratio("/health p50 / bare view p50", health / stats["bare Django view"].p50, 1.5)
                print_ratio("inbound webhook p50 / /health p50", stats["POST /webhooks/voice/inbound"].p50 / health, 3)

                heading("GET /agents throughput, 2 client threads")
                pair = ("GET /agents", "hand-written, same SQL")
                rates = throughput(
                    {name: variants[name] for name in pair},
                    seconds=size(20, 2),
                    concurrency=2,
                    cpu=dict.fromkeys(pair, server.worker_cpu_seconds),
                )
                ratio = rates["GET /agents"][0] / rates["hand-written, same SQL"][0]
                print_ratio("/agents req/s / hand-written req/s", ratio, 0.5, higher_is_better=True)
        finally:
            livekit.stop()
            import redis

            redis.Redis.from_url(os.environ["REDIS_URL"]).delete("celery")  # the dispatches nobody consumes


if __name__ == "__main__":
    main()
