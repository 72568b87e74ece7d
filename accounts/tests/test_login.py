"""POST /auth/login: who may sign in, what they get back, and how often they may try."""

import pytest
from django.utils import timezone

from accounts import schema
from accounts.models import RefreshToken, User, UserStatus
from testsupport.api import assert_error, assert_success

from .factories import TEST_PASSWORD, UserFactory
from .helpers import all_keys, as_example

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/login"
LOGIN_OK = "Login successful"
BAD_CREDENTIALS = "Invalid email or password"


def login(client, email, password=TEST_PASSWORD, **extra):
    return client.post(URL, {"email": email, "password": password}, format="json", **extra)


def test_it_signs_in_with_the_spec_shape(api_client, alice, customer_a):
    updated_before = User.objects.get(pk=alice.pk).updated_at
    response = login(api_client, "alice@example.com", HTTP_USER_AGENT="Dashboard/1.0")
    data = assert_success(response, 200, LOGIN_OK)

    assert list(data) == ["auth"]
    assert list(data["auth"]) == ["user", "tokens"]
    user = data["auth"]["user"]
    assert list(user) == list(schema.LOGIN_USER)
    assert user == as_example(schema.LOGIN_USER, alice, user)
    assert set(data["auth"]["tokens"]) == {"accessToken", "refreshToken"}

    alice.refresh_from_db()
    assert alice.last_login_at is not None
    assert (timezone.now() - alice.last_login_at).total_seconds() < 60
    assert alice.updated_at == updated_before  # signing in is not an edit
    stored = RefreshToken.objects.get(user=alice)
    assert (stored.ip, stored.user_agent) == ("127.0.0.1", "Dashboard/1.0")
    assert stored.token_hash != data["auth"]["tokens"]["refreshToken"]


def test_the_issued_access_token_authenticates(api_client, alice):
    tokens = assert_success(login(api_client, "alice@example.com"))["auth"]["tokens"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['accessToken']}")
    profile = assert_success(api_client.get("/api/v1/auth/profile"), 200, "Profile retrieved successfully")
    assert profile["email"] == "alice@example.com"
    assert profile["lastLoginAt"] is not None


def test_it_matches_the_email_in_any_case(api_client, alice):
    assert_success(login(api_client, "  ALICE@Example.com "), 200, LOGIN_OK)


def test_unknown_email_and_wrong_password_get_the_same_401(api_client, alice):
    unknown = assert_error(login(api_client, "nobody@example.com"), 401, BAD_CREDENTIALS)
    wrong = assert_error(login(api_client, "alice@example.com", "Wrong-Password-1"), 401, BAD_CREDENTIALS)
    assert {k: v for k, v in unknown.items() if k != "requestInfo"} == {
        k: v for k, v in wrong.items() if k != "requestInfo"
    }
    response = login(api_client, "alice@example.com", "Wrong-Password-1")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert RefreshToken.objects.count() == 0
    alice.refresh_from_db()
    assert alice.last_login_at is None


def test_a_removed_user_cannot_sign_in(api_client, charlie):
    User.objects.filter(pk=charlie.pk).update(deleted_at=timezone.now())
    assert_error(login(api_client, "charlie@example.com"), 401, BAD_CREDENTIALS)
    assert RefreshToken.objects.count() == 0


def test_a_suspended_user_is_refused(api_client, charlie):
    User.objects.filter(pk=charlie.pk).update(status=UserStatus.SUSPENDED)
    assert_error(login(api_client, "charlie@example.com"), 403, "Your account has been suspended")
    assert RefreshToken.objects.count() == 0


def test_a_suspended_user_with_a_wrong_password_learns_nothing(api_client, charlie):
    User.objects.filter(pk=charlie.pk).update(status=UserStatus.SUSPENDED)
    assert_error(login(api_client, "charlie@example.com", "Wrong-Password-1"), 401, BAD_CREDENTIALS)


def test_an_invited_user_cannot_sign_in_before_accepting(api_client, customer_a):
    invited = UserFactory(email="new@example.com", customer=customer_a, status=UserStatus.INVITED)
    invited.set_unusable_password()
    invited.save()
    # No password yet: any guess is simply wrong.
    assert_error(login(api_client, "new@example.com", "anything-at-all"), 401, BAD_CREDENTIALS)


def test_an_invited_user_who_somehow_has_a_password_is_sent_to_the_invitation(api_client, customer_a):
    UserFactory(email="new@example.com", customer=customer_a, status=UserStatus.INVITED)
    response = login(api_client, "new@example.com")
    assert_error(response, 403, "Please accept your invitation first; the link is in your invitation email")
    assert RefreshToken.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, ["email", "password"]),
        ({"email": "alice@example.com"}, ["password"]),
        ({"email": "alice@example.com", "password": ""}, ["password"]),
        ({"email": "alice@example.com", "password": 123456789}, ["password"]),
        ({"email": "alice@example.com", "password": ["x"]}, ["password"]),
        ({"email": "alice", "password": TEST_PASSWORD}, ["email"]),
        ({"email": True, "password": TEST_PASSWORD}, ["email"]),
    ],
)
def test_it_validates_the_body(api_client, alice, payload, fields):
    assert_error(api_client.post(URL, payload, format="json"), 400, "Validation failed", fields=fields)
    assert RefreshToken.objects.count() == 0


def test_it_refuses_malformed_json(api_client):
    response = api_client.post(URL, data='{"email": "a@b.co", ', content_type="application/json")
    assert_error(response, 400, "Malformed JSON in request body")


def test_unknown_fields_are_ignored(api_client, alice):
    response = api_client.post(
        URL, {"email": "alice@example.com", "password": TEST_PASSWORD, "remember": True}, format="json"
    )
    assert_success(response, 200, LOGIN_OK)


def test_a_stale_access_token_sent_along_does_not_get_in_the_way(api_client, alice):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-valid-token")
    assert_success(login(api_client, "alice@example.com"), 200, LOGIN_OK)


def test_the_answer_never_contains_a_password(api_client, alice):
    response = login(api_client, "alice@example.com")
    assert not {key for key in all_keys(response.json()) if "password" in key.lower()}
    assert alice.password not in response.content.decode()


# --- Throttling -------------------------------------------------------------------


def test_it_throttles_attempts_per_email(api_client, alice, rates):
    rates(login_email="3/min", login_ip="100/min")
    for _ in range(3):
        assert_error(login(api_client, "alice@example.com", "Wrong-Password-1"), 401)
    response = login(api_client, "ALICE@example.com")  # even the right password, in another case
    body = assert_error(response, 429)
    assert body["message"].startswith("Too many requests. Try again in ")
    assert 1 <= int(response["Retry-After"]) <= 60
    # Another account from the same address is not affected.
    assert_error(login(api_client, "someone@example.com"), 401, BAD_CREDENTIALS)


def test_it_throttles_attempts_per_ip(api_client, alice, rates):
    rates(login_email="100/min", login_ip="3/min")
    for n in range(3):
        assert_error(login(api_client, f"guess{n}@example.com"), 401)
    response = login(api_client, "alice@example.com")
    assert_error(response, 429)
    assert int(response["Retry-After"]) >= 1
    # Another client address still gets through.
    assert_success(login(api_client, "alice@example.com", REMOTE_ADDR="10.1.2.3"), 200, LOGIN_OK)


def test_the_default_rates_stop_a_brute_force_on_one_account(api_client, alice):
    answers = [login(api_client, "alice@example.com", f"Guess-{n}-password").status_code for n in range(12)]
    assert answers[:10] == [401] * 10
    assert answers[10:] == [429, 429]
