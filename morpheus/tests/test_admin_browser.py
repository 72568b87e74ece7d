"""The platform admin portal in a real browser (issue 8 extends these scenarios)."""

import pytest

from accounts.tests.factories import TEST_PASSWORD
from morpheus.tests.browser import admin_sign_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_lets_a_platform_admin_sign_in(page, live_server, platform_admin):
    admin_sign_in(page, live_server, platform_admin.email, TEST_PASSWORD)
    page.wait_for_selector("#site-name")
    assert "Morpheus platform admin" in page.inner_text("#site-name")
    screenshot(page, "admin-index")


def test_it_refuses_a_tenant_owner_whatever_their_role(page, live_server, alice):
    admin_sign_in(page, live_server, alice.email, TEST_PASSWORD)
    page.wait_for_selector(".errornote")
    assert "staff account" in page.inner_text(".errornote")
    assert page.url.startswith(f"{live_server.url}/admin/login/")
    screenshot(page, "admin-tenant-owner-refused")
