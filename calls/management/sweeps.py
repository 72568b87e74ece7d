"""What the commands that run one of Celery beat's sweeps on demand share
(`end_stale_calls`, `redial_queued_calls`)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

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


class SweepCommand(BaseCommand):
    """Runs `sweep()` (the service beat runs; it returns how many calls it handled) once the
    broker is known to be reachable, and says `done` with that count.

    Each sweep enqueues tasks per call and needs the database, so both commands refuse an
    unreachable broker first and turn a database that cannot answer into a CommandError
    (a message, not a traceback), the same way."""

    done: str  # "... {count} ...": what the command prints on success

    def sweep(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} runs its service in sweep()")

    def handle(self, *args, **options):
        require_broker()
        try:
            count = self.sweep()
        except DatabaseError as exc:
            raise CommandError(f"The database is unavailable or not migrated: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(self.done.format(count=count)))
