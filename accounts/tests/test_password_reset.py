"""Forgotten passwords (mailed single-use link) and changing a known password."""

import pytest
from django.utils import timezone

from accounts.models import RefreshToken, User, UserStatus
from accounts.tokens import (
    PASSWORD_RESET,
    make_email_verification_token,
    make_password_reset_token,
    read_password_reset_token,
)
from testsupport.api import assert_error, assert_success, client_for

from .factories import TEST_PASSWORD, UserFactory
from .helpers import backdated_token, mailed_link, tamper, token_of

pytestmark = pytest.mark.django_db

FORGOT_URL = "/api/v1/auth/password/forgot"
RESET_URL = "/api/v1/auth/password/reset"
CHANGE_URL = "/api/v1/auth/password/change"
FORGOT_OK = "If an account exists for this email, a password reset link has been sent."
RESET_OK = "Password has been reset successfully. Please log in with your new password."
USED = "This password reset link has already been used or is no longer valid"
NEW_PASSWORD = "Brand-New-Password-77"


@pytest.fixture
def forgot(post_and_commit):
    return lambda email, **extra: post_and_commit(FORGOT_URL, {"email": email}, **extra)


def sign_in(client, email="alice@example.com", password=TEST_PASSWORD):
    return client.post("/api/v1/auth/login", {"email": email, "password": password}, format="json")


def reset(client, token, password=NEW_PASSWORD):
    return client.post(RESET_URL, {"token": token, "password": password}, format="json")


def test_forgot_mails_a_link_to_an_active_user(forgot, alice, mailoutbox, settings):
    settings.FRONTEND_URL = "https://app.example.com"
    data = assert_success(forgot("Alice@Example.com"), 200, FORGOT_OK)
    assert data == {"passwordReset": {"email": "alice@example.com", "expiresIn": "1 hour"}}
    [message] = mailoutbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "Reset your Morpheus password"
    assert "60 minutes" in message.body
    assert mailed_link(message).startswith("https://app.example.com/reset-password?token=")


def test_forgot_answers_the_same_for_unknown_addresses_and_mails_nothing(forgot, alice, mailoutbox):
    known = assert_success(forgot("alice@example.com"))
    unknown = assert_success(forgot("nobody@example.com"))
    assert unknown == {"passwordReset": {"email": "nobody@example.com", "expiresIn": "1 hour"}}
    assert known.keys() == unknown.keys()
    assert [m.to for m in mailoutbox] == [["alice@example.com"]]


@pytest.mark.parametrize("state", ["invited", "suspended", "deleted"])
def test_forgot_mails_nothing_to_users_who_cannot_sign_in(forgot, charlie, mailoutbox, state):
    if state == "deleted":
        User.objects.filter(pk=charlie.pk).update(deleted_at=timezone.now())
    else:
        User.objects.filter(pk=charlie.pk).update(status=state)
    assert_success(forgot("charlie@example.com"), 200, FORGOT_OK)
    assert mailoutbox == []


@pytest.mark.parametrize("payload", [{}, {"email": "nope"}, {"email": 1}])
def test_forgot_validates_the_email(api_client, payload, mailoutbox):
    assert_error(api_client.post(FORGOT_URL, payload, format="json"), 400, "Validation failed", fields=["email"])
    assert mailoutbox == []


def test_reset_sets_the_password_and_ends_every_session(forgot, api_client, alice, mailoutbox):
    sessions = [assert_success(sign_in(api_client))["auth"]["tokens"] for _ in range(2)]
    forgot("alice@example.com")
    token = token_of(mailed_link(mailoutbox[0]))

    assert assert_success(reset(api_client, token), 200, RESET_OK) is None

    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert not RefreshToken.objects.filter(user=alice, revoked_at__isnull=True).exists()
    for session in sessions:
        refreshed = api_client.post("/api/v1/auth/refresh", {"refreshToken": session["refreshToken"]}, format="json")
        assert_error(refreshed, 401, "Refresh token has been revoked. Please log in again.")
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {session['accessToken']}")
        assert_error(api_client.get("/api/v1/auth/profile"), 401, "Token expired")
        api_client.credentials()
    assert_error(sign_in(api_client), 401, "Invalid email or password")
    assert_success(sign_in(api_client, password=NEW_PASSWORD), 200, "Login successful")


def test_reset_marks_the_email_verified(api_client, customer_a):
    user = UserFactory(email="unverified@example.com", email_verified=False, customer=customer_a)
    assert_success(reset(api_client, make_password_reset_token(user)), 200, RESET_OK)
    user.refresh_from_db()
    assert user.email_verified is True


def test_a_reset_link_works_once(api_client, alice):
    token = make_password_reset_token(alice)
    assert_success(reset(api_client, token), 200, RESET_OK)
    assert_error(reset(api_client, token, "Yet-Another-Password-88"), 400, USED)
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


def test_a_reset_link_dies_when_the_password_changes_otherwise(api_client, alice):
    token = make_password_reset_token(alice)
    alice.set_password("Changed-Elsewhere-99")
    alice.save()
    assert_error(reset(api_client, token), 400, USED)


def test_an_expired_reset_link_is_refused(api_client, alice):
    fresh_claims = {
        k: v for k, v in read_password_reset_token(make_password_reset_token(alice)).items() if k != "purpose"
    }
    token = backdated_token(PASSWORD_RESET, fresh_claims, age_seconds=3600 + 60)
    assert_error(reset(api_client, token), 400, "Password reset token has expired. Please request a new one.")
    alice.refresh_from_db()
    assert alice.check_password(TEST_PASSWORD)


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda user: tamper(make_password_reset_token(user)), id="tampered"),
        pytest.param(lambda user: "x" * 40, id="malformed"),
        pytest.param(lambda user: make_email_verification_token(user.email), id="verification-token"),
    ],
)
def test_tampered_malformed_and_wrong_purpose_tokens_are_refused(api_client, alice, make_token):
    assert_error(reset(api_client, make_token(alice)), 400, "Invalid password reset token")
    alice.refresh_from_db()
    assert alice.check_password(TEST_PASSWORD)


