"""Sign-up: request a verification link, then complete with its token."""

import functools

import pytest

from accounts import schema
from accounts.authentication import issue_access_token
from accounts.models import RefreshToken, Role, User, UserStatus
from accounts.tokens import (
    EMAIL_VERIFICATION,
    make_email_verification_token,
    make_invitation_token,
    make_password_reset_token,
)
from testsupport.api import assert_error, assert_success

from .factories import UserFactory
from .helpers import STRONG_PASSWORD, as_example, backdated_token, mailed_link, tamper, token_of

pytestmark = pytest.mark.django_db

REQUEST_URL = "/api/v1/auth/register/request-verification"
COMPLETE_URL = "/api/v1/auth/register/complete"
SENT = "Verification email sent. Please check your inbox."
REGISTERED = "Registration completed successfully"


@pytest.fixture
def request_verification(post_and_commit):
    return functools.partial(post_and_commit, REQUEST_URL)


def complete(client, **payload):
    payload = {"name": "Jane User", "password": STRONG_PASSWORD, **payload}
    return client.post(COMPLETE_URL, payload, format="json")


# --- request-verification ---------------------------------------------------------


def test_it_mails_a_verification_link_and_stores_nothing(request_verification, mailoutbox, settings):
    settings.FRONTEND_URL = "https://app.example.com"
    data = assert_success(request_verification({"email": "  Jane.User@Example.COM "}), 200, SENT)

    assert data == {"verification": {"email": "jane.user@example.com", "expiresIn": "24 hours"}}
    [message] = mailoutbox
    assert message.to == ["jane.user@example.com"]
    assert message.subject == "Verify your email to finish signing up for Morpheus"
    assert "24 hours" in message.body
    link = mailed_link(message)
    assert link.startswith("https://app.example.com/verify-email?token=")
    assert User.objects.count() == 0


def test_it_refuses_an_address_already_registered_in_any_case(request_verification, mailoutbox):
    UserFactory(email="taken@example.com")
    assert_error(request_verification({"email": "TAKEN@example.com"}), 409, "Email already registered")
    assert mailoutbox == []


@pytest.mark.parametrize("state", [{"status": UserStatus.INVITED}, {"status": UserStatus.SUSPENDED}, {"deleted": True}])
def test_it_refuses_addresses_of_invited_suspended_and_removed_users(request_verification, mailoutbox, state):
    from django.utils import timezone

    user = UserFactory(email="kept@example.com", status=state.get("status", UserStatus.ACTIVE))
    if state.get("deleted"):
        User.objects.filter(pk=user.pk).update(deleted_at=timezone.now())
    assert_error(request_verification({"email": "kept@example.com"}), 409, "Email already registered")
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "This field is required."),
        ({"email": "not-an-email"}, "Invalid email format"),
        ({"email": ""}, "This field may not be blank."),
        ({"email": None}, "This field may not be null."),
        ({"email": 12345}, "Not a valid string."),
        ({"email": ["a@example.com"]}, "Not a valid string."),
        ({"email": "a" * 250 + "@example.com"}, "Ensure this field has no more than 254 characters."),
    ],
)
def test_it_validates_the_email(request_verification, mailoutbox, payload, message):
    body = assert_error(request_verification(payload), 400, "Validation failed", fields=["email"])
    assert body["errors"][0]["message"] == message
    assert mailoutbox == []


def test_it_refuses_a_body_that_is_not_an_object(request_verification, mailoutbox):
    assert_error(request_verification(["a@example.com"]), 400, "Validation failed", fields=["nonFieldErrors"])
    assert mailoutbox == []


def test_it_ignores_unknown_fields(request_verification, mailoutbox):
    data = assert_success(request_verification({"email": "x@example.com", "role": "platform_admin"}), 200, SENT)
    assert data["verification"]["email"] == "x@example.com"
    assert len(mailoutbox) == 1


# --- complete ---------------------------------------------------------------------


def test_it_registers_a_verified_active_member_and_signs_them_in(request_verification, mailoutbox, api_client):
    request_verification({"email": "jane@example.com"})
    token = token_of(mailed_link(mailoutbox[0]))

    response = complete(api_client, token=token, name="  Jane User ", role="platform_admin", customerId="x")
    data = assert_success(response, 201, REGISTERED)

    user = User.objects.get()
    body = data["user"]
    assert list(data) == ["user"]
    assert list(body) == list(schema.REGISTERED_USER)
    assert body == as_example(
        schema.REGISTERED_USER, user, body, email="jane@example.com", name="Jane User", tokens=body["tokens"]
    )
    assert body["createdAt"].endswith("Z") and len(body["createdAt"]) == 24
    assert (user.role, user.status, user.email_verified, user.customer_id) == (Role.MEMBER, "active", True, None)
    assert user.check_password(STRONG_PASSWORD)
    assert STRONG_PASSWORD not in user.password

    # Both tokens work: the access token reads the profile, the refresh token rotates.
    tokens = body["tokens"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['accessToken']}")
    assert assert_success(api_client.get("/api/v1/auth/profile"))["id"] == str(user.id)
    api_client.credentials()
    refreshed = api_client.post("/api/v1/auth/refresh", {"refreshToken": tokens["refreshToken"]}, format="json")
    assert_success(refreshed, 200, "Token refreshed successfully")
    stored = RefreshToken.objects.filter(user=user).order_by("created_at").first()
    assert stored.token_hash != tokens["refreshToken"]


