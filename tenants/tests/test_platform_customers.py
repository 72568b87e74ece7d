"""GET /admin/customers: every tenant, for platform admins only."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import UserFactory
from tenants.models import Customer
from tenants.tests.factories import CustomerFactory
from testsupport.api import assert_error, assert_success, client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/admin/customers"
FORBIDDEN = "You do not have permission to access this resource"


def test_it_lists_every_tenant_newest_first(platform_admin_client, alice, charlie, bob, customer_a, customer_b):
    UserFactory(customer=customer_a, deleted_at=timezone.now())
    data = assert_success(platform_admin_client.get(f"{URL}?page=1&limit=10"), 200, "Customers retrieved successfully")
    assert data["customers"] == [
        {
            "id": str(customer_b.id),
            "companyName": "Bob Corp",
            "status": "active",
            "userCount": 1,
            "createdAt": data["customers"][0]["createdAt"],
        },
        {
            "id": str(customer_a.id),
            "companyName": "Alice Corp",
            "status": "active",
            "userCount": 2,
            "createdAt": data["customers"][1]["createdAt"],
        },
    ]
    assert data["pagination"] == {"page": 1, "limit": 10, "total": 2, "totalPages": 1}


def test_it_searches_by_company_name_and_filters_by_status(platform_admin_client, db):
    CustomerFactory(company_name="Acme Robotics")
    CustomerFactory(company_name="ACME Voice", status="suspended")
    CustomerFactory(company_name="Globex")

    def names(query):
        return [c["companyName"] for c in assert_success(platform_admin_client.get(f"{URL}?{query}"))["customers"]]

    assert sorted(names("search=acme")) == ["ACME Voice", "Acme Robotics"]
    assert names("status=suspended") == ["ACME Voice"]
    assert names("search=acme&status=active") == ["Acme Robotics"]
    assert names("search=nothing-like-this") == []
    assert len(names("")) == 3
    assert len(names("search=&status=")) == 3


def test_soft_deleted_customers_are_not_listed(platform_admin_client, customer_a, customer_b):
    customer_b.deleted_at = timezone.now()
    customer_b.save()
    data = assert_success(platform_admin_client.get(URL))
    assert [c["id"] for c in data["customers"]] == [str(customer_a.id)]


def test_it_pages(platform_admin_client, db):
    CustomerFactory.create_batch(5)
    data = assert_success(platform_admin_client.get(f"{URL}?page=3&limit=2"))
    assert len(data["customers"]) == 1
    assert data["pagination"] == {"page": 3, "limit": 2, "total": 5, "totalPages": 3}


@pytest.mark.parametrize(
    ("query", "fields"), [("status=deleted", ["status"]), ("page=0", ["page"]), ("limit=500", ["limit"])]
)
def test_it_rejects_bad_queries(platform_admin_client, query, fields):
    assert_error(platform_admin_client.get(f"{URL}?{query}"), 400, "Validation failed", fields=fields)


def test_it_keeps_a_constant_query_count(platform_admin_client, db):
    for customer in CustomerFactory.create_batch(2):
        UserFactory.create_batch(2, customer=customer)
    with CaptureQueriesContext(connection) as few:
        assert_success(platform_admin_client.get(URL))
    for customer in CustomerFactory.create_batch(20):
        UserFactory(customer=customer)
    with CaptureQueriesContext(connection) as many:
        data = assert_success(platform_admin_client.get(f"{URL}?limit=100"))
    assert len(data["customers"]) == 22
    assert len(many) == len(few)


@pytest.mark.parametrize("who", ["owner", "admin", "member", "newcomer"])
@pytest.mark.parametrize("url", [URL, "/api/v1/admin/system/health"])
def test_everyone_else_gets_the_spec_403(customer_a, alice, who, url):
    user = {
        "owner": alice,
        "admin": lambda: UserFactory(customer=customer_a, role=Role.ADMIN),
        "member": lambda: UserFactory(customer=customer_a, role=Role.MEMBER),
        "newcomer": lambda: UserFactory(),
    }[who]
    user = user() if callable(user) else user
    assert_error(client_for(user).get(url), 403, FORBIDDEN)


@pytest.mark.parametrize("url", [URL, "/api/v1/admin/system/health"])
def test_it_needs_a_token(api_client, url):
    assert_error(api_client.get(url), 401)
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert_error(api_client.get(url), 401, "Invalid token")


def test_customers_are_listed_whatever_the_admins_own_customer(platform_admin, customer_a, customer_b):
    # A platform admin's customer (normally none) does not narrow the list.
    platform_admin.customer = customer_a
    platform_admin.save()
    data = assert_success(client_for(platform_admin).get(URL))
    assert {c["id"] for c in data["customers"]} == {str(customer_a.id), str(customer_b.id)}
    assert Customer.objects.count() == 2
