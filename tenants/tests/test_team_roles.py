"""PATCH /users/:id: role changes under the rules of docs/tenancy.md."""

import pytest

from accounts.models import Role, User, UserStatus
from accounts.tests.factories import UserFactory
from testsupport.api import assert_error, assert_success, client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/users"
FORBIDDEN = "You do not have permission to access this resource"


def roles_of(customer):
    return dict(User.objects.filter(customer=customer).values_list("email", "role"))


@pytest.fixture
def admin(customer_a, alice):
    return UserFactory(customer=customer_a, email="ada@example.com", name="Ada", role=Role.ADMIN)


@pytest.fixture
def second_owner(customer_a, alice):
    return UserFactory(customer=customer_a, email="olga@example.com", name="Olga", role=Role.OWNER)


def change(client, user, role):
    return client.patch(f"{URL}/{user.id}", {"role": role}, format="json")


def test_an_owner_promotes_a_member_to_admin(alice_client, charlie):
    data = assert_success(change(alice_client, charlie, "admin"), 200, "User role updated successfully")
    charlie.refresh_from_db()
    assert data == {
        "id": str(charlie.id),
        "role": "admin",
        "email": "charlie@example.com",
        "updatedAt": data["updatedAt"],
    }
    assert charlie.role == Role.ADMIN


def test_an_owner_makes_another_owner_and_may_demote_them_again(alice_client, charlie):
    assert_success(change(alice_client, charlie, "owner"))
    charlie.refresh_from_db()
    assert charlie.role == Role.OWNER
    assert_success(change(alice_client, charlie, "member"))
    charlie.refresh_from_db()
    assert charlie.role == Role.MEMBER


def test_an_owner_may_change_an_invited_users_role(alice_client, customer_a):
    invited = UserFactory(customer=customer_a, status=UserStatus.INVITED)
    assert_success(change(alice_client, invited, "owner"))
    invited.refresh_from_db()
    assert invited.role == Role.OWNER


@pytest.mark.parametrize(("start", "end"), [("member", "admin"), ("admin", "member")])
def test_an_admin_moves_people_between_member_and_admin(admin, customer_a, start, end):
    target = UserFactory(customer=customer_a, role=start)
    assert_success(change(client_for(admin), target, end), 200, "User role updated successfully")
    target.refresh_from_db()
    assert target.role == end


def test_an_admin_cannot_grant_the_owner_role(admin, charlie, customer_a):
    before = roles_of(customer_a)
    assert_error(change(client_for(admin), charlie, "owner"), 403, "Only an owner can grant the owner role")
    assert roles_of(customer_a) == before


@pytest.mark.parametrize("role", ["admin", "member", "owner"])
def test_an_admin_cannot_touch_an_owner(admin, alice, customer_a, role):
    before = roles_of(customer_a)
    assert_error(change(client_for(admin), alice, role), 403, "Admins cannot change or remove an owner")
    assert roles_of(customer_a) == before


@pytest.mark.parametrize("role", ["admin", "owner", "member"])
def test_a_member_cannot_change_anyones_role_including_their_own(charlie_client, charlie, alice, customer_a, role):
    before = roles_of(customer_a)
    assert_error(change(charlie_client, charlie, role), 403, FORBIDDEN)
    assert_error(change(charlie_client, alice, role), 403, FORBIDDEN)
    assert roles_of(customer_a) == before


def test_an_owner_cannot_change_their_own_role(alice_client, alice, second_owner, customer_a):
    before = roles_of(customer_a)
    assert_error(change(alice_client, alice, "admin"), 403, "You cannot change your own role")
    assert roles_of(customer_a) == before


@pytest.mark.parametrize("role", ["owner", "member", "admin"])
def test_an_admin_cannot_change_their_own_role(admin, customer_a, role):
    before = roles_of(customer_a)
    assert_error(change(client_for(admin), admin, role), 403)
    assert roles_of(customer_a) == before


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, ["role"]),
        ({"role": "platform_admin"}, ["role"]),
        ({"role": "superadmin"}, ["role"]),
        ({"role": ""}, ["role"]),
        ({"role": None}, ["role"]),
        ({"role": ["admin"]}, ["role"]),
    ],
)
def test_it_rejects_unknown_roles_and_changes_nothing(alice_client, charlie, customer_a, payload, fields):
    before = roles_of(customer_a)
    assert_error(
        change_payload := alice_client.patch(f"{URL}/{charlie.id}", payload, format="json"),
        400,
        "Validation failed",
        fields=fields,
    )
    assert change_payload.json()["data"] is None
    assert roles_of(customer_a) == before


def test_setting_the_same_role_is_a_harmless_success(alice_client, charlie):
    before = User.objects.get(pk=charlie.pk).updated_at
    data = assert_success(change(alice_client, charlie, "member"))
    assert data["role"] == "member"
    assert User.objects.get(pk=charlie.pk).updated_at == before


def test_a_promotion_takes_effect_on_the_next_request(alice_client, charlie, charlie_client):
    assert_error(charlie_client.post(URL, {"email": "friend@example.com"}, format="json"), 403, FORBIDDEN)
    assert_success(change(alice_client, charlie, "admin"))
    assert_success(charlie_client.post(URL, {"email": "friend@example.com"}, format="json"), 201)
    assert_success(change(alice_client, charlie, "member"))
    assert_error(charlie_client.post(URL, {"email": "other@example.com"}, format="json"), 403, FORBIDDEN)


def test_a_member_promoted_to_admin_cannot_escalate_to_owner(alice_client, charlie, charlie_client, customer_a):
    assert_success(change(alice_client, charlie, "admin"))
    assert_error(change(charlie_client, charlie, "owner"), 403)
    assert_error(charlie_client.post(URL, {"email": "sock@example.com", "role": "owner"}, format="json"), 403)
    assert roles_of(customer_a) == {"alice@example.com": "owner", "charlie@example.com": "admin"}
