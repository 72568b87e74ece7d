"""Figures for the tenancy endpoints; prints them, asserts nothing.

    .venv/bin/python benchmarks/tenancy.py [--users 1000] [--rounds 50]

Uses a throw-away test database (SQLite by default; DATABASE_URL / REDIS_URL as for the
tests): the team list at full page size, a request checked against a 100-rule IP
allow-list, an invitation, and the platform admin's system health.
"""

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "morpheus.test_settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment, teardown_test_environment  # noqa: E402


def measure(label, rounds, call):
    timings, queries = [], 0
    for _ in range(rounds):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = call()
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code < 400, response.content
        queries = len(captured)
    timings.sort()
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    print(f"{label:<48} median {statistics.median(timings):7.2f} ms   p95 {p95:7.2f} ms   {queries} queries")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()

    from accounts.models import Role
    from accounts.tests.factories import UserFactory
    from morpheus.celery import app as celery_app
    from tenants.tests.factories import CustomerFactory
    from testsupport.api import client_for

    logging.disable(logging.INFO)  # the eager invitation task logs every run
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    celery_app.conf.task_always_eager = True  # no worker needed for the invitation mail
    try:
        customer = CustomerFactory(company_name="Bench Corp")
        owner = UserFactory(customer=customer, role=Role.OWNER, email="owner@bench.example")
        UserFactory.create_batch(args.users, customer=customer)
        admin = UserFactory(role=Role.PLATFORM_ADMIN, email="root@bench.example")
        client = client_for(owner)
        print(f"database: {connection.vendor}; team of {args.users + 1}; {args.rounds} rounds each")

        measure("GET /users?limit=100", args.rounds, lambda: client.get("/api/v1/users?limit=100"))
        measure(
            "GET /users?limit=100&search=example",
            args.rounds,
            lambda: client.get("/api/v1/users?limit=100&search=example"),
        )

        customer.allowed_ips = [f"10.{i}.0.0/16" for i in range(99)] + ["127.0.0.1"]
        customer.save()
        measure(
            "GET /customers/me (100 allow-list rules, last hit)",
            args.rounds,
            lambda: client.get("/api/v1/customers/me"),
        )

        counter = iter(range(10**9))
        measure(
            "POST /users (invite, mail rendered inline)",
            args.rounds,
            lambda: client.post("/api/v1/users", {"email": f"invite{next(counter)}@bench.example"}, format="json"),
        )
        admin_client = client_for(admin)
        measure("GET /admin/customers", args.rounds, lambda: admin_client.get("/api/v1/admin/customers"))
        measure(
            "GET /admin/system/health",
            max(3, args.rounds // 10),
            lambda: admin_client.get("/api/v1/admin/system/health"),
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