@pytest.mark.parametrize("state", [{"status": UserStatus.SUSPENDED}, {"deleted_at": "now"}])
def test_a_suspended_or_removed_user_cannot_reset(api_client, charlie, state):
    token = make_password_reset_token(charlie)
    User.objects.filter(pk=charlie.pk).update(**{k: timezone.now() if v == "now" else v for k, v in state.items()})
    assert_error(reset(api_client, token), 400, USED)


@pytest.mark.parametrize(
    ("password", "fields"),
    [("password", ["password"]), ("1234", ["password"]), (None, ["password"]), (99999999999, ["password"])],
)
def test_reset_refuses_weak_or_missing_passwords_and_the_link_survives(api_client, alice, password, fields):
    sign_in(api_client)
    token = make_password_reset_token(alice)
    assert_error(reset(api_client, token, password), 400, "Validation failed", fields=fields)
    alice.refresh_from_db()
    assert alice.check_password(TEST_PASSWORD)
    assert RefreshToken.objects.filter(user=alice, revoked_at__isnull=True).count() == 1
    assert_success(reset(api_client, token), 200, RESET_OK)


# --- Throttling the mails ---------------------------------------------------------


def test_mails_are_throttled_per_email(forgot, alice, mailoutbox, rates):
    rates(mail_email="2/hour", mail_ip="100/hour")
    for _ in range(2):
        assert_success(forgot("alice@example.com"))
    response = forgot("ALICE@example.com")
    assert_error(response, 429)
    assert int(response["Retry-After"]) > 60
    assert len(mailoutbox) == 2
    assert_success(forgot("charlie@example.com"))  # another inbox is not affected


def test_mails_are_throttled_per_ip(forgot, alice, mailoutbox, rates):
    rates(mail_email="100/hour", mail_ip="2/hour")
    assert_success(forgot("one@example.com"))
    assert_success(forgot("two@example.com"))
    assert_error(forgot("alice@example.com"), 429)
    assert mailoutbox == []
    assert_success(forgot("alice@example.com", REMOTE_ADDR="192.0.2.10"))
    assert len(mailoutbox) == 1


def test_verification_mails_share_the_mail_limits(api_client, rates, mailoutbox, django_capture_on_commit_callbacks):
    rates(mail_email="1/hour", mail_ip="100/hour")
    url = "/api/v1/auth/register/request-verification"
    with django_capture_on_commit_callbacks(execute=True):
        assert_success(api_client.post(url, {"email": "new@example.com"}, format="json"))
        response = api_client.post(url, {"email": "new@example.com"}, format="json")
    assert_error(response, 429)
    assert len(mailoutbox) == 1


# --- Changing a known password ----------------------------------------------------


def test_change_needs_the_current_password_and_keeps_only_this_session(api_client, alice):
    this_device = assert_success(sign_in(api_client))["auth"]["tokens"]
    other_device = assert_success(sign_in(api_client))["auth"]["tokens"]

    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {this_device['accessToken']}")
    payload = {"currentPassword": TEST_PASSWORD, "newPassword": NEW_PASSWORD}
    data = assert_success(client.post(CHANGE_URL, payload, format="json"), 200, "Password changed successfully")

    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    # The old tokens of every device are dead; the new pair works.
    assert_error(client.get("/api/v1/auth/profile"), 401, "Token expired")
    for old in (this_device, other_device):
        refreshed = api_client.post("/api/v1/auth/refresh", {"refreshToken": old["refreshToken"]}, format="json")
        assert_error(refreshed, 401)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {data['tokens']['accessToken']}")
    assert_success(client.get("/api/v1/auth/profile"))
    refreshed = api_client.post("/api/v1/auth/refresh", {"refreshToken": data["tokens"]["refreshToken"]}, format="json")
    assert_success(refreshed, 200, "Token refreshed successfully")


def test_change_refuses_a_wrong_current_password(alice_client, alice):
    payload = {"currentPassword": "Not-My-Password-1", "newPassword": NEW_PASSWORD}
    body = assert_error(alice_client.post(CHANGE_URL, payload, format="json"), 400, fields=["currentPassword"])
    assert body["errors"][0]["message"] == "Current password is incorrect"
    alice.refresh_from_db()
    assert alice.check_password(TEST_PASSWORD)


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"currentPassword": TEST_PASSWORD, "newPassword": "password"}, ["newPassword"]),
        ({"currentPassword": TEST_PASSWORD}, ["newPassword"]),
        ({"newPassword": NEW_PASSWORD}, ["currentPassword"]),
        ({"currentPassword": 1, "newPassword": 2}, ["currentPassword", "newPassword"]),
    ],
)
def test_change_validates_and_changes_nothing(alice_client, alice, payload, fields):
    assert_error(alice_client.post(CHANGE_URL, payload, format="json"), 400, "Validation failed", fields=fields)
    alice.refresh_from_db()
    assert alice.check_password(TEST_PASSWORD)


def test_change_needs_an_access_token(api_client):
    payload = {"currentPassword": TEST_PASSWORD, "newPassword": NEW_PASSWORD}
    assert_error(
        api_client.post(CHANGE_URL, payload, format="json"), 401, "Authentication credentials were not provided."
    )
