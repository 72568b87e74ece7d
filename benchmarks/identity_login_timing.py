"""How long a failed login takes for an unknown email vs a wrong password (bcrypt).

The two must cost about the same, or response times reveal which addresses have
accounts. Runs the real endpoint with the production hashers against a throwaway
test database and prints the figures; no assertions.

    .venv/bin/python benchmarks/identity_login_timing.py [rounds]
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "morpheus.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import override_settings, setup_test_environment  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

PASSWORD = "Benchmark-Password-1"


def measure(client, email, password, rounds):
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.post("/api/v1/auth/login", {"email": email, "password": password}, format="json")
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code in (200, 401), response.content
    return samples


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        from accounts.models import User

        User.objects.create_user("bench@example.com", PASSWORD, name="Bench")
        rates = dict.fromkeys(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "100000/min")
        with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
            client = APIClient()
            measure(client, "bench@example.com", PASSWORD, 2)  # warm up
            cases = {
                "unknown email": measure(client, "nobody@example.com", PASSWORD, rounds),
                "wrong password": measure(client, "bench@example.com", "Wrong-Password-2", rounds),
                "right password": measure(client, "bench@example.com", PASSWORD, rounds),
            }
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(f"hasher: {settings.PASSWORD_HASHERS[0].rsplit('.', 1)[1]}, {rounds} logins per case")
    for name, samples in cases.items():
        print(
            f"{name:>15}: median {statistics.median(samples):7.1f} ms"
            f"  mean {statistics.mean(samples):7.1f} ms  stdev {statistics.pstdev(samples):5.1f} ms"
        )
    unknown, wrong = statistics.median(cases["unknown email"]), statistics.median(cases["wrong password"])
    print(f"unknown/wrong median ratio: {unknown / wrong:.3f}")


if __name__ == "__main__":
    main()
