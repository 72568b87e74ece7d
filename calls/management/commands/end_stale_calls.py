"""`manage.py end_stale_calls`: what Celery beat runs every minute, on demand."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from calls.services import calls_end_stale
from morpheus.celery import app as celery_app

BROKER_TIMEOUT_SECONDS = 2.0


def require_broker() -> None:
    """Ending a call enqueues its room teardown and post-call tasks: with a broker that
    cannot be reached they would be lost after the call was ended, so refuse first."""
    if celery_app.conf.task_always_eager:
        return  # tasks run inline, there is no broker
    try:
        with celery_app.connection_for_write() as connection:
            connection.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS
            )
    except Exception as exc:
        url = celery_app.conf.broker_url.split("@")[-1]  # no credentials in the message
        raise CommandError(f"The Celery broker ({url}) is unreachable: {exc}. Nothing was ended.") from exc


class Command(BaseCommand):
    help = (
        "Ends calls still ringing or active past their agent's maximum duration plus "
        "CALLS_STALE_MARGIN_SECONDS (default 300): a voice worker died or a carrier callback was lost. "
        "They end with reason 'stale'; their LiveKit rooms are deleted by a task. Celery beat runs this "
        "every minute (calls.tasks.end_stale_calls); run it by hand after an outage."
    )

    def handle(self, *args, **options):
        require_broker()
        try:
            ended = calls_end_stale()
        except DatabaseError as exc:
            raise CommandError(f"The database is unavailable or not migrated: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Ended {ended} stale call(s)."))
