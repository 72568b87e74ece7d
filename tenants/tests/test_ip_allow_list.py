"""allowedIps: enforced on every tenant request, with the client address requestInfo.ip shows."""

import pytest
from django.test import override_settings

from accounts.models import Role
from accounts.tests.factories import UserFactory
from tenants.models import Customer
from testsupport.api import assert_error, assert_success, client_for

pytestmark = pytest.mark.django_db

ME = "/api/v1/customers/me"
IP_REFUSED = "Access from your IP address is not allowed for this organization"
OUTSIDE = "203.0.113.9"


def restrict(customer, rules):
    customer.allowed_ips = rules
    customer.save(update_fields=["allowed_ips"])


def tenant_requests(member):
    """Every tenant endpoint of this app, as (method, url, payload)."""
    return [
        ("get", ME, None),
        ("patch", ME, {"companyName": "Changed"}),
        ("get", "/api/v1/users", None),
        ("post", "/api/v1/users", {"email": "new@example.com"}),
        ("get", f"/api/v1/users/{member.id}", None),
        ("patch", f"/api/v1/users/{member.id}", {"role": "admin"}),
        ("delete", f"/api/v1/users/{member.id}", None),
    ]


def snapshot(customer):
    return (
        list(Customer.objects.filter(pk=customer.pk).values()),
        list(customer.users.order_by("email").values("email", "role", "deleted_at")),
    )


@pytest.mark.parametrize("index", range(7))
def test_every_tenant_endpoint_refuses_an_address_outside_the_list(alice_client, customer_a, charlie, index):
    restrict(customer_a, ["10.0.0.0/8", "2001:db8::/32"])
    method, url, payload = tenant_requests(charlie)[index]
    before = snapshot(customer_a)
    response = getattr(alice_client, method)(url, payload, format="json", REMOTE_ADDR=OUTSIDE)
    body = assert_error(response, 403, IP_REFUSED)
    assert body["requestInfo"]["ip"] == OUTSIDE
    assert snapshot(customer_a) == before


@pytest.mark.parametrize("address", ["10.20.30.40", "2001:db8::7", "198.51.100.7", "::ffff:10.0.0.5"])
def test_an_address_inside_the_list_gets_through(alice_client, customer_a, address):
    restrict(customer_a, ["10.0.0.0/8", "2001:db8::/32", "198.51.100.7"])
    data = assert_success(alice_client.get(ME, REMOTE_ADDR=address))
    assert data["allowedIps"] == ["10.0.0.0/8", "2001:db8::/32", "198.51.100.7"]


def test_an_empty_or_missing_list_allows_everyone(alice_client, customer_a):
    for rules in (None, []):
        restrict(customer_a, rules)
        assert_success(alice_client.get(ME, REMOTE_ADDR=OUTSIDE))


def test_the_list_applies_to_every_role_of_the_customer_only(charlie_client, bob_client, customer_a):
    restrict(customer_a, ["10.0.0.0/8"])
    assert_error(charlie_client.get("/api/v1/users", REMOTE_ADDR=OUTSIDE), 403, IP_REFUSED)
    assert_success(bob_client.get("/api/v1/users", REMOTE_ADDR=OUTSIDE))


def test_the_refusal_starts_on_the_very_next_request(alice_client, customer_a):
    assert_success(alice_client.get(ME, REMOTE_ADDR=OUTSIDE))
    restrict(customer_a, ["10.0.0.0/8"])
    assert_error(alice_client.get(ME, REMOTE_ADDR=OUTSIDE), 403, IP_REFUSED)


@override_settings(NUM_PROXIES=1)
def test_behind_a_proxy_the_address_the_proxy_saw_decides(alice_client, customer_a):
    restrict(customer_a, ["10.0.0.0/8"])
    # Our proxy appended the address it saw; anything left of it was written by the client.
    ok = alice_client.get(ME, REMOTE_ADDR="172.16.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1, 10.1.2.3")
    assert_success(ok)
    assert ok.json()["requestInfo"]["ip"] == "10.1.2.3"
    forged = alice_client.get(ME, REMOTE_ADDR="172.16.0.1", HTTP_X_FORWARDED_FOR="10.0.0.5, 203.0.113.9")
    assert assert_error(forged, 403, IP_REFUSED)["requestInfo"]["ip"] == "203.0.113.9"


