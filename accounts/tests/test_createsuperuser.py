"""`createsuperuser` makes a platform admin who can use the API and the Django admin."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from accounts.models import RefreshToken, Role, User
from testsupport.api import assert_success

pytestmark = pytest.mark.django_db

PASSWORD = "Root-Password-For-Tests-1"


@pytest.fixture
def superuser_env(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Root@Example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    monkeypatch.setenv("DJANGO_SUPERUSER_NAME", "Platform Root")


def test_noinput_creates_an_active_verified_platform_admin(superuser_env):
    call_command("createsuperuser", interactive=False, verbosity=0)

    user = User.objects.get()
    assert (user.email, user.name, user.role) == ("root@example.com", "Platform Root", Role.PLATFORM_ADMIN)
    assert (user.status, user.email_verified, user.customer_id, user.deleted_at) == ("active", True, None, None)
    assert user.check_password(PASSWORD)
    assert user.is_staff and user.is_superuser and user.is_active


def test_the_platform_admin_logs_in_through_the_api(superuser_env, api_client):
    call_command("createsuperuser", interactive=False, verbosity=0)
    response = api_client.post("/api/v1/auth/login", {"email": "root@example.com", "password": PASSWORD}, format="json")
    user = assert_success(response, 200, "Login successful")["auth"]["user"]
    assert (user["role"], user["customerId"], user["needsOnboarding"]) == ("platform_admin", None, False)


def test_the_platform_admin_signs_in_to_the_django_admin(superuser_env):
    call_command("createsuperuser", interactive=False, verbosity=0)
    browser = Client()
    response = browser.post(
        "/admin/login/?next=/admin/", {"username": "root@example.com", "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    index = browser.get("/admin/")
    assert index.status_code == 200
    assert "Morpheus platform admin" in index.content.decode()


def test_a_tenant_user_cannot_use_the_django_admin(alice):
    browser = Client()
    response = browser.post("/admin/login/", {"username": "alice@example.com", "password": "Correct-Horse-Battery-9"})
    assert response.status_code == 200  # the form again, with an error
    assert browser.get("/admin/").status_code == 302


def test_noinput_needs_a_name(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "root@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    monkeypatch.delenv("DJANGO_SUPERUSER_NAME", raising=False)
    with pytest.raises(CommandError, match="name"):
        call_command("createsuperuser", interactive=False, verbosity=0)
    assert User.objects.count() == 0


def test_noinput_refuses_a_taken_email(superuser_env, alice, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "ALICE@example.com")
    with pytest.raises(CommandError, match="already taken"):
        call_command("createsuperuser", interactive=False, verbosity=0)
    assert User.objects.filter(role=Role.PLATFORM_ADMIN).count() == 0


def test_the_admin_lists_users_and_tokens_without_hashes(superuser_env, alice, api_client):
    call_command("createsuperuser", interactive=False, verbosity=0)
    login = {"email": "alice@example.com", "password": "Correct-Horse-Battery-9"}
    assert_success(api_client.post("/api/v1/auth/login", login, format="json"))
    token = RefreshToken.objects.get()
    browser = Client()
    browser.force_login(User.objects.get(email="root@example.com"))
    alice_row = User.objects.get(email="alice@example.com")
    pages = [
        "/admin/accounts/user/",
        f"/admin/accounts/user/{alice_row.pk}/change/",
        "/admin/accounts/refreshtoken/",
        f"/admin/accounts/refreshtoken/{token.pk}/change/",
    ]
    for page in pages:
        response = browser.get(page)
        assert response.status_code == 200, page
        assert alice_row.password not in response.content.decode()
        assert token.token_hash not in response.content.decode()
    assert "alice@example.com" in browser.get("/admin/accounts/user/?q=alice").content.decode()
