"""Refresh-token rotation, reuse detection, logout and the purge of expired tokens."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import RefreshToken, User, UserStatus
from accounts.selectors import refresh_token_hash
from accounts.services.sessions import refresh_tokens_purge_expired
from accounts.tasks import purge_expired_tokens
from testsupport.api import assert_error, assert_success

from .factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

REFRESH_URL = "/api/v1/auth/refresh"
LOGOUT_URL = "/api/v1/auth/logout"
REFRESHED = "Token refreshed successfully"
REVOKED = "Refresh token has been revoked. Please log in again."


def sign_in(client, email="alice@example.com") -> dict:
    response = client.post("/api/v1/auth/login", {"email": email, "password": TEST_PASSWORD}, format="json")
    return assert_success(response)["auth"]["tokens"]


def refresh(client, token):
    return client.post(REFRESH_URL, {"refreshToken": token}, format="json")


def stored(raw: str) -> RefreshToken:
    return RefreshToken.objects.get(token_hash=refresh_token_hash(raw))


def test_it_rotates_the_pair_within_the_family(api_client, alice):
    first = sign_in(api_client)
    data = assert_success(refresh(api_client, first["refreshToken"]), 200, REFRESHED)

    assert list(data) == ["tokens"]
    assert set(data["tokens"]) == {"accessToken", "refreshToken"}
    second = data["tokens"]
    assert second["refreshToken"] != first["refreshToken"]
    old, new = stored(first["refreshToken"]), stored(second["refreshToken"])
    assert old.used_at is not None and old.replaced_by_id == new.id
    assert new.family == old.family and new.revoked_at is None and new.used_at is None
    assert new.expires_at > timezone.now() + timedelta(days=6, hours=23)

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {second['accessToken']}")
    assert_success(api_client.get("/api/v1/auth/profile"))
    api_client.credentials()
    assert_success(refresh(api_client, second["refreshToken"]), 200, REFRESHED)


def test_reusing_a_refresh_token_revokes_the_whole_family(api_client, alice):
    """The attack: a thief copied the victim's refresh token; the victim refreshed first."""
    stolen = sign_in(api_client)["refreshToken"]
    other_session = sign_in(api_client)["refreshToken"]  # alice on another device
    victims_next = assert_success(refresh(api_client, stolen))["tokens"]["refreshToken"]
    victims_later = assert_success(refresh(api_client, victims_next))["tokens"]["refreshToken"]

    # The thief replays the stolen token: refused, and the whole family dies.
    assert_error(refresh(api_client, stolen), 401, REVOKED)
    family = stored(stolen).family
    assert RefreshToken.objects.filter(family=family).count() == 3
    assert not RefreshToken.objects.filter(family=family, revoked_at__isnull=True).exists()
    # The victim's current token no longer works either: they must log in again.
    assert_error(refresh(api_client, victims_later), 401, REVOKED)
    # Other logins of the same user are untouched.
    assert_success(refresh(api_client, other_session), 200, REFRESHED)


def test_the_thief_refreshing_first_is_caught_when_the_victim_refreshes(api_client, alice):
    stolen = sign_in(api_client)["refreshToken"]
    thiefs_token = assert_success(refresh(api_client, stolen))["tokens"]["refreshToken"]
    assert_error(refresh(api_client, stolen), 401, REVOKED)  # the victim, with the original
    assert_error(refresh(api_client, thiefs_token), 401, REVOKED)


def test_an_expired_refresh_token_is_refused(api_client, alice):
    token = sign_in(api_client)["refreshToken"]
    RefreshToken.objects.filter(token_hash=refresh_token_hash(token)).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert_error(refresh(api_client, token), 401, "Refresh token expired")
    assert RefreshToken.objects.count() == 1


def test_an_unknown_refresh_token_is_refused(api_client, alice):
    sign_in(api_client)
    response = refresh(api_client, "made-up-token")
    assert_error(response, 401, "Invalid refresh token")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert RefreshToken.objects.count() == 1


@pytest.mark.parametrize(
    "payload",
    [{}, {"refreshToken": ""}, {"refreshToken": 123}, {"refreshToken": None}, {"refresh_token": "x"}],
)
def test_it_validates_the_body(api_client, payload):
    assert_error(
        api_client.post(REFRESH_URL, payload, format="json"), 400, "Validation failed", fields=["refreshToken"]
    )


