"""The platform admin portal in a real browser: Playwright driving Debian's Chromium against
the live server. Skipped, with the reason, when Chromium is missing (morpheus/tests/browser.py).

Screenshots of each step land in artifacts/screenshots/."""

import json
import urllib.error
import urllib.request

import pytest
from django.utils import timezone

from accounts.authentication import issue_access_token
from accounts.tests.factories import TEST_PASSWORD
from agents.tests.factories import AgentFactory
from calls.models import CallStatus
from calls.tests.factories import CallFactory, measured_exchange
from morpheus.tests.browser import admin_sign_in, screenshot
from tenants.models import CustomerStatus

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def api_get(live_server, path: str, user) -> tuple[int, dict]:
    """A real HTTP request to the live server, as the dashboard would make it."""
    request = urllib.request.Request(
        f"{live_server.url}{path}", headers={"Authorization": f"Bearer {issue_access_token(user)}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own live server
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def messages_on(page) -> str:
    return page.inner_text("ul.messagelist")


def test_it_lets_a_platform_admin_sign_in(page, live_server, platform_admin):
    admin_sign_in(page, live_server, platform_admin.email, TEST_PASSWORD)
    page.wait_for_selector("#site-name")
    assert "Morpheus platform admin" in page.inner_text("#site-name")
    assert "Customers active" in page.inner_text("#platform-overview")
    screenshot(page, "admin-index")


def test_it_refuses_a_tenant_owner_whatever_their_role(page, live_server, alice):
    admin_sign_in(page, live_server, alice.email, TEST_PASSWORD)
    page.wait_for_selector(".errornote")
    assert "staff account" in page.inner_text(".errornote")
    assert page.url.startswith(f"{live_server.url}/admin/login/")
    screenshot(page, "admin-tenant-owner-refused")


def test_a_platform_admin_suspends_a_customer_and_its_api_requests_are_refused(
    page, live_server, platform_admin, alice, bob, customer_a
):
    status, body = api_get(live_server, "/api/v1/customers/me", alice)
    assert (status, body["success"]) == (200, True)

    admin_sign_in(page, live_server, platform_admin.email, TEST_PASSWORD)
    page.wait_for_selector("#platform-overview")
    page.click("#platform-overview a:text('Customers active')")
    page.wait_for_selector("#result_list")
    assert "Alice Corp" in page.inner_text("#result_list") and "Bob Corp" in page.inner_text("#result_list")

    # Find the customer...
    page.fill("#searchbar", "Alice")
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#result_list")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1 and "Alice Corp" in rows.first.inner_text()
    screenshot(page, "admin-customer-found")

    # ... and suspend it with the action.
    rows.first.locator("input.action-select").check()
    page.select_option("select[name=action]", "suspend_customers")
    page.click("button[name=index]")
    page.wait_for_selector("ul.messagelist")
    assert "Suspended 1 customer: Alice Corp" in messages_on(page)
    screenshot(page, "admin-customer-suspended")
    customer_a.refresh_from_db()
    assert customer_a.status == CustomerStatus.SUSPENDED

    status, body = api_get(live_server, "/api/v1/customers/me", alice)
    assert (status, body["success"], body["message"]) == (403, False, "Your organization's account is suspended")
    status, _ = api_get(live_server, "/api/v1/customers/me", bob)
    assert status == 200  # other tenants carry on

    # It left the "active" list it was found in; from the full list, suspending it again is
    # refused by name, and changes nothing.
    page.goto(f"{live_server.url}/admin/tenants/customer/?q=Alice")
    page.wait_for_selector("#result_list")
    assert "Suspended" in page.inner_text("#result_list tbody tr")
    page.locator("#result_list tbody tr input.action-select").first.check()
    page.select_option("select[name=action]", "suspend_customers")
    page.click("button[name=index]")
    page.wait_for_selector("ul.messagelist")
    assert "Customer Alice Corp is already suspended" in messages_on(page)
    screenshot(page, "admin-customer-already-suspended")


def test_a_platform_admin_reads_a_calls_transcript_and_ends_it(page, live_server, platform_admin, customer_a):
    call = CallFactory(
        agent=AgentFactory(customer=customer_a, name="Front Desk"), status=CallStatus.ACTIVE, answered_at=timezone.now()
    )
    answer = "We are closed on Sundays, but open from nine on Monday."
    measured_exchange(call, "Hi, is the shop open on Sunday?", answer, (312.5, 421.0, 187.25, 934.75))

    admin_sign_in(page, live_server, platform_admin.email, TEST_PASSWORD)
    page.wait_for_selector("#platform-overview")
    page.click("#platform-overview a:text('Calls active now')")
    page.wait_for_selector("#result_list")
    page.click(f"#result_list a:text-is('{call.pk}')")
    page.wait_for_selector("#conversation")

    turns = page.locator("#conversation .turn")
    assert turns.count() == 2
    assert "Hi, is the shop open on Sunday?" in turns.nth(0).inner_text()
    assert "We are closed on Sundays, but open from nine on Monday." in turns.nth(1).inner_text()
    # Caller on the left, agent on the right: the bubbles alternate sides.
    caller_box, agent_box = turns.nth(0).locator("> div").bounding_box(), turns.nth(1).locator("> div").bounding_box()
    assert caller_box["x"] < agent_box["x"]
    transcript = page.inner_text("#conversation")
    for figure in ("312.5", "421", "187.25", "934.75"):
        assert figure in transcript
    # Times to the second.
    clock = turns.nth(0).locator("time.turn-time").inner_text()
    assert len(clock) == 8 and clock.count(":") == 2
    screenshot(page, "admin-call-transcript")

    page.click("a.end-call-link")
    page.wait_for_selector("input[value='Yes, end the call']")
    screenshot(page, "admin-call-end-confirm")
    page.click("input[value='Yes, end the call']")
    page.wait_for_selector("ul.messagelist")
    assert f"Call #{call.pk} ended" in messages_on(page)
    assert page.locator("a.end-call-link").count() == 0
    screenshot(page, "admin-call-ended")
    call.refresh_from_db()
    assert (call.status, call.end_reason) == (CallStatus.COMPLETED, "ended_by_user")


def test_the_overview_and_a_customers_page_show_call_charts(page, live_server, platform_admin, customer_a):
    from analytics.tests.helpers import make_call

    agent = AgentFactory(customer=customer_a, name="Front Desk")
    today = timezone.now().replace(hour=9, minute=0, second=0, microsecond=0)
    for hours, status in ((0, None), (1, CallStatus.FAILED), (25, None)):
        started = (today - timezone.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
        make_call(agent, started, status=status, reason="error" if status else "caller_hung_up", latencies=[800, 1200])

    admin_sign_in(page, live_server, platform_admin.email, TEST_PASSWORD)
    page.wait_for_selector("#analytics-charts")
    for chart in ("chart-calls-by-status", "chart-failure-rate", "chart-latency", "chart-busiest"):
        svg = page.locator(f"#{chart} svg")
        assert svg.count() == 1, chart
        assert svg.bounding_box()["width"] > 300, chart
    assert "Alice Corp" in page.inner_text("#chart-busiest")
    assert page.locator("#chart-calls-by-status svg rect.rect").count() > 0  # bars were drawn
    screenshot(page, "admin-overview-charts")

    page.goto(f"{live_server.url}/admin/tenants/customer/{customer_a.pk}/change/")
    page.wait_for_selector("#analytics-charts")
    assert page.locator("#analytics-charts svg").count() == 3
    assert page.locator("#chart-busiest").count() == 0
    screenshot(page, "admin-customer-charts")
