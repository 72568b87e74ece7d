"""Races on PostgreSQL: requests that arrive together are serialised by row locks.

Each test holds the lock the code under test must take (from a transaction of its own),
sends the racing requests from threads, waits until PostgreSQL shows them queued on
that lock, then lets go. Code that forgot the lock never queues, races through, and
breaks the invariant the test checks.
"""

import threading
import time

import pytest
from django.db import connection, transaction

from accounts.models import Role, User
from accounts.tests.factories import UserFactory
from tenants.models import Customer
from tenants.tests.factories import CustomerFactory
from testsupport.api import client_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL row locks (SELECT ... FOR UPDATE); SQLite serialises every writer",
    ),
]


def waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        # Inside a transaction the statistics views are a snapshot taken at first use.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def wait_for_waiters(count: int) -> bool:
    """True once `count` sessions are blocked on a lock; False after about 10 seconds."""
    for _ in range(200):
        if waiting_on_locks() >= count:
            return True
        time.sleep(0.05)
    return False


class Racer(threading.Thread):
    """Sends one API request from its own thread (and so its own database connection)."""

    def __init__(self, user, method, url, payload=None):
        super().__init__(daemon=True)
        self.user, self.method, self.url, self.payload = user, method, url, payload
        self.response = None

    def run(self):
        try:
            client = client_for(self.user)
            self.response = getattr(client, self.method)(self.url, self.payload, format="json")
        finally:
            connection.close()

    @property
    def status(self):
        return self.response.status_code if self.response is not None else None


def race(lock_rows, racers):
    """Holds FOR UPDATE on `lock_rows` while the racers start one after another (each
    queued before the next starts, so PostgreSQL grants the lock in that order)."""
    with transaction.atomic():
        list(lock_rows.select_for_update())
        for queued, racer in enumerate(racers, start=1):
            racer.start()
            assert wait_for_waiters(queued), "the request did not queue on the lock: is the lock taken?"
    for racer in racers:
        racer.join(timeout=30)
        assert not racer.is_alive(), "a racing request never finished"
    return racers


def test_two_simultaneous_onboardings_create_one_customer():
    newcomer = UserFactory(email="dana@example.com")
    url = "/api/v1/customers/onboard"
    first = Racer(newcomer, "post", url, {"companyName": "First Corp"})
    second = Racer(newcomer, "post", url, {"companyName": "Second Corp"})
    race(User.objects.filter(pk=newcomer.pk), [first, second])

    assert (first.status, second.status) == (201, 409), (first.response.json(), second.response.json())
    assert second.response.json()["message"] == "You have already completed onboarding for a customer"
    assert list(Customer.objects.values_list("company_name", flat=True)) == ["First Corp"]
    newcomer.refresh_from_db()
    assert newcomer.customer.company_name == "First Corp" and newcomer.role == Role.OWNER


def test_two_owners_demoting_each_other_leave_one_owner():
    customer = CustomerFactory()
    alice = UserFactory(customer=customer, role=Role.OWNER)
    olga = UserFactory(customer=customer, role=Role.OWNER)
    first = Racer(alice, "patch", f"/api/v1/users/{olga.id}", {"role": "member"})
    second = Racer(olga, "patch", f"/api/v1/users/{alice.id}", {"role": "member"})
    race(Customer.objects.filter(pk=customer.pk), [first, second])

    assert first.status == 200
    # Olga is a member by the time her request runs: she may no longer touch an owner.
    assert second.status == 403, second.response.json()
    owners = User.objects.filter(customer=customer, role=Role.OWNER)
    assert list(owners.values_list("pk", flat=True)) == [alice.pk]


def test_two_owners_removing_each_other_leave_one_owner():
    customer = CustomerFactory()
    alice = UserFactory(customer=customer, role=Role.OWNER)
    olga = UserFactory(customer=customer, role=Role.OWNER)
    first = Racer(olga, "delete", f"/api/v1/users/{alice.id}")
    second = Racer(alice, "delete", f"/api/v1/users/{olga.id}")
    race(Customer.objects.filter(pk=customer.pk), [first, second])

    assert first.status == 200
    assert second.status == 403  # alice was removed before her request could act
    remaining = User.objects.filter(customer=customer, deleted_at__isnull=True, role=Role.OWNER)
    assert list(remaining.values_list("pk", flat=True)) == [olga.pk]


def test_a_request_queued_behind_a_demotion_is_judged_by_the_new_role():
    customer = CustomerFactory()
    alice = UserFactory(customer=customer, role=Role.OWNER)
    olga = UserFactory(customer=customer, role=Role.OWNER)
    charlie = UserFactory(customer=customer, role=Role.MEMBER)
    demote = Racer(alice, "patch", f"/api/v1/users/{olga.id}", {"role": "member"})
    promote = Racer(olga, "patch", f"/api/v1/users/{charlie.id}", {"role": "owner"})
    invite = Racer(olga, "post", "/api/v1/users", {"email": "sock@example.com", "role": "owner"})
    race(Customer.objects.filter(pk=customer.pk), [demote, promote, invite])

    assert (demote.status, promote.status, invite.status) == (200, 403, 403)
    charlie.refresh_from_db()
    assert charlie.role == Role.MEMBER
    assert not User.objects.filter(email="sock@example.com").exists()


def test_two_invitations_of_one_email_create_one_user():
    customer = CustomerFactory()
    alice = UserFactory(customer=customer, role=Role.OWNER)
    admin = UserFactory(customer=customer, role=Role.ADMIN)
    first = Racer(alice, "post", "/api/v1/users", {"email": "twice@example.com", "role": "admin"})
    second = Racer(admin, "post", "/api/v1/users", {"email": "TWICE@example.com"})
    race(Customer.objects.filter(pk=customer.pk), [first, second])

    assert (first.status, second.status) == (201, 409)
    assert second.response.json()["message"] == "A user with this email already exists"
    assert list(User.objects.filter(email__iexact="twice@example.com").values_list("role", flat=True)) == ["admin"]
