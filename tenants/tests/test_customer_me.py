"""GET and PATCH /customers/me."""

import pytest

from accounts.tests.factories import UserFactory
from tenants.models import Customer
from testsupport.api import assert_error, assert_success, client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/me"
FORBIDDEN = "You do not have permission to access this resource"


def stored(customer):
    fresh = Customer.objects.get(pk=customer.pk)
    return {f.attname: getattr(fresh, f.attname) for f in fresh._meta.concrete_fields}


def test_it_shows_the_callers_customer(charlie_client, customer_a, alice):
    customer_a.settings = {"theme": "dark"}
    customer_a.allowed_ips = []
    customer_a.avatar = "https://example.com/logo.png"
    customer_a.save()
    data = assert_success(charlie_client.get(URL), 200, "Customer details retrieved")
    assert data == {
        "id": str(customer_a.id),
        "companyName": "Alice Corp",
        "phone": "+14155550100",
        "description": "",
        "status": "active",
        "avatar": "https://example.com/logo.png",
        "settings": {"theme": "dark"},
        "allowedIps": [],
        "createdBy": str(alice.id),
        "createdAt": data["createdAt"],
        "updatedAt": data["updatedAt"],
        "deletedAt": None,
    }
    assert "signingSecret" not in data


def test_each_tenant_sees_only_its_own_customer(alice_client, bob_client, customer_a, customer_b):
    assert assert_success(alice_client.get(URL))["id"] == str(customer_a.id)
    assert assert_success(bob_client.get(URL))["id"] == str(customer_b.id)


def test_a_user_without_a_customer_is_told_to_onboard(db):
    newcomer = UserFactory()
    assert_error(client_for(newcomer).get(URL), 403, "Please complete onboarding to access this resource")
    assert_error(
        client_for(newcomer).patch(URL, {"companyName": "X"}, format="json"),
        403,
        "Please complete onboarding to access this resource",
    )


def test_a_suspended_customer_is_refused(alice_client, customer_a):
    customer_a.status = "suspended"
    customer_a.save()
    assert_error(alice_client.get(URL), 403, "Your organization's account is suspended")
    before = stored(customer_a)
    assert_error(alice_client.patch(URL, {"status": "active", "companyName": "X"}, format="json"), 403)
    assert stored(customer_a) == before


def test_a_soft_deleted_customer_is_refused(alice_client, customer_a):
    from django.utils import timezone

    customer_a.deleted_at = timezone.now()
    customer_a.save()
    assert_error(alice_client.get(URL), 403, "Your organization's account is suspended")


def test_an_owner_updates_one_field_and_leaves_the_rest(alice_client, customer_a):
    customer_a.settings = {"theme": "dark"}
    customer_a.save()
    before = stored(customer_a)
    data = assert_success(
        alice_client.patch(URL, {"companyName": "Updated Corp"}, format="json"), 200, "Customer details updated"
    )
    assert data["companyName"] == "Updated Corp"
    assert data["settings"] == {"theme": "dark"} and data["phone"] == "+14155550100"
    after = stored(customer_a)
    assert after.pop("company_name") == "Updated Corp"
    assert after.pop("updated_at") > before.pop("updated_at")
    before.pop("company_name")
    assert after == before


def test_an_admin_updates_every_editable_field(customer_a, alice):
    admin = UserFactory(customer=customer_a, role="admin")
    payload = {
        "companyName": "New Name",
        "phone": "+44 20 7946 0958",
        "description": "Voice agents for dentists",
        "avatar": "https://cdn.example.com/a.png",
        "settings": {"theme": "light", "timezone": "Europe/Berlin", "brand": {"color": "#ff0000"}},
        "allowedIps": ["127.0.0.1", "10.0.0.0/8", "2001:db8::/32"],
    }
    data = assert_success(client_for(admin).patch(URL, payload, format="json"), 200, "Customer details updated")
    assert data["companyName"] == "New Name"
    assert data["phone"] == "+442079460958"
    assert data["description"] == "Voice agents for dentists"
    assert data["avatar"] == "https://cdn.example.com/a.png"
    assert data["settings"] == {"theme": "light", "timezone": "Europe/Berlin", "brand": {"color": "#ff0000"}}
    assert data["allowedIps"] == ["127.0.0.1", "10.0.0.0/8", "2001:db8::/32"]
    customer_a.refresh_from_db()
    assert customer_a.allowed_ips == ["127.0.0.1", "10.0.0.0/8", "2001:db8::/32"]
    assert customer_a.phone == "+442079460958"


def test_settings_are_merged_and_null_removes_a_key(alice_client, customer_a):
    customer_a.settings = {"theme": "dark", "brand": {"color": "#000", "font": "Inter"}, "beta": True}
    customer_a.save()
    data = assert_success(
        alice_client.patch(
            URL, {"settings": {"brand": {"color": "#fff"}, "beta": None, "language": "de"}}, format="json"
        )
    )
    expected = {"theme": "dark", "brand": {"color": "#fff", "font": "Inter"}, "language": "de"}
    assert data["settings"] == expected
    customer_a.refresh_from_db()
    assert customer_a.settings == expected


