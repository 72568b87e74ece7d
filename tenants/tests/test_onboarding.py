"""POST /customers/onboard."""

import re

import pytest

from accounts.models import Role
from accounts.tests.factories import UserFactory
from tenants.models import Customer
from tenants.schema import CUSTOMER_EXAMPLE
from testsupport.api import assert_error, assert_success, client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/onboard"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def newcomer(db):
    return UserFactory(email="dana@example.com", name="Dana")


def test_it_creates_the_customer_and_makes_the_user_its_owner(newcomer):
    payload = {"companyName": "Tech Corp", "phone": "+1234567890", "description": "AI Lab"}
    data = assert_success(
        client_for(newcomer).post(URL, payload, format="json"), 201, "Customer onboarded successfully"
    )

    customer = Customer.objects.get()
    assert data["customer"] == {
        **CUSTOMER_EXAMPLE,  # the spec's example (its payload is the one sent), with this customer's own values
        "id": str(customer.id),
        "createdBy": str(newcomer.id),
        "createdAt": data["customer"]["createdAt"],
        "updatedAt": data["customer"]["updatedAt"],
    }
    assert ISO.match(data["customer"]["createdAt"]) and ISO.match(data["customer"]["updatedAt"])
    assert data["user"] == {"id": str(newcomer.id), "customerId": str(customer.id), "role": "owner"}

    newcomer.refresh_from_db()
    assert newcomer.customer_id == customer.id
    assert newcomer.role == Role.OWNER
    assert newcomer.needs_onboarding is False
    assert customer.created_by_id == newcomer.id


def test_the_new_owner_reaches_tenant_endpoints_with_the_same_token(newcomer):
    client = client_for(newcomer)
    assert_error(client.get("/api/v1/customers/me"), 403, "Please complete onboarding to access this resource")
    assert_success(client.post(URL, {"companyName": "Tech Corp"}, format="json"), 201)
    data = assert_success(client.get("/api/v1/customers/me"), 200, "Customer details retrieved")
    assert data["companyName"] == "Tech Corp"


def test_it_needs_only_a_company_name_and_normalises_the_phone(newcomer):
    client = client_for(newcomer)
    data = assert_success(
        client.post(URL, {"companyName": "  Tech Corp  ", "phone": "+1 (415) 555-0100"}, format="json"), 201
    )
    assert data["customer"]["companyName"] == "Tech Corp"
    assert data["customer"]["phone"] == "+14155550100"
    assert data["customer"]["description"] == ""


def test_it_refuses_a_second_onboarding_with_409_and_changes_nothing(alice_client, alice, customer_a):
    response = alice_client.post(URL, {"companyName": "Another Corp"}, format="json")
    assert_error(response, 409, "You have already completed onboarding for a customer")
    assert list(Customer.objects.values_list("company_name", flat=True)) == ["Alice Corp"]
    alice.refresh_from_db()
    assert alice.customer_id == customer_a.id and alice.role == Role.OWNER


def test_a_member_of_a_customer_cannot_onboard_either(charlie_client, charlie):
    assert_error(charlie_client.post(URL, {"companyName": "Side Project"}, format="json"), 409)
    charlie.refresh_from_db()
    assert charlie.role == Role.MEMBER
    assert Customer.objects.count() == 1


def test_it_refuses_a_platform_admin(platform_admin_client, platform_admin):
    response = platform_admin_client.post(URL, {"companyName": "Root Corp"}, format="json")
    assert_error(response, 403, "Platform admins do not belong to a customer and cannot onboard")
    assert not Customer.objects.exists()
    platform_admin.refresh_from_db()
    assert platform_admin.role == Role.PLATFORM_ADMIN and platform_admin.customer_id is None


def test_it_needs_a_token(api_client):
    assert_error(api_client.post(URL, {"companyName": "Tech Corp"}, format="json"), 401)
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, ["companyName"]),
        ({"companyName": ""}, ["companyName"]),
        ({"companyName": "   "}, ["companyName"]),
        ({"companyName": None}, ["companyName"]),
        ({"companyName": "x" * 201}, ["companyName"]),
        ({"companyName": "Tech Corp", "phone": "12345"}, ["phone"]),
        ({"companyName": "Tech Corp", "phone": "+0123456789"}, ["phone"]),
        ({"companyName": "Tech Corp", "phone": "+1-800-FLOWERS"}, ["phone"]),
        ({"companyName": "Tech Corp", "phone": "+1234567890123456"}, ["phone"]),
        ({"companyName": ["Tech Corp"]}, ["companyName"]),
    ],
)
def test_it_rejects_bad_input_and_creates_nothing(newcomer, payload, fields):
    response = client_for(newcomer).post(URL, payload, format="json")
    assert_error(response, 400, "Validation failed", fields=fields)
    assert not Customer.objects.exists()
    newcomer.refresh_from_db()
    assert newcomer.customer_id is None and newcomer.role == Role.MEMBER


def test_malformed_json_is_a_400(newcomer):
    response = client_for(newcomer).post(URL, data="{not json", content_type="application/json")
    assert_error(response, 400, "Malformed JSON in request body")
    assert not Customer.objects.exists()
