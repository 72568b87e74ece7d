"""GET/PATCH /admin/customers/:id: a tenant's call capacity, for platform admins only."""

import logging
import uuid

import pytest

from accounts.models import Role
from accounts.tests.factories import UserFactory
from calls import leases
from calls.models import CallCapacity
from testsupport.api import assert_error, assert_success, client_for

pytestmark = pytest.mark.django_db

FORBIDDEN = "You do not have permission to access this resource"


def url(customer) -> str:
    return f"/api/v1/admin/customers/{customer.id}"


@pytest.fixture(autouse=True)
def platform_defaults(settings):
    settings.CALL_CONCURRENCY_LIMIT = 10
    settings.CALL_RESERVED_INBOUND_CONCURRENCY = 2


def stored(customer):
    row = CallCapacity.objects.filter(customer=customer).first()
    return None if row is None else (row.concurrency_limit, row.reserved_inbound_concurrency)


def test_it_shows_the_platform_defaults_and_the_calls_holding_a_slot(platform_admin_client, customer_a, alice):
    assert leases.acquire(customer_id=customer_a.id, call_id=1, direction=leases.INBOUND)
    assert leases.acquire(customer_id=customer_a.id, call_id=2, direction=leases.OUTBOUND)
    data = assert_success(platform_admin_client.get(url(customer_a)), 200, "Customer retrieved successfully")
    assert data == {
        "id": str(customer_a.id),
        "companyName": "Alice Corp",
        "status": "active",
        "userCount": 1,
        "createdAt": data["createdAt"],
        "concurrencyLimit": 10,
        "reservedInboundConcurrency": 2,
        "capacityIsDefault": {"concurrencyLimit": True, "reservedInboundConcurrency": True},
        "callsInProgress": {"inbound": 1, "outbound": 1},
    }


def test_a_platform_admin_sets_both_limits_and_the_lease_store_obeys(platform_admin_client, platform_admin, customer_a):
    body = {"concurrencyLimit": 3, "reservedInboundConcurrency": 1}
    data = assert_success(
        platform_admin_client.patch(url(customer_a), body, format="json"), 200, "Customer updated successfully"
    )
    assert (data["concurrencyLimit"], data["reservedInboundConcurrency"]) == (3, 1)
    assert data["capacityIsDefault"] == {"concurrencyLimit": False, "reservedInboundConcurrency": False}
    assert stored(customer_a) == (3, 1)
    # GET shows the same, and the leases follow it: 2 outbound slots, the third is inbound's.
    again = assert_success(platform_admin_client.get(url(customer_a)))
    assert (again["concurrencyLimit"], again["reservedInboundConcurrency"]) == (3, 1)
    granted = [leases.acquire(customer_id=customer_a.id, call_id=n, direction=leases.OUTBOUND) for n in (1, 2, 3)]
    assert granted == [True, True, False]
    assert leases.acquire(customer_id=customer_a.id, call_id=4, direction=leases.INBOUND)


def test_one_field_at_a_time_and_null_goes_back_to_the_default(platform_admin_client, customer_a):
    data = assert_success(platform_admin_client.patch(url(customer_a), {"concurrencyLimit": 25}, format="json"))
    assert (data["concurrencyLimit"], data["reservedInboundConcurrency"]) == (25, 2)
    assert data["capacityIsDefault"] == {"concurrencyLimit": False, "reservedInboundConcurrency": True}
    assert stored(customer_a) == (25, None)
    data = assert_success(platform_admin_client.patch(url(customer_a), {"concurrencyLimit": None}, format="json"))
    assert (data["concurrencyLimit"], data["capacityIsDefault"]["concurrencyLimit"]) == (10, True)
    assert stored(customer_a) == (None, None)


