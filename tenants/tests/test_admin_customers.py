"""Customers in the platform admin: suspend and reactivate through the services (tested
directly too), what a suspension does to the API, the list's search and filters, and the
change form's validation."""

import functools
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from agents.tests.factories import AgentFactory
from calls.tests.factories import CallFactory
from morpheus.errors import Conflict, PermissionDenied
from tenants.models import Customer, CustomerStatus
from tenants.services import customer_reactivate, customer_suspend
from testsupport.admin import assert_refused_unchanged, run_action
from testsupport.api import assert_error, assert_success

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tenants/customer/"
SUSPENDED_MESSAGE = "Your organization's account is suspended"


def status_of(customer) -> str:
    return Customer.objects.get(pk=customer.pk).status


# --- Services -----------------------------------------------------------------------


def test_suspending_refuses_every_user_of_the_customer_until_reactivated(
    alice_client, charlie_client, bob_client, customer_a, platform_admin
):
    assert_success(alice_client.get("/api/v1/customers/me"))

    customer_suspend(customer=customer_a, actor=platform_admin)

    assert status_of(customer_a) == CustomerStatus.SUSPENDED
    assert_error(alice_client.get("/api/v1/customers/me"), 403, SUSPENDED_MESSAGE)
    assert_error(charlie_client.get("/api/v1/agents"), 403, SUSPENDED_MESSAGE)
    assert_success(bob_client.get("/api/v1/customers/me"))  # another tenant is untouched

    customer_reactivate(customer=customer_a, actor=platform_admin)
    assert_success(alice_client.get("/api/v1/customers/me"))


def test_suspending_twice_or_reactivating_an_active_customer_is_refused(customer_a, platform_admin):
    with pytest.raises(Conflict, match="Customer Alice Corp is not suspended"):
        customer_reactivate(customer=customer_a, actor=platform_admin)
    suspend = functools.partial(customer_suspend, customer=customer_a, actor=platform_admin)
    suspend()
    assert_refused_unchanged(suspend, customer_a, "Customer Alice Corp is already suspended")


def test_a_deleted_customer_is_left_alone(customer_a, platform_admin):
    Customer.objects.filter(pk=customer_a.pk).update(deleted_at=timezone.now())
    suspend = functools.partial(customer_suspend, customer=customer_a, actor=platform_admin)
    assert_refused_unchanged(suspend, customer_a, "Customer Alice Corp has been deleted")
    assert status_of(customer_a) == CustomerStatus.ACTIVE


def test_only_a_platform_admin_suspends(customer_a, alice, bob):
    for actor in (alice, bob):
        with pytest.raises(PermissionDenied):
            customer_suspend(customer=customer_a, actor=actor)
    assert status_of(customer_a) == CustomerStatus.ACTIVE


# --- The admin actions --------------------------------------------------------------


def test_the_suspend_action_names_what_it_did_and_what_it_skipped(admin_client, customer_a, customer_b, platform_admin):
    customer_suspend(customer=customer_b, actor=platform_admin)

    assert run_action(admin_client, CHANGELIST, "suspend_customers", customer_a, customer_b) == [
        ("warning", "Customer Bob Corp is already suspended"),
        ("success", "Suspended 1 customer: Alice Corp"),
    ]
    assert status_of(customer_a) == status_of(customer_b) == CustomerStatus.SUSPENDED
    entry = LogEntry.objects.get(object_id=str(customer_a.pk))
    assert entry.user_id == platform_admin.pk and entry.get_change_message() == "Suspended through the admin action"


def test_suspending_points_at_calls_still_in_progress(admin_client, customer_a):
    CallFactory(agent=AgentFactory(customer=customer_a))
    level, text = run_action(admin_client, CHANGELIST, "suspend_customers", customer_a)[-1]
    assert level == "warning" and text.startswith("1 call(s) of suspended customers are still in progress")
    assert "open=yes" in text and "customer__status__exact=suspended" in text


def test_the_reactivate_action(admin_client, customer_a, customer_b, platform_admin):
    customer_suspend(customer=customer_a, actor=platform_admin)
    Customer.objects.filter(pk=customer_b.pk).update(deleted_at=timezone.now())

    assert run_action(admin_client, CHANGELIST, "reactivate_customers", customer_a, customer_b) == [
        ("warning", "Customer Bob Corp has been deleted"),
        ("success", "Reactivated 1 customer: Alice Corp"),
    ]
    assert status_of(customer_a) == CustomerStatus.ACTIVE