@pytest.mark.parametrize("change", ["deleted", "suspended"])
def test_a_removed_or_suspended_user_cannot_refresh(api_client, charlie, change):
    token = sign_in(api_client, "charlie@example.com")["refreshToken"]
    if change == "deleted":
        User.objects.filter(pk=charlie.pk).update(deleted_at=timezone.now())
    else:
        User.objects.filter(pk=charlie.pk).update(status=UserStatus.SUSPENDED)
    assert_error(refresh(api_client, token), 401, "User account is not active")
    assert stored(token).revoked_at is not None
    assert RefreshToken.objects.count() == 1


def test_refresh_works_with_an_expired_access_token_in_the_header(api_client, alice):
    token = sign_in(api_client)["refreshToken"]
    api_client.credentials(HTTP_AUTHORIZATION="Bearer eyJ.expired.token")
    assert_success(refresh(api_client, token), 200, REFRESHED)


# --- Logout -----------------------------------------------------------------------


def test_logout_revokes_the_presented_tokens_family(api_client, alice):
    first = sign_in(api_client)["refreshToken"]
    current = assert_success(refresh(api_client, first))["tokens"]["refreshToken"]
    other_session = sign_in(api_client)["refreshToken"]

    data = assert_success(api_client.post(LOGOUT_URL, {"refreshToken": current}, format="json"), 200)
    assert data is None
    assert api_client.post(LOGOUT_URL, {"refreshToken": current}, format="json").json()["message"] == (
        "Logged out successfully"
    )
    assert not RefreshToken.objects.filter(family=stored(current).family, revoked_at__isnull=True).exists()
    assert_error(refresh(api_client, current), 401, REVOKED)
    assert_success(refresh(api_client, other_session), 200, REFRESHED)


def test_logout_with_an_unknown_token_is_refused(api_client, alice):
    sign_in(api_client)
    assert_error(api_client.post(LOGOUT_URL, {"refreshToken": "nope"}, format="json"), 401, "Invalid refresh token")
    assert RefreshToken.objects.filter(revoked_at__isnull=False).count() == 0


def test_logout_validates_the_body(api_client):
    assert_error(api_client.post(LOGOUT_URL, {}, format="json"), 400, "Validation failed", fields=["refreshToken"])


def test_logout_all_revokes_every_session_of_the_caller_only(api_client, alice, bob):
    sessions = [sign_in(api_client) for _ in range(2)]
    bobs = sign_in(api_client, "bob@example.com")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {sessions[0]['accessToken']}")
    assert assert_success(api_client.post("/api/v1/auth/logout/all"), 200, "Logged out of all sessions") is None
    api_client.credentials()
    for session in sessions:
        assert_error(refresh(api_client, session["refreshToken"]), 401, REVOKED)
    assert_success(refresh(api_client, bobs["refreshToken"]), 200, REFRESHED)


def test_logout_all_needs_an_access_token(api_client):
    assert_error(api_client.post("/api/v1/auth/logout/all"), 401, "Authentication credentials were not provided.")


# --- Purge ------------------------------------------------------------------------


def test_the_purge_deletes_tokens_expired_for_more_than_a_day(alice):
    now = timezone.now()

    def token(name, expires_at, **fields):
        return RefreshToken.objects.create(user=alice, token_hash=name.ljust(64, "0"), expires_at=expires_at, **fields)

    long_gone = token("a", now - timedelta(days=2))
    # A newer token of the same family points at the old one it replaced.
    successor = token("b", now - timedelta(days=1, hours=1), family=long_gone.family)
    RefreshToken.objects.filter(pk=long_gone.pk).update(replaced_by=successor)
    recent = token("c", now - timedelta(hours=12))
    live = token("d", now + timedelta(days=3), family=long_gone.family)
    RefreshToken.objects.filter(pk=successor.pk).update(replaced_by=live)

    assert purge_expired_tokens.delay().get() == 2

    assert set(RefreshToken.objects.values_list("pk", flat=True)) == {recent.pk, live.pk}
    assert purge_expired_tokens.delay().get() == 0


def test_the_purge_works_in_batches(alice):
    past = timezone.now() - timedelta(days=5)
    RefreshToken.objects.bulk_create(
        RefreshToken(user=alice, token_hash=f"{n}".ljust(64, "x"), expires_at=past) for n in range(8)
    )
    assert refresh_tokens_purge_expired(batch_size=3) == 8
    assert RefreshToken.objects.count() == 0
