"""Figures for the tenancy endpoints, interleaved against `GET /customers/me` (no target).

    .venv/bin/python benchmarks/tenancy.py

On a throw-away test database: the team list at full page size (plain and searched) in a
team of 1,000, a request checked against a 100-rule IP allow-list (last rule hits), an
invitation (mail rendered inline), the platform admin's tenant list, and its system
health (which probes every service, so it runs fewer rounds and on its own).
"""

import itertools

from harness import compare, heading, setup_django, size, test_database


def main() -> None:
    setup_django()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Role
    from accounts.tests.factories import UserFactory
    from tenants.tests.factories import CustomerFactory
    from testsupport.api import client_for

    users = size(1000, 100)
    with test_database():
        customer = CustomerFactory(company_name="Bench Corp", allowed_ips=[f"10.{i}.0.0/16" for i in range(99)])
        customer.allowed_ips.append("127.0.0.1")
        customer.save()
        owner = UserFactory(customer=customer, role=Role.OWNER, email="owner@bench.example")
        UserFactory.create_batch(users, customer=customer)
        admin = UserFactory(role=Role.PLATFORM_ADMIN, email="root@bench.example")
        client, admin_client = client_for(owner), client_for(admin)
        # Hundreds of invitations in a minute: past the `invite` rate a real team would hit.
        settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["invite"] = "1000000/hour"
        invitations = itertools.count()

        def get(which, path: str):
            def call() -> None:
                response = which.get(path)
                assert response.status_code == 200, response.content

            return call

        def invite() -> None:
            body = {"email": f"invite{next(invitations)}@bench.example"}
            response = client.post("/api/v1/users", body, format="json")
            assert response.status_code == 201, response.content

        variants = {
            "GET /customers/me (100 allow-list rules)": get(client, "/api/v1/customers/me"),
            "GET /users?limit=100": get(client, "/api/v1/users?limit=100"),
            "GET /users?limit=100&search=example": get(client, "/api/v1/users?limit=100&search=example"),
            "POST /users (invite)": invite,
            "GET /admin/customers": get(admin_client, "/api/v1/admin/customers"),
        }
        heading(f"{connection.vendor}, team of {users + 1}")
        compare(variants, n=size(100, 10), warmup=3, baseline="GET /customers/me (100 allow-list rules)")
        for name, action in variants.items():
            with CaptureQueriesContext(connection) as captured:
                action()
            print(f"  {name}: {len(captured)} queries")

        heading("system health (probes every service)")
        compare(
            {"GET /admin/system/health": get(admin_client, "/api/v1/admin/system/health")},
            n=size(10, 2),
            warmup=1,
            baseline="GET /admin/system/health",
        )


if __name__ == "__main__":
    main()