def test_zero_closes_the_customer_to_calls(platform_admin_client, customer_a):
    body = {"concurrencyLimit": 0, "reservedInboundConcurrency": 0}
    data = assert_success(platform_admin_client.patch(url(customer_a), body, format="json"))
    assert (data["concurrencyLimit"], data["reservedInboundConcurrency"]) == (0, 0)
    assert not leases.acquire(customer_id=customer_a.id, call_id=1, direction=leases.INBOUND)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"concurrencyLimit": -1}, "concurrencyLimit"),
        ({"concurrencyLimit": "many"}, "concurrencyLimit"),
        ({"concurrencyLimit": 2.5}, "concurrencyLimit"),
        ({"concurrencyLimit": True}, "concurrencyLimit"),
        ({"reservedInboundConcurrency": -3}, "reservedInboundConcurrency"),
        ({"concurrencyLimit": 10_001}, "concurrencyLimit"),
        ({}, "concurrencyLimit"),
        # reserved above the limit: both given, or the other one's stored/default value
        ({"concurrencyLimit": 4, "reservedInboundConcurrency": 5}, "reservedInboundConcurrency"),
        ({"concurrencyLimit": 1}, "reservedInboundConcurrency"),  # the default reserve is 2
        ({"reservedInboundConcurrency": 11}, "reservedInboundConcurrency"),  # the default limit is 10
    ],
)
def test_bad_values_are_refused_and_nothing_changes(platform_admin_client, customer_a, body, field):
    CallCapacity.objects.create(customer=customer_a, concurrency_limit=None, reserved_inbound_concurrency=None)
    assert_error(
        platform_admin_client.patch(url(customer_a), body, format="json"), 400, "Validation failed", fields=[field]
    )
    assert stored(customer_a) == (None, None)


def test_the_refusal_says_what_the_limit_is(platform_admin_client, customer_a):
    CallCapacity.objects.create(customer=customer_a, concurrency_limit=6, reserved_inbound_concurrency=1)
    body = assert_error(
        platform_admin_client.patch(url(customer_a), {"reservedInboundConcurrency": 7}, format="json"), 400
    )
    assert body["errors"] == [
        {"field": "reservedInboundConcurrency", "message": "Must not exceed concurrencyLimit (6); it is 7"}
    ]
    assert stored(customer_a) == (6, 1)


def test_changes_are_audited(platform_admin_client, platform_admin, customer_a, caplog):
    with caplog.at_level(logging.INFO, logger="morpheus.audit"):
        assert_success(platform_admin_client.patch(url(customer_a), {"concurrencyLimit": 4}, format="json"))
        assert_success(platform_admin_client.patch(url(customer_a), {"concurrencyLimit": 4}, format="json"))
    [record] = [r for r in caplog.records if r.name == "morpheus.audit"]  # the no-op is not logged
    assert record.getMessage() == "call capacity changed"
    assert (record.customer, record.by) == (str(customer_a.id), str(platform_admin.pk))
    assert record.before == {"concurrency_limit": None, "reserved_inbound_concurrency": None}
    assert record.after == {"concurrency_limit": 4, "reserved_inbound_concurrency": None}


def test_unknown_or_deleted_customers_are_404(platform_admin_client, customer_a):
    from django.utils import timezone

    missing = f"/api/v1/admin/customers/{uuid.uuid4()}"
    assert_error(platform_admin_client.get(missing), 404)
    assert_error(platform_admin_client.patch(missing, {"concurrencyLimit": 3}, format="json"), 404)
    customer_a.deleted_at = timezone.now()
    customer_a.save()
    assert_error(platform_admin_client.patch(url(customer_a), {"concurrencyLimit": 3}, format="json"), 404)
    assert stored(customer_a) is None


@pytest.mark.parametrize("who", ["owner", "admin", "member"])
def test_tenants_cannot_see_or_change_capacity(customer_a, alice, who):
    user = alice if who == "owner" else UserFactory(customer=customer_a, role=getattr(Role, who.upper()))
    client = client_for(user)
    assert_error(client.get(url(customer_a)), 403, FORBIDDEN)
    assert_error(client.patch(url(customer_a), {"concurrencyLimit": 500}, format="json"), 403, FORBIDDEN)
    assert stored(customer_a) is None
