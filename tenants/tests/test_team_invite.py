"""POST /users: inviting teammates."""

import re

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from accounts.models import RefreshToken, Role, User, UserStatus
from accounts.tests.factories import UserFactory
from accounts.tokens import read_invitation_token
from testsupport.api import assert_error, assert_success, client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/users"
FORBIDDEN = "You do not have permission to access this resource"


def team_of(customer):
    return sorted(User.objects.filter(customer=customer).values_list("email", "role", "status", "deleted_at"))


def test_an_owner_invites_a_member_who_gets_an_email(
    alice_client, alice, customer_a, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            URL, {"email": "colleague@tech.com", "role": "member", "name": "Bob"}, format="json"
        )
    data = assert_success(response, 201, "User invited successfully")

    user = User.objects.get(email="colleague@tech.com")
    assert data == {
        "id": str(user.id),
        "email": "colleague@tech.com",
        "name": "Bob",
        "customerId": str(customer_a.id),
        "role": "member",
        "status": "invited",
        "provider": "local",
        "emailVerified": False,
        "createdAt": data["createdAt"],
        "updatedAt": data["updatedAt"],
    }
    assert user.customer_id == customer_a.id and user.status == UserStatus.INVITED
    assert not user.has_usable_password()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["colleague@tech.com"]
    assert message.subject == "You're invited to Alice Corp on Morpheus"
    assert "Alice invited you to join Alice Corp" in message.body
    token = re.search(r"accept-invite\?token=(\S+)", message.body).group(1)
    assert read_invitation_token(token) == {"uid": str(user.id), "email": "colleague@tech.com"}


def test_the_email_leaves_only_when_the_transaction_commits(alice_client, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert_success(alice_client.post(URL, {"email": "later@example.com"}, format="json"), 201)
    assert len(callbacks) == 1
    assert mail.outbox == []


def test_the_invited_user_is_listed_at_once_but_cannot_use_the_api_yet(alice_client, alice):
    assert_success(alice_client.post(URL, {"email": "New.Person@Example.com "}, format="json"), 201)
    users = assert_success(alice_client.get(URL))["users"]
    assert [(u["email"], u["name"], u["role"], u["status"]) for u in users] == [
        ("alice@example.com", "Alice", "owner", "active"),
        ("new.person@example.com", "new.person", "member", "invited"),
    ]
    invited = User.objects.get(email="new.person@example.com")
    assert_error(client_for(invited).get(URL), 401, "User account is not active")


@pytest.mark.parametrize("role", ["member", "admin", "owner"])
def test_an_owner_may_invite_every_tenant_role(alice_client, alice, role):
    data = assert_success(alice_client.post(URL, {"email": f"{role}@example.com", "role": role}, format="json"), 201)
    assert data["role"] == role
    assert User.objects.get(email=f"{role}@example.com").role == role


@pytest.mark.parametrize("role", ["member", "admin"])
def test_an_admin_may_invite_members_and_admins(customer_a, alice, role):
    admin = UserFactory(customer=customer_a, role=Role.ADMIN)
    assert_success(client_for(admin).post(URL, {"email": "x@example.com", "role": role}, format="json"), 201)
    assert User.objects.get(email="x@example.com").role == role


def test_an_admin_cannot_invite_an_owner(customer_a, alice, django_capture_on_commit_callbacks):
    admin = UserFactory(customer=customer_a, role=Role.ADMIN)
    before = team_of(customer_a)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(admin).post(URL, {"email": "boss@example.com", "role": "owner"}, format="json")
    assert_error(response, 403, "Only an owner can grant the owner role")
    assert team_of(customer_a) == before and callbacks == []


def test_a_member_cannot_invite(charlie_client, customer_a):
    before = team_of(customer_a)
    assert_error(charlie_client.post(URL, {"email": "friend@example.com"}, format="json"), 403, FORBIDDEN)
    assert team_of(customer_a) == before


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, ["email"]),
        ({"email": "not-an-email"}, ["email"]),
        ({"email": ""}, ["email"]),
        ({"email": "x@example.com", "role": "platform_admin"}, ["role"]),
        ({"email": "x@example.com", "role": "superuser"}, ["role"]),
        ({"email": "x@example.com", "role": "Owner"}, ["role"]),
        ({"email": "x@example.com", "role": None}, ["role"]),
        ({"email": "x@example.com", "name": "n" * 151}, ["name"]),
        ({"email": ["x@example.com"]}, ["email"]),
    ],
)
def test_it_rejects_bad_input_and_creates_nobody(alice_client, alice, customer_a, payload, fields):
    before = team_of(customer_a)
    body = assert_error(alice_client.post(URL, payload, format="json"), 400, "Validation failed", fields=fields)
    assert team_of(customer_a) == before
    if fields == ["role"] and payload["role"]:
        assert body["errors"][0]["message"] == "Role must be one of: owner, admin, member"


@pytest.mark.parametrize("email", ["charlie@example.com", "CHARLIE@example.com", "bob@example.com", "root@example.com"])
def test_an_email_already_in_use_is_a_409(
    alice_client, customer_a, charlie, bob, platform_admin, email, django_capture_on_commit_callbacks
):
    everyone = sorted(User.objects.values_list("email", "role", "customer_id", "status"))
    with django_capture_on_commit_callbacks() as callbacks:
        response = alice_client.post(URL, {"email": email, "role": "admin"}, format="json")
    assert_error(response, 409, "A user with this email already exists")
    assert sorted(User.objects.values_list("email", "role", "customer_id", "status")) == everyone
    assert callbacks == []


def test_a_removed_user_can_be_invited_again(alice_client, alice, bob_client, bob, customer_a, customer_b):
    gone = UserFactory(customer=customer_b, email="drifter@example.com", role=Role.ADMIN)
    RefreshToken.objects.create(user=gone, token_hash="a" * 64, expires_at=timezone.now() + timezone.timedelta(days=1))
    assert_success(bob_client.delete(f"{URL}/{gone.id}"))

    data = assert_success(
        alice_client.post(URL, {"email": "drifter@example.com", "name": "Drifter"}, format="json"), 201
    )
    assert data["id"] == str(gone.id)
    gone.refresh_from_db()
    assert (gone.customer_id, gone.role, gone.status, gone.deleted_at) == (
        customer_a.id,
        Role.MEMBER,
        UserStatus.INVITED,
        None,
    )
    assert not gone.has_usable_password()
    assert not RefreshToken.objects.filter(user=gone, revoked_at__isnull=True).exists()
    assert [u["email"] for u in assert_success(bob_client.get(URL))["users"]] == ["bob@example.com"]


def test_invitations_are_rate_limited_per_customer(alice_client, alice, bob_client, bob):
    from django.conf import settings

    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "invite": "2/hour"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        for n in range(2):
            assert_success(alice_client.post(URL, {"email": f"a{n}@example.com"}, format="json"), 201)
        response = alice_client.post(URL, {"email": "a2@example.com"}, format="json")
        assert_error(response, 429)
        assert int(response["Retry-After"]) > 0
        assert not User.objects.filter(email="a2@example.com").exists()
        # Listing is not an invitation, and another customer has its own budget.
        assert_success(alice_client.get(URL))
        assert_success(bob_client.post(URL, {"email": "b0@example.com"}, format="json"), 201)
