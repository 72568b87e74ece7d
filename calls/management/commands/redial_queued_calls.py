"""`manage.py redial_queued_calls`: what Celery beat runs every 10 s, for cron without a broker."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from calls.outbound import calls_redial_queued

from .end_stale_calls import require_broker


class Command(BaseCommand):
    help = (
        "Dials again the outbound calls still queued past their time (waiting for a capacity slot, or "
        "scheduled) that no dial task is retrying. Celery beat runs it every 10 s "
        "(calls.tasks.redial_queued_calls); without a broker (eager Celery) run it from cron: each "
        "dial then runs inline."
    )

    def handle(self, *args, **options):
        require_broker()
        try:
            count = calls_redial_queued()
        except DatabaseError as exc:
            raise CommandError(f"The database is unavailable or not migrated: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Dialing {count} queued call(s) again."))
