"""A failed login for an unknown email must cost what a wrong password costs (bcrypt).

Otherwise response times reveal which addresses have accounts. Runs the real endpoint
with the production hashers on a throw-away test database, interleaving the cases.

    .venv/bin/python benchmarks/identity_login_timing.py
"""

import os

from harness import compare, heading, print_ratio, setup_django, size, test_database

PASSWORD = "Benchmark-Password-1"


def main() -> None:
    os.environ.setdefault("DEBUG", "true")
    setup_django("morpheus.settings")  # the production hasher (bcrypt), not the tests' MD5
    from django.conf import settings
    from django.test.utils import override_settings
    from rest_framework.test import APIClient

    with test_database():
        from accounts.models import User

        User.objects.create_user("bench@example.com", PASSWORD, name="Bench")
        rates = dict.fromkeys(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "100000/min")
        with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
            client = APIClient()

            def login(email: str, password: str):
                def post() -> None:
                    response = client.post("/api/v1/auth/login", {"email": email, "password": password}, format="json")
                    assert response.status_code in (200, 401), response.content

                return post

            heading(f"POST /auth/login, hasher {settings.PASSWORD_HASHERS[0].rsplit('.', 1)[1]}")
            stats = compare(
                {
                    "wrong password": login("bench@example.com", "Wrong-Password-2"),
                    "unknown email": login("nobody@example.com", PASSWORD),
                    "right password": login("bench@example.com", PASSWORD),
                },
                n=size(30, 5),
                warmup=2,
                baseline="wrong password",
            )
    ratio = stats["unknown email"].p50 / stats["wrong password"].p50
    print_ratio("unknown email p50 / wrong password p50, distance from 1", abs(ratio - 1), 0.1)


if __name__ == "__main__":
    main()
