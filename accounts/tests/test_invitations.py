"""Invited users (created by the team-management endpoints) accept and sign in."""

import re

import pytest
from django.utils import timezone

from accounts.models import RefreshToken, User, UserStatus
from accounts.services.invitations import user_invitation_send
from accounts.tokens import (
    INVITATION,
    make_email_verification_token,
    make_invitation_token,
    password_fingerprint,
    read_invitation_token,
)
from testsupport.api import assert_error, assert_success

from .factories import UserFactory
from .helpers import STRONG_PASSWORD, backdated_token, mailed_link, tamper, token_of

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/invite/accept"
ACCEPTED = "Invitation accepted successfully"
USED = "This invitation is no longer valid"


@pytest.fixture
def invited(customer_a, alice):
    """An invitation as the team endpoints leave it: invited, unverified, no password."""
    user = UserFactory(
        email="newbie@example.com", name="Newbie", customer=customer_a, status=UserStatus.INVITED, email_verified=False
    )
    user.set_unusable_password()
    user.save()
    return user


@pytest.fixture
def invitation_link(invited, alice, mailoutbox, django_capture_on_commit_callbacks, settings):
    settings.FRONTEND_URL = "https://app.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        user_invitation_send(user=invited, actor=alice)
    [message] = mailoutbox
    return mailed_link(message)


def accept(client, token, **payload):
    return client.post(URL, {"token": token, "password": STRONG_PASSWORD, **payload}, format="json")


def test_the_invitation_email_links_to_the_dashboard(invitation_link, mailoutbox, invited):
    message = mailoutbox[0]
    assert message.to == ["newbie@example.com"]
    assert message.subject == "You're invited to Alice Corp on Morpheus"
    assert "Alice invited you to join Alice Corp" in message.body and "7 days" in message.body
    assert invitation_link.startswith("https://app.example.com/accept-invite?token=")
    # The token stands in the link as is, and says whom it is for.
    raw = re.search(r"accept-invite\?token=(\S+)", message.body).group(1)
    assert read_invitation_token(raw) == {"uid": str(invited.id), "email": "newbie@example.com"}


def test_accepting_activates_verifies_and_signs_in(api_client, invited, invitation_link, customer_a):
    response = accept(api_client, token_of(invitation_link), name=" Newbie Person ")
    data = assert_success(response, 200, ACCEPTED)

    user = data["auth"]["user"]
    assert user["id"] == str(invited.id)
    assert (user["status"], user["emailVerified"], user["name"]) == ("active", True, "Newbie Person")
    assert (user["customerId"], user["role"], user["needsOnboarding"]) == (str(customer_a.id), "member", False)
    invited.refresh_from_db()
    assert (invited.status, invited.email_verified, invited.name) == ("active", True, "Newbie Person")
    assert invited.last_login_at is not None
    assert invited.check_password(STRONG_PASSWORD)

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {data['auth']['tokens']['accessToken']}")
    assert assert_success(api_client.get("/api/v1/auth/profile"))["status"] == "active"
    api_client.credentials()
    login = api_client.post(
        "/api/v1/auth/login", {"email": "newbie@example.com", "password": STRONG_PASSWORD}, format="json"
    )
    assert_success(login, 200, "Login successful")


def test_the_name_is_optional(api_client, invited, invitation_link):
    data = assert_success(accept(api_client, token_of(invitation_link)), 200, ACCEPTED)
    assert data["auth"]["user"]["name"] == "Newbie"


def test_an_invitation_works_once(api_client, invited, invitation_link):
    token = token_of(invitation_link)
    assert_success(accept(api_client, token), 200, ACCEPTED)
    assert_error(accept(api_client, token, password="Another-Password-42"), 400, USED)
    invited.refresh_from_db()
    assert invited.check_password(STRONG_PASSWORD)
    assert RefreshToken.objects.filter(user=invited).count() == 1


def test_an_expired_invitation_is_refused(api_client, invited):
    claims = {
        "uid": str(invited.id),
        "email": invited.email,
        "fp": password_fingerprint(invited, purpose=INVITATION),
    }
    token = backdated_token(INVITATION, claims, age_seconds=7 * 86400 + 60)
    assert_error(accept(api_client, token), 400, "Invitation has expired. Ask your team admin to send a new one.")
    invited.refresh_from_db()
    assert invited.status == UserStatus.INVITED


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda user: tamper(make_invitation_token(user)), id="tampered"),
        pytest.param(lambda user: "garbage", id="malformed"),
        pytest.param(lambda user: make_email_verification_token(user.email), id="verification-token"),
    ],
)
def test_tampered_malformed_and_wrong_purpose_tokens_are_refused(api_client, invited, make_token):
    assert_error(accept(api_client, make_token(invited)), 400, "Invalid invitation token")
    invited.refresh_from_db()
    assert (invited.status, invited.has_usable_password()) == (UserStatus.INVITED, False)


def test_a_removed_invitee_cannot_accept(api_client, invited, invitation_link):
    User.objects.filter(pk=invited.pk).update(deleted_at=timezone.now())
    assert_error(accept(api_client, token_of(invitation_link)), 400, USED)


def test_inviting_again_retires_the_earlier_link(api_client, invited, invitation_link):
    invited.set_unusable_password()  # what a fresh invitation of the same address does
    invited.save()
    assert_error(accept(api_client, token_of(invitation_link)), 400, USED)
    assert_success(accept(api_client, make_invitation_token(invited)), 200, ACCEPTED)


def test_an_active_users_invitation_token_is_refused(api_client, alice):
    assert_error(accept(api_client, make_invitation_token(alice)), 400, USED)


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"password": "password"}, ["password"]),
        ({"password": "short"}, ["password"]),
        ({"password": None}, ["password"]),
        ({"password": 1234567890}, ["password"]),
        ({"name": 5}, ["name"]),
        ({"name": "x" * 151}, ["name"]),
    ],
)
def test_it_validates_and_changes_nothing(api_client, invited, invitation_link, payload, fields):
    assert_error(accept(api_client, token_of(invitation_link), **payload), 400, "Validation failed", fields=fields)
    invited.refresh_from_db()
    assert (invited.status, invited.email_verified, invited.has_usable_password()) == ("invited", False, False)
    assert RefreshToken.objects.count() == 0
    # The link still works afterwards.
    assert_success(accept(api_client, token_of(invitation_link)), 200, ACCEPTED)


def test_the_invitation_task_skips_users_who_accepted_meanwhile(
    invited, alice, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        user_invitation_send(user=invited, actor=alice)
    User.objects.filter(pk=invited.pk).update(status=UserStatus.ACTIVE)
    for callback in callbacks:
        callback()
    assert mailoutbox == []
