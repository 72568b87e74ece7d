"""`manage.py redial_queued_calls`: what Celery beat runs every 10 s, for cron without a broker."""

from calls.management.sweeps import SweepCommand
from calls.outbound import calls_redial_queued


class Command(SweepCommand):
    help = (
        "Dials again the outbound calls still queued past their time (waiting for a capacity slot, or "
        "scheduled) that no dial task is retrying. Celery beat runs it every 10 s "
        "(calls.tasks.redial_queued_calls); without a broker (eager Celery) run it from cron: each "
        "dial then runs inline."
    )
    done = "Dialing {count} queued call(s) again."

    def sweep(self) -> int:
        return calls_redial_queued()