def test_without_trusted_proxies_x_forwarded_for_is_ignored(alice_client, customer_a):
    restrict(customer_a, ["10.0.0.0/8"])
    response = alice_client.get(ME, REMOTE_ADDR=OUTSIDE, HTTP_X_FORWARDED_FOR="10.0.0.5")
    assert assert_error(response, 403, IP_REFUSED)["requestInfo"]["ip"] == OUTSIDE


def test_onboarding_is_not_subject_to_an_allow_list(db):
    newcomer = UserFactory()
    response = client_for(newcomer).post(
        "/api/v1/customers/onboard", {"companyName": "Fresh"}, format="json", REMOTE_ADDR=OUTSIDE
    )
    assert_success(response, 201)


# --- Not locking yourself out -------------------------------------------------------


def test_an_owner_cannot_lock_out_their_own_address_by_accident(alice_client, customer_a):
    response = alice_client.patch(ME, {"allowedIps": ["10.0.0.0/8"]}, format="json", REMOTE_ADDR=OUTSIDE)
    body = assert_error(response, 400, "Validation failed", fields=["allowedIps"])
    assert f"Your current IP address {OUTSIDE} is not in allowedIps" in body["errors"][0]["message"]
    assert "confirmLockout" in body["errors"][0]["message"]
    customer_a.refresh_from_db()
    assert customer_a.allowed_ips is None
    assert_success(alice_client.get(ME, REMOTE_ADDR=OUTSIDE))


def test_other_fields_in_the_refused_request_are_not_saved_either(alice_client, customer_a):
    payload = {"companyName": "Renamed", "allowedIps": ["10.0.0.0/8"]}
    assert_error(alice_client.patch(ME, payload, format="json", REMOTE_ADDR=OUTSIDE), 400)
    customer_a.refresh_from_db()
    assert customer_a.company_name == "Alice Corp"


def test_confirm_lockout_saves_it_and_the_next_request_is_refused(alice_client, customer_a):
    payload = {"allowedIps": ["10.0.0.0/8"], "confirmLockout": True}
    data = assert_success(alice_client.patch(ME, payload, format="json", REMOTE_ADDR=OUTSIDE))
    assert data["allowedIps"] == ["10.0.0.0/8"]
    assert_error(alice_client.get(ME, REMOTE_ADDR=OUTSIDE), 403, IP_REFUSED)
    assert_success(alice_client.get(ME, REMOTE_ADDR="10.9.9.9"))


def test_a_list_that_includes_the_callers_address_needs_no_confirmation(alice_client, customer_a):
    data = assert_success(
        alice_client.patch(ME, {"allowedIps": [f"{OUTSIDE}", "10.0.0.0/8"]}, format="json", REMOTE_ADDR=OUTSIDE)
    )
    assert data["allowedIps"] == [OUTSIDE, "10.0.0.0/8"]
    assert_success(alice_client.get(ME, REMOTE_ADDR=OUTSIDE))


@override_settings(NUM_PROXIES=1)
def test_the_lockout_check_uses_the_same_client_address_as_enforcement(alice_client, customer_a):
    headers = {"REMOTE_ADDR": "172.16.0.1", "HTTP_X_FORWARDED_FOR": "10.1.2.3"}
    assert_success(alice_client.patch(ME, {"allowedIps": ["10.0.0.0/8"]}, format="json", **headers))
    refused = alice_client.patch(ME, {"allowedIps": ["172.16.0.0/12"]}, format="json", **headers)
    assert_error(refused, 400, "Validation failed", fields=["allowedIps"])


def test_an_admin_gets_the_same_lockout_protection(customer_a, alice):
    admin = UserFactory(customer=customer_a, role=Role.ADMIN)
    response = client_for(admin).patch(ME, {"allowedIps": ["10.0.0.0/8"]}, format="json", REMOTE_ADDR=OUTSIDE)
    assert_error(response, 400, "Validation failed", fields=["allowedIps"])
