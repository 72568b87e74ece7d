"""Access tokens on every request, and GET/PATCH /auth/profile."""

from datetime import timedelta

import jwt
import pytest
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken
from rest_framework_simplejwt.utils import aware_utcnow

from accounts import schema
from accounts.authentication import issue_access_token
from accounts.models import User, UserStatus
from accounts.tokens import make_email_verification_token
from testsupport.api import assert_error, assert_success, client_for

from .factories import UserFactory
from .helpers import all_keys, as_example

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/profile"
NO_CREDENTIALS = "Authentication credentials were not provided."


def with_header(client, value):
    client.credentials(HTTP_AUTHORIZATION=value)
    return client.get(URL)


def test_it_returns_the_profile(alice_client, alice, customer_a):
    data = assert_success(alice_client.get(URL), 200, "Profile retrieved successfully")
    assert list(data) == list(schema.PROFILE)
    assert data == as_example(schema.PROFILE, alice, data, lastLoginAt=None)
    assert not {key for key in all_keys(data) if "password" in key.lower()}


def test_a_new_user_needs_onboarding_and_a_platform_admin_does_not(platform_admin_client):
    newcomer = UserFactory(email="new@example.com")
    assert assert_success(client_for(newcomer).get(URL))["needsOnboarding"] is True
    admin = assert_success(platform_admin_client.get(URL))
    assert (admin["role"], admin["customerId"], admin["needsOnboarding"]) == ("platform_admin", None, False)


def test_no_credentials_is_a_401(api_client):
    response = api_client.get(URL)
    assert_error(response, 401, NO_CREDENTIALS)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_another_scheme_counts_as_no_credentials(api_client):
    assert_error(with_header(api_client, "Basic YWxpY2U6c2VjcmV0"), 401, NO_CREDENTIALS)


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer a b", "Bearer not-a-jwt", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "bearer ÿÿÿ"],
)
def test_malformed_tokens_are_invalid(api_client, header):
    assert_error(with_header(api_client, header), 401, "Invalid token")


def test_an_expired_token_says_exactly_token_expired(api_client, alice):
    token = AccessToken.for_user(alice)
    token.set_exp(from_time=aware_utcnow() - timedelta(minutes=16))
    assert_error(with_header(api_client, f"Bearer {token}"), 401, "Token expired")


def test_access_tokens_live_fifteen_minutes(alice):
    token = AccessToken(issue_access_token(alice))
    assert token["exp"] - token["iat"] == 15 * 60


def test_a_token_signed_with_another_key_is_invalid(api_client, alice):
    payload = AccessToken(issue_access_token(alice)).payload
    forged = jwt.encode(payload, "someone-elses-signing-key-of-a-proper-length", algorithm="HS256")
    assert_error(with_header(api_client, f"Bearer {forged}"), 401, "Invalid token")


def test_a_token_with_another_algorithm_is_invalid(api_client, alice):
    payload = AccessToken(issue_access_token(alice)).payload
    unsigned = jwt.encode(payload, key=None, algorithm="none")
    assert_error(with_header(api_client, f"Bearer {unsigned}"), 401, "Invalid token")


def test_tokens_of_other_kinds_are_not_access_tokens(api_client, alice):
    refresh = api_client.post(
        "/api/v1/auth/login", {"email": "alice@example.com", "password": "Correct-Horse-Battery-9"}, format="json"
    ).json()["data"]["auth"]["tokens"]["refreshToken"]
    assert_error(with_header(api_client, f"Bearer {refresh}"), 401, "Invalid token")
    verification = make_email_verification_token("alice@example.com")
    assert_error(with_header(api_client, f"Bearer {verification}"), 401, "Invalid token")


def test_a_deleted_users_still_valid_token_is_refused_at_once(alice_client, alice):
    assert_success(alice_client.get(URL))
    User.objects.filter(pk=alice.pk).update(deleted_at=timezone.now())
    assert_error(alice_client.get(URL), 401, "User account is not active")


def test_a_suspended_users_token_is_refused_at_once(charlie_client, charlie):
    assert_success(charlie_client.get(URL))
    User.objects.filter(pk=charlie.pk).update(status=UserStatus.SUSPENDED)
    assert_error(charlie_client.get(URL), 401, "User account is not active")