def test_clearing_optional_fields(alice_client, customer_a):
    customer_a.avatar = "https://example.com/logo.png"
    customer_a.allowed_ips = ["127.0.0.1"]
    customer_a.save()
    data = assert_success(
        alice_client.patch(URL, {"phone": None, "avatar": None, "description": "", "allowedIps": None}, format="json")
    )
    # A cleared allow-list reads as [] (the spec's shape), never null.
    assert (data["phone"], data["avatar"], data["description"], data["allowedIps"]) == (None, None, "", [])
    assert_success(alice_client.patch(URL, {"allowedIps": []}, format="json"))
    customer_a.refresh_from_db()
    assert customer_a.allowed_ips == [] and customer_a.phone == "" and customer_a.avatar is None


def test_read_only_fields_are_ignored(alice_client, customer_a, bob):
    before = stored(customer_a)
    payload = {"status": "suspended", "id": "00000000-0000-0000-0000-000000000000", "createdBy": str(bob.id)}
    data = assert_success(alice_client.patch(URL, payload, format="json"))
    assert data["status"] == "active" and data["id"] == str(customer_a.id)
    after = stored(customer_a)
    after.pop("updated_at"), before.pop("updated_at")
    assert after == before


def test_a_member_cannot_update(charlie_client, customer_a):
    before = stored(customer_a)
    assert_error(charlie_client.patch(URL, {"companyName": "Hijacked"}, format="json"), 403, FORBIDDEN)
    assert stored(customer_a) == before


def test_a_platform_admin_has_no_customer_to_update(platform_admin_client):
    assert_error(platform_admin_client.patch(URL, {"companyName": "X"}, format="json"), 403)


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"companyName": ""}, ["companyName"]),
        ({"companyName": "  "}, ["companyName"]),
        ({"companyName": None}, ["companyName"]),
        ({"phone": "555-0100"}, ["phone"]),
        ({"phone": "+1"}, ["phone"]),
        ({"avatar": "not a url"}, ["avatar"]),
        ({"avatar": "ftp://example.com/a.png"}, ["avatar"]),
        ({"settings": ["dark"]}, ["settings"]),
        ({"settings": "dark"}, ["settings"]),
        ({"settings": {"theme": "neon"}}, ["settings.theme"]),
        ({"settings": {"timezone": "Mars/Olympus"}}, ["settings.timezone"]),
        ({"settings": {"theme": "neon", "timezone": 5}}, ["settings.theme", "settings.timezone"]),
        ({"settings": {"blob": "x" * 17000}}, ["settings"]),
        ({"allowedIps": "10.0.0.1"}, ["allowedIps"]),
        ({"allowedIps": ["10.0.0.1", "300.1.1.1"]}, ["allowedIps.1"]),
        ({"allowedIps": ["10.0.0.0/33"]}, ["allowedIps.0"]),
        ({"allowedIps": ["10.1.2.3/8"]}, ["allowedIps.0"]),
        ({"allowedIps": ["localhost", "", "::1/129"]}, ["allowedIps.0", "allowedIps.1", "allowedIps.2"]),
        ({"allowedIps": [{"ip": "10.0.0.1"}]}, ["allowedIps.0"]),
        ({"allowedIps": ["127.0.0.1"] + [f"10.0.{i // 256}.{i % 256}" for i in range(100)]}, ["allowedIps"]),
        ({"confirmLockout": "maybe"}, ["confirmLockout"]),
        ({"companyName": "", "phone": "abc"}, ["companyName"]),
    ],
)
def test_it_rejects_bad_input_and_changes_nothing(alice_client, customer_a, payload, fields):
    before = stored(customer_a)
    assert_error(alice_client.patch(URL, payload, format="json"), 400, "Validation failed", fields=fields)
    assert stored(customer_a) == before


def test_it_explains_a_range_with_host_bits_set(alice_client):
    body = assert_error(alice_client.patch(URL, {"allowedIps": ["10.1.2.3/8"]}, format="json"), 400)
    assert body["errors"] == [
        {"field": "allowedIps.0", "message": "'10.1.2.3/8' has host bits set; did you mean 10.0.0.0/8?"}
    ]


def test_allowed_ips_are_stored_canonical_and_distinct(alice_client, customer_a):
    payload = {"allowedIps": [" 127.0.0.1 ", "127.0.0.1/32", "10.0.0.0/8", "2001:0db8:0000::/32", "::1/128"]}
    data = assert_success(alice_client.patch(URL, payload, format="json"))
    assert data["allowedIps"] == ["127.0.0.1", "10.0.0.0/8", "2001:db8::/32", "::1"]


def test_an_empty_patch_changes_nothing(alice_client, customer_a):
    before = stored(customer_a)
    data = assert_success(alice_client.patch(URL, {}, format="json"), 200, "Customer details updated")
    assert data["companyName"] == "Alice Corp"
    assert stored(customer_a) == before