def test_it_answers_a_replayed_token_with_409_and_creates_nothing_more(api_client):
    token = make_email_verification_token("jane@example.com")
    assert_success(complete(api_client, token=token), 201, REGISTERED)
    assert_error(complete(api_client, token=token, name="Someone Else"), 409, "Email already registered")
    assert User.objects.count() == 1
    assert User.objects.get().name == "Jane User"


def test_it_refuses_an_expired_token(api_client):
    token = backdated_token(EMAIL_VERIFICATION, {"email": "late@example.com"}, age_seconds=24 * 3600 + 60)
    assert_error(complete(api_client, token=token), 400, "Verification token has expired. Please request a new one.")
    assert User.objects.count() == 0


def test_it_accepts_a_token_just_inside_its_lifetime(api_client):
    token = backdated_token(EMAIL_VERIFICATION, {"email": "ontime@example.com"}, age_seconds=24 * 3600 - 60)
    assert_success(complete(api_client, token=token), 201, REGISTERED)


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda alice: tamper(make_email_verification_token("jane@example.com")), id="tampered"),
        pytest.param(lambda alice: "not-a-token", id="malformed"),
        pytest.param(lambda alice: "a:b:c", id="malformed-parts"),
        pytest.param(lambda alice: make_password_reset_token(alice), id="password-reset-token"),
        pytest.param(lambda alice: make_invitation_token(alice), id="invitation-token"),
        pytest.param(lambda alice: issue_access_token(alice), id="access-token"),
    ],
)
def test_it_refuses_tampered_malformed_and_wrong_purpose_tokens(api_client, alice, make_token):
    before = User.objects.count()
    assert_error(complete(api_client, token=make_token(alice)), 400, "Invalid verification token")
    assert User.objects.count() == before


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1!", "This password is too short. It must contain at least 8 characters."),
        ("password", "This password is too common."),
        ("83749201573", "This password is entirely numeric."),
        ("janeuser@example.com", "The password is too similar to the email."),
    ],
)
def test_it_refuses_weak_passwords_and_writes_nothing(api_client, password, message):
    token = make_email_verification_token("janeuser@example.com")
    body = assert_error(complete(api_client, token=token, password=password), 400, fields=["password"])
    assert message in [error["message"] for error in body["errors"]]
    assert User.objects.count() == 0
    assert RefreshToken.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"password": None}, ["password"]),
        ({"password": ""}, ["password"]),
        ({"password": 12345678901}, ["password"]),
        ({"password": "x" * 129}, ["password"]),
        ({"name": ""}, ["name"]),
        ({"name": "   "}, ["name"]),
        ({"name": 42}, ["name"]),
        ({"name": "n" * 151}, ["name"]),
        ({"token": ""}, ["token"]),
        ({"token": {"email": "jane@example.com"}}, ["token"]),
        ({"token": "t" * 1025}, ["token"]),
        ({"token": None, "name": None, "password": None}, ["token", "name", "password"]),
    ],
)
def test_it_validates_fields_and_types(api_client, overrides, fields):
    payload = {"token": make_email_verification_token("jane@example.com"), **overrides}
    assert_error(complete(api_client, **payload), 400, "Validation failed", fields=fields)
    assert User.objects.count() == 0


def test_it_reports_missing_fields(api_client):
    response = api_client.post(COMPLETE_URL, {}, format="json")
    assert_error(response, 400, "Validation failed", fields=["token", "name", "password"])


def test_it_keeps_passwords_exactly_as_typed(api_client):
    token = make_email_verification_token("spaces@example.com")
    assert_success(complete(api_client, token=token, password="  padded pass phrase  "), 201)
    user = User.objects.get()
    assert user.check_password("  padded pass phrase  ")
    assert not user.check_password("padded pass phrase")


def test_a_stale_access_token_sent_along_does_not_get_in_the_way(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer expired.or.garbage")
    token = make_email_verification_token("jane@example.com")
    assert_success(complete(api_client, token=token), 201, REGISTERED)