def test_a_token_for_a_user_that_no_longer_exists_is_refused(api_client, customer_a):
    ghost = UserFactory(email="ghost@example.com")
    token = issue_access_token(ghost)
    ghost.delete()
    assert_error(with_header(api_client, f"Bearer {token}"), 401, "User account is not active")


def test_a_password_change_retires_older_access_tokens(alice_client, alice):
    alice.set_password("A-whole-new-Password-7")
    alice.save()
    assert_error(alice_client.get(URL), 401, "Token expired")
    assert_success(client_for(alice).get(URL))


def test_the_profile_is_read_fresh_on_every_request(alice_client, alice):
    User.objects.filter(pk=alice.pk).update(name="Alice Renamed")
    assert assert_success(alice_client.get(URL))["name"] == "Alice Renamed"


# --- PATCH /auth/profile ----------------------------------------------------------


def test_it_renames_the_user_and_ignores_other_fields(alice_client, alice):
    response = alice_client.patch(
        URL, {"name": "  Alice Liddell ", "role": "platform_admin", "email": "x@example.com"}, format="json"
    )
    data = assert_success(response, 200, "Profile updated successfully")
    assert (data["name"], data["role"], data["email"]) == ("Alice Liddell", "owner", "alice@example.com")
    alice.refresh_from_db()
    assert (alice.name, alice.role, alice.email) == ("Alice Liddell", "owner", "alice@example.com")


def test_an_empty_patch_changes_nothing(alice_client, alice):
    updated_at = alice.updated_at
    data = assert_success(alice_client.patch(URL, {}, format="json"), 200, "Profile updated successfully")
    assert data["name"] == "Alice"
    alice.refresh_from_db()
    assert alice.updated_at == updated_at


@pytest.mark.parametrize("payload", [{"name": ""}, {"name": "   "}, {"name": None}, {"name": 7}, {"name": "n" * 151}])
def test_it_validates_the_new_name(alice_client, alice, payload):
    assert_error(alice_client.patch(URL, payload, format="json"), 400, "Validation failed", fields=["name"])
    alice.refresh_from_db()
    assert alice.name == "Alice"


def test_renaming_needs_an_access_token(api_client):
    assert_error(api_client.patch(URL, {"name": "X"}, format="json"), 401, NO_CREDENTIALS)


# --- The user read (accounts.selectors.user_get_live, a prepared statement) -------------


def _columns(instance):
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def test_the_live_user_read_is_the_orms_user_and_customer(customer_a, django_assert_num_queries):
    from accounts.selectors import user_get_live

    customer_a.settings = {"timezone": "Asia/Kolkata", "ipAllowlist": ["10.0.0.0/8"]}
    customer_a.save()
    user = UserFactory(customer=customer_a, name="Ana")
    read = user_get_live(user_id=user.pk)
    expected = User.objects.select_related("customer").get(pk=user.pk)
    assert _columns(read) == _columns(expected)
    with django_assert_num_queries(0):
        assert _columns(read.customer) == _columns(expected.customer)  # joined, not read again
    assert read.customer.settings["ipAllowlist"] == ["10.0.0.0/8"]  # JSON decoded like the ORM does
    read.name = "Ana B"
    read.save(update_fields=["name"])  # a model instance like any other
    assert User.objects.get(pk=user.pk).name == "Ana B"


def test_the_live_user_read_of_a_platform_admin_has_no_customer():
    from accounts.selectors import user_get_live

    admin = User.objects.create_superuser(email="root@example.com", password="x" * 12)
    read = user_get_live(user_id=admin.pk)
    assert _columns(read) == _columns(User.objects.get(pk=admin.pk))
    assert read.customer is None


def test_the_live_user_read_skips_deleted_and_unknown_users(customer_a):
    import uuid

    from accounts.selectors import user_get_live

    user = UserFactory(customer=customer_a)
    User.objects.filter(pk=user.pk).update(deleted_at=timezone.now())
    assert user_get_live(user_id=user.pk) is None
    assert user_get_live(user_id=uuid.uuid4()) is None
