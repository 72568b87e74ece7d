"""Celery beat's schedule: the periodic jobs exist as tasks, run as often as documented,
and never pile up behind a worker that was down."""

from django.conf import settings

from morpheus.celery import app as celery_app

EXPECTED = {
    "outbox-sweep": ("morpheus.tasks.outbox_sweep", 30.0),
    "outbox-purge": ("morpheus.tasks.outbox_purge", 3600.0),
    "end-stale-calls": ("calls.tasks.end_stale_calls", 60.0),
    "purge-expired-tokens": ("accounts.tasks.purge_expired_tokens", 3600.0),
    "sweep-call-leases": ("calls.tasks.sweep_call_leases", 30.0),
    "redial-queued-calls": ("calls.tasks.redial_queued_calls", 10.0),
    "campaign-dialer-tick": ("campaigns.tasks.dialer_tick", 5.0),
    "webhook-sweep": ("integrations.tasks.webhook_sweep", 60.0),
    "purge-recordings": ("calls.tasks.purge_recordings", 3600.0),
}


def test_the_schedule_names_registered_tasks_at_the_documented_intervals():
    celery_app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert {name: (entry["task"], entry["schedule"]) for name, entry in schedule.items()} == EXPECTED
    for entry in schedule.values():
        assert entry["task"] in celery_app.tasks
        assert 0 < entry["options"]["expires"] < entry["schedule"]


def test_the_scheduled_tasks_run(db):
    celery_app.loader.import_default_modules()
    # Called as beat calls them (no arguments): each answers how much it did.
    for name, (task, _) in EXPECTED.items():
        assert celery_app.tasks[task].apply().get() == 0, name
