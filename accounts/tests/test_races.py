"""Races on PostgreSQL: two registrations of one address, two uses of one refresh token.

PostgreSQL only: SQLite serialises writers by locking the whole file, so there is
no race to lose there.
"""

import threading
import time

import pytest
from django.db import connection, connections, transaction
from rest_framework.test import APIClient

from accounts.models import RefreshToken, User
from accounts.tokens import make_email_verification_token

from .factories import TEST_PASSWORD, UserFactory
from .helpers import STRONG_PASSWORD

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: concurrent transactions"),
]

URL = "/api/v1/auth/register/complete"


def _register(token: str, name: str, results: list, barrier: threading.Barrier | None = None):
    try:
        if barrier is not None:
            barrier.wait(timeout=30)
        response = APIClient().post(URL, {"token": token, "name": name, "password": STRONG_PASSWORD}, format="json")
        results.append((response.status_code, response.json()))
    finally:
        connections.close_all()  # this thread's connection, before the test database is flushed


def test_parallel_registrations_create_one_user():
    token = make_email_verification_token("race@example.com")
    results, barrier = [], threading.Barrier(2)
    threads = [threading.Thread(target=_register, args=(token, f"Racer {n}", results, barrier)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(status for status, _ in results) == [201, 409]
    conflict = next(body for status, body in results if status == 409)
    assert (conflict["success"], conflict["message"]) == (False, "Email already registered")
    assert User.objects.filter(email="race@example.com").count() == 1
    assert RefreshToken.objects.count() == 1


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL serves statistics views from a snapshot; drop it.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_a_registration_that_loses_the_race_at_the_insert_gets_409_and_writes_nothing():
    """Deterministic interleaving: the other registration has inserted but not yet
    committed when ours checks the address, so ours only learns at its own insert."""
    token = make_email_verification_token("late@example.com")
    results = []
    with transaction.atomic():
        UserFactory(email="late@example.com", name="First")  # uncommitted: invisible to the other thread
        registration = threading.Thread(target=_register, args=(token, "Second", results))
        registration.start()
        for _ in range(300):  # until its INSERT waits on our row in the unique index
            if _waiting_on_a_lock():
                break
            time.sleep(0.1)
        else:
            pytest.fail("the registration never waited on the unique index")
    registration.join(timeout=60)

    [(status, body)] = results
    assert (status, body["message"], body["data"]) == (409, "Email already registered", None)
    assert list(User.objects.filter(email="late@example.com").values_list("name", flat=True)) == ["First"]
    assert RefreshToken.objects.count() == 0


def _refresh(raw: str, results: list, barrier: threading.Barrier):
    try:
        barrier.wait(timeout=30)
        response = APIClient().post("/api/v1/auth/refresh", {"refreshToken": raw}, format="json")
        results.append((response.status_code, response.json()))
    finally:
        connections.close_all()


def test_one_refresh_token_presented_twice_at_once_rotates_once_and_kills_the_family(alice):
    login = APIClient().post(
        "/api/v1/auth/login", {"email": "alice@example.com", "password": TEST_PASSWORD}, format="json"
    )
    raw = login.json()["data"]["auth"]["tokens"]["refreshToken"]
    results, barrier = [], threading.Barrier(2)
    threads = [threading.Thread(target=_refresh, args=(raw, results, barrier)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # The row lock lets one rotate; the other then sees a used token: reuse.
    assert sorted(status for status, _ in results) == [200, 401]
    assert next(body for status, body in results if status == 401)["message"] == (
        "Refresh token has been revoked. Please log in again."
    )
    assert RefreshToken.objects.filter(user=alice).count() == 2
    assert not RefreshToken.objects.filter(user=alice, revoked_at__isnull=True).exists()
