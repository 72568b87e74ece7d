"""No answer of any identity endpoint, success or error, carries a password, a
password hash or a stored refresh-token hash."""

import json
import re

import pytest

from accounts.models import RefreshToken, User, UserStatus
from accounts.tokens import make_email_verification_token, make_invitation_token, make_password_reset_token
from testsupport.api import client_for

from .factories import TEST_PASSWORD, UserFactory
from .helpers import STRONG_PASSWORD, all_keys

pytestmark = pytest.mark.django_db

# "password", "newPassword", "passwordHash", "tokenHash"... but not "passwordReset".
SECRET_KEY_NAME = re.compile(r"password$|hash", re.IGNORECASE)
HASH_MARKERS = ("md5$", "bcrypt", "pbkdf2", "argon2", "sha1$")


def test_no_response_contains_a_password_or_a_hash(
    api_client, alice, charlie, customer_a, django_capture_on_commit_callbacks
):
    invited = UserFactory(email="invited@example.com", customer=customer_a, status=UserStatus.INVITED)
    invited.set_unusable_password()
    invited.save()
    seen_hashes: set[str] = set()
    bodies: list[str] = []

    def call(method, url, payload=None, client=api_client):
        with django_capture_on_commit_callbacks(execute=True):
            response = getattr(client, method)(url, payload, format="json")
        bodies.append(response.content.decode())
        seen_hashes.update(User.objects.values_list("password", flat=True))
        seen_hashes.update(RefreshToken.objects.values_list("token_hash", flat=True))
        return response.json()

    login = {"email": "alice@example.com", "password": TEST_PASSWORD}
    tokens = call("post", "/api/v1/auth/login", login)["data"]["auth"]["tokens"]
    call("post", "/api/v1/auth/login", {**login, "password": "wrong-password"})
    call("post", "/api/v1/auth/register/request-verification", {"email": "new@example.com"})
    call("post", "/api/v1/auth/register/request-verification", {"email": "alice@example.com"})
    token = make_email_verification_token("new@example.com")
    call("post", "/api/v1/auth/register/complete", {"token": token, "name": "New", "password": STRONG_PASSWORD})
    call("post", "/api/v1/auth/register/complete", {"token": token, "name": "New", "password": "weak"})
    refreshed = call("post", "/api/v1/auth/refresh", {"refreshToken": tokens["refreshToken"]})["data"]["tokens"]
    call("post", "/api/v1/auth/refresh", {"refreshToken": tokens["refreshToken"]})
    me = client_for(alice)
    call("get", "/api/v1/auth/profile", client=me)
    call("patch", "/api/v1/auth/profile", {"name": "Alice B"}, client=me)
    invitation = make_invitation_token(invited)
    call("post", "/api/v1/auth/invite/accept", {"token": invitation, "password": "password"})
    call("post", "/api/v1/auth/invite/accept", {"token": invitation, "password": STRONG_PASSWORD})
    call("post", "/api/v1/auth/password/forgot", {"email": "charlie@example.com"})
    reset = make_password_reset_token(charlie)
    call("post", "/api/v1/auth/password/reset", {"token": reset, "password": "123"})
    call("post", "/api/v1/auth/password/reset", {"token": reset, "password": STRONG_PASSWORD})
    change = {"currentPassword": TEST_PASSWORD, "newPassword": "Changed-Password-55"}
    call("post", "/api/v1/auth/password/change", change, client=me)
    call("post", "/api/v1/auth/logout", {"refreshToken": refreshed["refreshToken"]})
    call("post", "/api/v1/auth/logout/all", client=client_for(User.objects.get(pk=alice.pk)))

    assert len(bodies) == 18
    for body in bodies:
        document = json.loads(body)
        assert not {key for key in all_keys(document) if SECRET_KEY_NAME.search(key)}, body
        for secret in seen_hashes | {TEST_PASSWORD, STRONG_PASSWORD, "Changed-Password-55"}:
            assert secret not in body
        assert not any(marker in body.lower() for marker in HASH_MARKERS), body
