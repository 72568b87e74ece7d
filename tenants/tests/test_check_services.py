"""`manage.py check_services`: a line per service, exit 1 when a needed one is down.

The probes are tenants.system_health's; here the command's verdicts are tested against
real services: this database, the local LiveKit Twirp server, Redis when REDIS_URL is set,
closed ports for the ones that are down, and a real process for the exit status."""

import json
import os
import re
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from morpheus.celery import app as celery_app
from testsupport.faults import closed_port
from testsupport.livekit import LiveKitServer

pytestmark = pytest.mark.django_db
needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (a real Redis)")


def check_services_process(**env) -> subprocess.CompletedProcess:
    """`manage.py check_services` in its own process, without Redis or LiveKit configured."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "morpheus.test_settings", **env}
    env.pop("REDIS_URL", None)
    env.pop("LIVEKIT_URL", None)
    command = [sys.executable, "manage.py", "check_services", "--no-color"]
    return subprocess.run(command, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60)


def run(*args) -> str:
    out = StringIO()
    call_command("check_services", *args, stdout=out, no_color=True)
    return out.getvalue()


def lines(out: str) -> dict[str, str]:
    return {line.split()[0]: line for line in out.splitlines() if line.split() and not line.startswith("All ")}


@pytest.fixture
def quiet(settings, eager_celery):
    """Celery inline and LiveKit unset: only the database and Redis (if configured) are probed."""
    settings.LIVEKIT_URL = ""


@pytest.fixture
def livekit(settings):
    with LiveKitServer() as server:
        settings.LIVEKIT_URL = server.url
        settings.LIVEKIT_API_KEY = server.api_key
        settings.LIVEKIT_API_SECRET = server.api_secret
        yield server


def test_it_prints_each_service_and_passes_when_nothing_needed_is_down(quiet):
    out = run()
    rows = lines(out)
    assert list(rows) == ["database", "redis", "celery", "livekit"]
    assert re.match(rf"database\s+up\s+\d+\.\d ms\s+{connection.vendor}", rows["database"])
    assert re.match(r"celery\s+eager\s+-\s+tasks run inline", rows["celery"])
    assert re.match(r"livekit\s+not configured\s+-\s+LIVEKIT_URL is unset", rows["livekit"])
    if settings.REDIS_URL:
        assert re.match(r"redis\s+up\s+\d+\.\d ms\s+Redis \d", rows["redis"])
    else:
        assert re.match(r"redis\s+not configured", rows["redis"])
    assert out.endswith("All required services are available.\n")


def test_required_services_must_be_up(quiet):
    with pytest.raises(CommandError, match="^celery is required but eager; livekit is required but not configured$"):
        run("--require", "livekit, celery")


def test_unknown_or_contradictory_names_are_refused(quiet):
    with pytest.raises(CommandError, match="Unknown service.*: kafka; use redis, celery, livekit"):
        run("--require", "kafka")
    with pytest.raises(CommandError, match="database cannot be ignored"):
        run("--ignore", "database")
    with pytest.raises(CommandError, match="Both required and ignored: livekit"):
        run("--require", "livekit", "--ignore", "livekit")


def test_livekit_up_is_reported_with_its_latency(eager_celery, livekit):
    livekit.add_participant("call-1", "caller")
    out = run("--require", "livekit")
    assert re.match(r"livekit\s+up\s+\d+\.\d ms\s+127\.0\.0\.1:\d+, 1 room\(s\)", lines(out)["livekit"])
    assert livekit.requests_for("ListRooms")


def test_a_configured_livekit_that_is_down_fails_even_if_not_required(eager_celery, livekit):
    livekit.stop()
    with pytest.raises(CommandError, match="^livekit is down$"):
        run()
    # ... unless it is ignored (say, the API container's own health check).
    assert "livekit   DOWN (ignored)" in run("--ignore", "livekit")


def test_refused_credentials_are_down(eager_celery, livekit, settings):
    settings.LIVEKIT_API_SECRET = "not-the-secret-0123456789abcdef0123"
    out = StringIO()
    with pytest.raises(CommandError, match="livekit is down"):
        call_command("check_services", stdout=out, no_color=True)
    assert "LiveKit unauthenticated: HTTP 401" in out.getvalue()


def test_an_unreachable_redis_fails(quiet, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    out = StringIO()
    with pytest.raises(CommandError, match="^redis is down$"):
        call_command("check_services", stdout=out, no_color=True)
    assert re.match(r"redis\s+DOWN\s+-\s+ConnectionError", lines(out.getvalue())["redis"])


def test_json_output(quiet):
    payload = json.loads(run("--json", "--ignore", "celery"))
    assert payload["ok"] is True and payload["required"] == ["database"] and payload["ignored"] == ["celery"]
    assert payload["checks"]["database"]["status"] == "up"
    assert payload["checks"]["livekit"] == {"status": "not_configured", "latencyMs": None}


@pytest.mark.slow
@needs_redis
@pytest.mark.services
def test_a_broker_without_workers_fails_the_celery_check(quiet):
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with pytest.raises(CommandError, match="^celery is down$"):
            run()
    finally:
        celery_app.conf.task_always_eager = previous


@pytest.mark.slow
def test_the_process_exits_1_when_the_database_is_down():
    """What a container health check sees: a real `manage.py check_services` process."""
    if connection.vendor == "sqlite":
        database_url = "sqlite:////nonexistent-dir/morpheus/db.sqlite3"
    else:
        database_url = f"postgres://postgres@127.0.0.1:{closed_port()}/morpheus"
    result = check_services_process(DATABASE_URL=database_url)
    assert result.returncode == 1, result
    assert re.match(r"database\s+DOWN\s+-\s+OperationalError", result.stdout)
    assert "CommandError: database is down" in result.stderr


@pytest.mark.slow
def test_the_process_exits_0_when_all_is_well(tmp_path):
    any_database = f"sqlite:///{tmp_path / 'db.sqlite3'}"  # one that opens
    result = check_services_process(DATABASE_URL=any_database, CELERY_TASK_ALWAYS_EAGER="true")
    assert result.returncode == 0, result
    assert "All required services are available." in result.stdout
