"""DELETE /users/:id: soft delete, sessions revoked, access refused on the next request."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import RefreshToken, Role, User, UserStatus
from accounts.tests.factories import UserFactory
from testsupport.api import assert_error, assert_success, client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/users"
FORBIDDEN = "You do not have permission to access this resource"


def give_sessions(user, count=2):
    for n in range(count):
        RefreshToken.objects.create(
            user=user, token_hash=f"{user.pk.hex}{n:032d}"[:64], expires_at=timezone.now() + timedelta(days=7)
        )


def live_sessions(user):
    return RefreshToken.objects.filter(user=user, revoked_at__isnull=True).count()


def team_state(customer):
    return sorted(User.objects.filter(customer=customer).values_list("email", "role", "deleted_at"))


def test_an_owner_removes_a_member(alice_client, alice, charlie, charlie_client):
    give_sessions(charlie)
    give_sessions(alice)
    assert_success(charlie_client.get(URL))

    data = assert_success(alice_client.delete(f"{URL}/{charlie.id}"), 200, "User removed successfully")
    assert data == {"message": "User removed successfully"}

    charlie.refresh_from_db()
    assert charlie.deleted_at is not None
    assert live_sessions(charlie) == 0
    assert live_sessions(alice) == 2
    # The access token charlie still holds is refused on his very next request.
    assert_error(charlie_client.get(URL), 401, "User account is not active")
    assert [u["email"] for u in assert_success(alice_client.get(URL))["users"]] == ["alice@example.com"]
    assert_error(alice_client.get(f"{URL}/{charlie.id}"), 404, f"User with ID {charlie.id} does not exist")
    assert_error(alice_client.delete(f"{URL}/{charlie.id}"), 404, f"User with ID {charlie.id} does not exist")


def test_removing_an_invited_user_cancels_the_invitation(alice_client, customer_a):
    invited = UserFactory(customer=customer_a, status=UserStatus.INVITED)
    assert_success(alice_client.delete(f"{URL}/{invited.id}"))
    invited.refresh_from_db()
    assert invited.deleted_at is not None


@pytest.mark.parametrize("role", ["member", "admin"])
def test_an_admin_removes_members_and_admins(customer_a, alice, role):
    admin = UserFactory(customer=customer_a, role=Role.ADMIN)
    target = UserFactory(customer=customer_a, role=role)
    assert_success(client_for(admin).delete(f"{URL}/{target.id}"), 200, "User removed successfully")
    target.refresh_from_db()
    assert target.deleted_at is not None


def test_an_admin_cannot_remove_an_owner(customer_a, alice):
    admin = UserFactory(customer=customer_a, role=Role.ADMIN)
    give_sessions(alice)
    before = team_state(customer_a)
    assert_error(client_for(admin).delete(f"{URL}/{alice.id}"), 403, "Admins cannot change or remove an owner")
    assert team_state(customer_a) == before and live_sessions(alice) == 2


def test_a_member_cannot_remove_anyone(charlie_client, alice, charlie, customer_a):
    before = team_state(customer_a)
    assert_error(charlie_client.delete(f"{URL}/{alice.id}"), 403, FORBIDDEN)
    assert_error(charlie_client.delete(f"{URL}/{charlie.id}"), 403, FORBIDDEN)
    assert team_state(customer_a) == before


def test_nobody_removes_themself(alice_client, alice, customer_a):
    UserFactory(customer=customer_a, role=Role.OWNER)
    admin = UserFactory(customer=customer_a, role=Role.ADMIN)
    give_sessions(alice)
    before = team_state(customer_a)
    assert_error(alice_client.delete(f"{URL}/{alice.id}"), 403, "You cannot remove yourself from the organization")
    assert_error(client_for(admin).delete(f"{URL}/{admin.id}"), 403, "You cannot remove yourself from the organization")
    assert team_state(customer_a) == before and live_sessions(alice) == 2


def test_an_owner_removes_another_owner(alice_client, customer_a):
    other = UserFactory(customer=customer_a, role=Role.OWNER)
    assert_success(alice_client.delete(f"{URL}/{other.id}"))
    other.refresh_from_db()
    assert other.deleted_at is not None


def test_a_removed_owner_can_no_longer_act(alice_client, customer_a, charlie):
    other = UserFactory(customer=customer_a, role=Role.OWNER)
    other_client = client_for(other)
    assert_success(alice_client.delete(f"{URL}/{other.id}"))
    assert_error(other_client.delete(f"{URL}/{charlie.id}"), 401, "User account is not active")
    charlie.refresh_from_db()
    assert charlie.deleted_at is None
