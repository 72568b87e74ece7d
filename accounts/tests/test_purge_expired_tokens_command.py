"""`manage.py purge_expired_tokens`: the hourly beat job on demand."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import RefreshToken

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("purge_expired_tokens", *args, stdout=out)
    return out.getvalue()


def token(user, name, expires_at):
    return RefreshToken.objects.create(user=user, token_hash=name.ljust(64, "0"), expires_at=expires_at)


def test_it_purges_tokens_expired_beyond_the_grace_and_says_how_many(alice):
    now = timezone.now()
    token(alice, "a", now - timedelta(days=3))
    token(alice, "b", now - timedelta(days=2))
    recent = token(alice, "c", now - timedelta(hours=5))
    live = token(alice, "d", now + timedelta(days=1))

    out = run()

    assert out.startswith("Purged 2 refresh token(s) expired before ") and out.endswith(" UTC.\n")
    assert set(RefreshToken.objects.values_list("pk", flat=True)) == {recent.pk, live.pk}
    assert run("--grace-hours", "1", "--batch-size", "1").startswith("Purged 1 refresh token(s)")
    assert list(RefreshToken.objects.values_list("pk", flat=True)) == [live.pk]
    assert run().startswith("Purged 0 refresh token(s)")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--grace-hours", "-1"], "expected a number of hours, 0 or more, not '-1'"),
        (["--grace-hours", "soon"], "expected a number of hours, 0 or more, not 'soon'"),
        (["--batch-size", "0"], "expected a whole number, 1 or more, not '0'"),
    ],
)
def test_bad_options_are_refused(alice, args, message):
    token(alice, "a", timezone.now() - timedelta(days=3))
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert RefreshToken.objects.count() == 1
