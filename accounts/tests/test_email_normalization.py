"""One spelling of an email for storage, lookup and throttle keys (issue 13, finding 3):
`ſ` (long s), `K` (Kelvin sign) and full-width letters are the ASCII address."""

import importlib

import pytest
from django.apps import apps as django_apps

from accounts.models import User
from accounts.normalization import normalize_email
from accounts.tests.factories import TEST_PASSWORD, UserFactory
from accounts.throttles import LoginEmailThrottle
from testsupport.api import assert_error, assert_success

pytestmark = pytest.mark.django_db

SPELLINGS = [
    "kate.s@rel.test",
    "KATE.S@REL.TEST",
    "\u212aate.s@rel.te\u017ft",  # Kelvin sign K, long s ſ
    "ｋａｔｅ.ｓ@ｒｅｌ.ｔｅｓｔ",  # full-width
    "  Kate.\u017f@Rel.Test  ",
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_normalises_to_the_ascii_address(spelling):
    assert normalize_email(spelling) == "kate.s@rel.test"


def test_normalising_is_stable():
    for spelling in SPELLINGS + ["straße@example.com", "ǅ@example.com"]:
        once = normalize_email(spelling)
        assert normalize_email(once) == once


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_signs_in_to_the_one_account(api_client, spelling):
    user = UserFactory(email="kate.s@rel.test")
    response = api_client.post("/api/v1/auth/login", {"email": spelling, "password": TEST_PASSWORD}, format="json")
    assert assert_success(response, 200)["auth"]["user"]["id"] == str(user.id)


def test_every_spelling_counts_under_one_throttle_key(rf):
    keys = set()
    for spelling in SPELLINGS:
        request = rf.post("/api/v1/auth/login")
        request.data = {"email": spelling}
        keys.add(LoginEmailThrottle().get_cache_key(request, None))
    assert len(keys) == 1


def test_storage_uses_the_normal_spelling(alice_client, alice):
    invited = assert_success(
        alice_client.post("/api/v1/users", {"email": "ｄｏｒａ@Ｅｘａｍｐｌｅ.com"}, format="json"), 201
    )
    assert invited["email"] == "dora@example.com"
    assert User.objects.get(pk=invited["id"]).email == "dora@example.com"
    # Another spelling of the same address is the same address: taken.
    response = alice_client.post("/api/v1/users", {"email": "DORA@EXAMPLE.COM"}, format="json")
    assert_error(response, 409)
    assert User.objects.create_user("\u212aELVIN@example.com", "x-Strong-Password-1", name="K").email == (
        "kelvin@example.com"
    )


def test_the_migration_normalises_existing_rows_and_keeps_collisions():
    migration = importlib.import_module("accounts.migrations.0003_normalize_emails")
    old = UserFactory(email="placeholder-1@example.com")
    twin = UserFactory(email="placeholder-2@example.com")
    plain = UserFactory(email="plain@example.com")
    # Rows written before the normalisation existed (raw SQL-level update, no save logic).
    User.objects.filter(pk=old.pk).update(email="\u212aate@rel.te\u017ft")
    User.objects.filter(pk=twin.pk).update(email="ｋａｔｅ@ｒｅｌ.ｔｅｓｔ")
    migration.normalize_emails(django_apps, None)
    assert User.objects.get(pk=old.pk).email == "kate@rel.test"  # the oldest takes the address
    assert User.objects.get(pk=twin.pk).email == "ｋａｔｅ@ｒｅｌ.ｔｅｓｔ"  # a collision is left for an operator
    assert User.objects.get(pk=plain.pk).email == "plain@example.com"
