"""`manage.py purge_expired_tokens`: what Celery beat runs hourly, on demand."""

from argparse import ArgumentTypeError
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone

from accounts.services.sessions import EXPIRED_TOKEN_GRACE, refresh_tokens_purge_expired


def _non_negative_hours(value: str) -> float:
    try:
        hours = float(value)
    except ValueError:
        hours = -1
    if not hours >= 0:
        raise ArgumentTypeError(f"expected a number of hours, 0 or more, not {value!r}")
    return hours


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ArgumentTypeError(f"expected a whole number, 1 or more, not {value!r}")
    return number


class Command(BaseCommand):
    help = (
        "Deletes refresh tokens that expired more than --grace-hours ago (default 24: until then a replayed "
        "token is still answered 'expired' rather than 'invalid'). In batches, so a backlog never locks the "
        "table for long. Celery beat runs this hourly (accounts.tasks.purge_expired_tokens)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--grace-hours",
            type=_non_negative_hours,
            default=EXPIRED_TOKEN_GRACE.total_seconds() / 3600,
            help="Keep tokens expired for less than this many hours (default %(default)s).",
        )
        parser.add_argument(
            "--batch-size", type=_positive_int, default=1000, help="Rows deleted per transaction (default %(default)s)."
        )

    def handle(self, *args, **options):
        grace = timedelta(hours=options["grace_hours"])
        try:
            purged = refresh_tokens_purge_expired(grace=grace, batch_size=options["batch_size"])
        except DatabaseError as exc:
            raise CommandError(f"The database is unavailable or not migrated: {exc}") from exc
        cutoff = (timezone.now() - grace).strftime("%Y-%m-%d %H:%M UTC")
        self.stdout.write(self.style.SUCCESS(f"Purged {purged} refresh token(s) expired before {cutoff}."))