# --- List and form ------------------------------------------------------------------


def test_the_list_finds_customers_by_name_member_email_and_id(admin_client, alice, charlie, bob, customer_a):
    for term in ("alice corp", "charlie@example.com", str(customer_a.pk)):
        page = admin_client.get(CHANGELIST, {"q": term})
        assert list(page.context["cl"].result_list) == [customer_a], term


def test_the_list_shows_counts_per_customer(admin_client, alice, charlie, bob, customer_a):
    AgentFactory.create_batch(2, customer=customer_a)
    page = admin_client.get(CHANGELIST, {"q": "Alice Corp"})
    [row] = page.context["cl"].result_list
    assert (row.users_n, row.agents_n, row.numbers_n, row.open_calls_n, row.owner_email) == (
        2,
        2,
        0,
        0,
        "alice@example.com",
    )


def test_the_status_and_deleted_filters(admin_client, customer_a, customer_b, platform_admin):
    customer_suspend(customer=customer_b, actor=platform_admin)
    page = admin_client.get(CHANGELIST, {"status__exact": "suspended"})
    assert list(page.context["cl"].result_list) == [customer_b]
    Customer.objects.filter(pk=customer_a.pk).update(deleted_at=timezone.now())
    page = admin_client.get(CHANGELIST, {"deleted": "no"})
    assert list(page.context["cl"].result_list) == [customer_b]


def test_the_change_page_shows_the_team_and_agents(admin_client, alice, charlie, customer_a):
    AgentFactory(customer=customer_a, name="Front Desk")
    page = admin_client.get(f"{CHANGELIST}{customer_a.pk}/change/")
    body = page.content.decode()
    assert "alice@example.com" in body and "charlie@example.com" in body and "Front Desk" in body
    assert customer_a.signing_secret not in body


def test_the_form_runs_the_tenant_validators_and_cannot_change_the_status(admin_client, customer_a):
    url = f"{CHANGELIST}{customer_a.pk}/change/"
    form = {
        "company_name": "  ",
        "phone": "12",
        "description": "",
        "avatar": "",
        "allowed_ips": '["10.0.0.0/33"]',
        "settings": '{"theme": "neon"}',
        "status": "suspended",
        **management_forms(),
    }
    response = admin_client.post(url, form)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"company_name", "phone", "allowed_ips", "settings"}
    assert Customer.objects.get(pk=customer_a.pk).company_name == "Alice Corp"

    good = form | {"company_name": " Alice Inc ", "phone": "+1 (415) 555-0199", "allowed_ips": "[]", "settings": "{}"}
    response = admin_client.post(url, good)
    assert response.status_code == 302, response.context["adminform"].form.errors
    customer_a.refresh_from_db()
    assert (customer_a.company_name, customer_a.phone, customer_a.status) == (
        "Alice Inc",
        "+14155550199",
        CustomerStatus.ACTIVE,
    )


def management_forms() -> dict:
    """The read-only inlines' formset management data the change form posts back."""
    data = {}
    for prefix in ("users", "agents"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return data


def test_customers_are_neither_added_nor_deleted_here(admin_client, customer_a):
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client.get(f"{CHANGELIST}{customer_a.pk}/delete/").status_code == 403


def test_the_counts_link_to_the_customers_own_rows(admin_client, alice, bob, customer_a, customer_b):
    AgentFactory(customer=customer_b)
    CallFactory(agent=AgentFactory(customer=customer_a))
    CallFactory(agent=AgentFactory(customer=customer_b))
    page = admin_client.get(CHANGELIST, {"q": "Alice Corp"})
    [row] = page.context["cl"].result_list
    admin = page.context["cl"].model_admin
    expected = {"user_total": 1, "agent_total": 1, "number_total": 0, "open_call_total": 1}
    for column, count in expected.items():
        url = re.search(r'href="([^"]+)"', getattr(admin, column)(row)).group(1).replace("&amp;", "&")
        listing = admin_client.get(url)
        assert listing.status_code == 200 and listing.context["cl"].result_count == count, column
        assert {obj.customer_id for obj in listing.context["cl"].result_list} <= {customer_a.pk}, column
