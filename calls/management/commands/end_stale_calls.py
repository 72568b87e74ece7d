"""`manage.py end_stale_calls`: what Celery beat runs every minute, on demand."""

from calls.management.sweeps import SweepCommand
from calls.services import calls_end_stale


class Command(SweepCommand):
    help = (
        "Ends calls still ringing or active past their agent's maximum duration plus "
        "CALLS_STALE_MARGIN_SECONDS (default 300): a voice worker died or a carrier callback was lost. "
        "They end with reason 'stale'; their LiveKit rooms are deleted by a task. Celery beat runs this "
        "every minute (calls.tasks.end_stale_calls); run it by hand after an outage."
    )
    done = "Ended {count} stale call(s)."

    def sweep(self) -> int:
        return calls_end_stale()
