"""GET /users and GET /users/:id."""

import pytest
from django.utils import timezone

from accounts.models import Role, UserStatus
from accounts.tests.factories import UserFactory
from testsupport.api import assert_error, assert_success, client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/users"


def test_it_lists_the_team_oldest_first_with_the_spec_fields(alice_client, alice, charlie, customer_a):
    invited = UserFactory(
        customer=customer_a, email="bob.member@example.com", name="Bob Member", status=UserStatus.INVITED
    )
    alice.last_login_at = timezone.now()
    alice.save(update_fields=["last_login_at"])
    data = assert_success(alice_client.get(f"{URL}?page=1&limit=10"), 200, "Users retrieved successfully")
    assert [u["id"] for u in data["users"]] == [str(alice.id), str(charlie.id), str(invited.id)]
    assert data["pagination"] == {"page": 1, "limit": 10, "total": 3, "totalPages": 1}
    first, _, last = data["users"]
    assert set(first) == {"id", "name", "email", "role", "status", "lastLoginAt", "createdAt"}
    assert (first["name"], first["email"], first["role"], first["status"]) == (
        "Alice",
        "alice@example.com",
        "owner",
        "active",
    )
    assert first["lastLoginAt"].endswith("Z")
    assert (last["role"], last["status"], last["lastLoginAt"]) == ("member", "invited", None)


def test_removed_users_are_not_listed(alice_client, alice, charlie):
    charlie.deleted_at = timezone.now()
    charlie.save(update_fields=["deleted_at"])
    data = assert_success(alice_client.get(URL))
    assert [u["email"] for u in data["users"]] == ["alice@example.com"]
    assert data["pagination"]["total"] == 1


def test_it_filters_by_role_status_and_search(alice_client, alice, charlie, customer_a):
    UserFactory(customer=customer_a, email="ada@lovelace.dev", name="Ada Admin", role=Role.ADMIN)
    UserFactory(customer=customer_a, email="ivan@example.com", name="Ivan", status=UserStatus.INVITED)
    emails = lambda query: [u["email"] for u in assert_success(alice_client.get(f"{URL}?{query}"))["users"]]  # noqa: E731
    assert emails("role=admin") == ["ada@lovelace.dev"]
    assert emails("role=member") == ["charlie@example.com", "ivan@example.com"]
    assert emails("status=invited") == ["ivan@example.com"]
    assert emails("search=LOVELACE") == ["ada@lovelace.dev"]
    assert emails("search=char") == ["charlie@example.com"]
    assert emails("role=member&status=active") == ["charlie@example.com"]
    # A cleared search box or filter sends an empty value: no filter.
    assert len(emails("search=&role=&status=")) == 4


@pytest.mark.parametrize(
    ("query", "fields"),
    [("role=platform_admin", ["role"]), ("role=boss", ["role"]), ("status=gone", ["status"]), ("limit=0", ["limit"])],
)
def test_it_rejects_bad_filters(alice_client, query, fields):
    assert_error(alice_client.get(f"{URL}?{query}"), 400, "Validation failed", fields=fields)


def test_it_pages(alice_client, alice, customer_a):
    UserFactory.create_batch(4, customer=customer_a)
    data = assert_success(alice_client.get(f"{URL}?page=2&limit=2"))
    assert len(data["users"]) == 2
    assert data["pagination"] == {"page": 2, "limit": 2, "total": 5, "totalPages": 3}
    assert assert_success(alice_client.get(f"{URL}?page=4&limit=2"))["users"] == []


def test_a_user_without_a_customer_is_told_to_onboard(platform_admin_client, db):
    assert_error(platform_admin_client.get(URL), 403, "Please complete onboarding to access this resource")
    assert_error(client_for(UserFactory()).get(URL), 403, "Please complete onboarding to access this resource")


def test_a_suspended_customer_is_refused(alice_client, customer_a):
    customer_a.status = "suspended"
    customer_a.save()
    assert_error(alice_client.get(URL), 403, "Your organization's account is suspended")


def test_it_needs_a_token(api_client):
    assert_error(api_client.get(URL), 401)


def test_it_shows_one_teammate(charlie_client, alice, charlie):
    data = assert_success(charlie_client.get(f"{URL}/{alice.id}"), 200, "User retrieved successfully")
    assert data == {
        "id": str(alice.id),
        "email": "alice@example.com",
        "name": "Alice",
        "customerId": str(alice.customer_id),
        "role": "owner",
        "status": "active",
        "provider": "local",
        "emailVerified": True,
        "lastLoginAt": None,
        "createdAt": data["createdAt"],
        "updatedAt": data["updatedAt"],
    }


def test_an_uppercase_uuid_finds_the_same_user(alice_client, charlie):
    data = assert_success(alice_client.get(f"{URL}/{str(charlie.id).upper()}"))
    assert data["id"] == str(charlie.id)


def test_a_removed_user_is_a_404(alice_client, charlie):
    charlie.deleted_at = timezone.now()
    charlie.save(update_fields=["deleted_at"])
    assert_error(alice_client.get(f"{URL}/{charlie.id}"), 404, f"User with ID {charlie.id} does not exist")


@pytest.mark.parametrize(
    "bad_id", ["abc", "123", "not-a-uuid", "880e8400-e29b-41d4-a716-44665544000", "880e8400e29b41d4a716446655440000x"]
)
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_a_malformed_id_is_a_404_never_a_500(alice_client, charlie, bad_id, method):
    response = getattr(alice_client, method)(f"{URL}/{bad_id}", {"role": "admin"}, format="json")
    assert_error(response, 404, "Resource not found!!")
    charlie.refresh_from_db()
    assert charlie.role == Role.MEMBER and charlie.deleted_at is None


def test_put_is_not_offered(alice_client, charlie):
    assert_error(alice_client.put(f"{URL}/{charlie.id}", {"role": "admin"}, format="json"), 405)
