"""`manage.py end_stale_calls`: the beat job on demand, with a clear count and clear failures."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from calls.models import CallStatus, EndReason
from calls.tests.factories import CallFactory
from morpheus.celery import app as celery_app
from testsupport.faults import closed_port

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("end_stale_calls", *args, stdout=out)
    return out.getvalue()


def ago(**delta):
    return timezone.now() - datetime.timedelta(**delta)


def test_it_ends_stale_calls_and_says_how_many(livekit_server, django_capture_on_commit_callbacks):
    stale = CallFactory(started_at=ago(hours=1))
    fresh = CallFactory(started_at=ago(minutes=1))
    livekit_server.add_participant(stale.room_name, "agent")

    with django_capture_on_commit_callbacks(execute=True):
        assert run() == "Ended 1 stale call(s).\n"

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, stale.end_reason) == (CallStatus.FAILED, EndReason.STALE)
    assert fresh.status == CallStatus.ACTIVE
    assert stale.room_name not in livekit_server.rooms  # the teardown task ran after commit
    assert run() == "Ended 0 stale call(s).\n"


@pytest.fixture
def unreachable_broker():
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.broker_url
    conf.task_always_eager, conf.broker_url = False, f"redis://:secret@127.0.0.1:{closed_port()}/0"
    yield
    conf.task_always_eager, conf.broker_url = saved


def test_an_unreachable_broker_is_refused_before_anything_ends(unreachable_broker):
    stale = CallFactory(started_at=ago(hours=1))
    with pytest.raises(CommandError, match=r"The Celery broker \(127\.0\.0\.1:\d+/0\) is unreachable") as raised:
        run()
    assert "secret" not in str(raised.value) and "Nothing was ended" in str(raised.value)
    stale.refresh_from_db()
    assert stale.is_open


def test_help_says_what_it_does():
    from calls.management.commands.end_stale_calls import Command

    text = " ".join(Command().create_parser("manage.py", "end_stale_calls").format_help().split())
    assert "maximum duration" in text and "every minute" in text
