"""GET /admin/system/health: each dependency checked for real, with status and latency."""

import os
import re
import subprocess
import sys
import uuid

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from django.test import override_settings

from morpheus.celery import app as celery_app
from tenants import system_health
from testsupport import faults
from testsupport.api import assert_error, assert_success
from testsupport.faults import closed_port

pytestmark = pytest.mark.django_db

URL = "/api/v1/admin/system/health"
KEY, SECRET = "APIhealthtest", "health-test-secret-0123456789abcdef"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (a real Redis)")


def on_the_real_broker(test):
    """A test that talks to Celery over the real Redis broker: slow, part of the
    `services` run, skipped without REDIS_URL."""
    return pytest.mark.slow(needs_redis(pytest.mark.services(test)))


@pytest.fixture
def quiet(eager_celery):
    """Celery inline and LiveKit unset: only the database and (when configured) Redis matter."""
    with override_settings(LIVEKIT_URL=""):
        yield


@pytest.fixture
def broker_celery():
    """The morpheus Celery app sending to its broker (the REDIS_URL run's configuration)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield celery_app
    celery_app.conf.task_always_eager = previous


def health(client, status=200, message=None):
    if status == 200:
        return assert_success(client.get(URL), 200, message)["health"]
    return assert_error(client.get(URL), status, message)["data"]["health"]


def test_it_reports_a_healthy_system(platform_admin_client, quiet):
    report = health(platform_admin_client, 200, "System health check passed")
    assert report["status"] == "healthy"
    assert report["database"] == "connected"
    assert ISO.match(report["timestamp"])
    assert re.fullmatch(r"\d+d \d+h \d+m \d+s", report["uptime"])
    assert set(report["memory"]) == {"rss", "heapTotal", "heapUsed"}
    checks = report["checks"]
    assert set(checks) == {"database", "redis", "celery", "livekit"}
    assert checks["celery"] == {"status": "eager", "latencyMs": None, "workers": []}
    assert checks["livekit"] == {"status": "not_configured", "latencyMs": None}
    if settings.REDIS_URL:
        assert checks["redis"]["status"] == "up" and checks["redis"]["latencyMs"] >= 0
        assert re.fullmatch(r"\d+\.\d+\.\d+", checks["redis"]["serverVersion"])
        assert checks["redis"]["connectedClients"] >= 1
    else:
        assert checks["redis"] == {"status": "not_configured", "latencyMs": None}


def test_it_reports_database_facts(platform_admin_client, quiet):
    database = health(platform_admin_client)["checks"]["database"]
    assert database["status"] == "up" and isinstance(database["latencyMs"], float) and database["latencyMs"] >= 0
    assert database["vendor"] == connection.vendor
    assert database["connMaxAge"] == connection.settings_dict["CONN_MAX_AGE"]
    assert database["connHealthChecks"] is connection.settings_dict["CONN_HEALTH_CHECKS"] is False
    assert database["serverVersion"]
    if connection.vendor == "postgresql":
        assert database["maxConnections"] >= 1
        # This very request holds one of the connections.
        assert database["connections"] >= 1 and database["activeConnections"] >= 1
        assert database["connections"] <= database["maxConnections"]
        assert database["pool"] is None


@pytest.fixture
def dead_database(monkeypatch):
    with faults.dead_database() as dead:
        monkeypatch.setattr(system_health, "connection", dead)
        yield dead


def test_a_dead_database_is_unhealthy_and_503(platform_admin_client, dead_database, quiet):
    report = health(platform_admin_client, 503, "System health check failed")
    assert report["status"] == "unhealthy"
    assert report["database"] == "disconnected"
    database = report["checks"]["database"]
    assert database["status"] == "down" and database["latencyMs"] is None
    assert database["error"]


@override_settings(REDIS_URL="")
def test_without_redis_it_is_not_configured(platform_admin_client, quiet):
    report = health(platform_admin_client, 200, "System health check passed")
    assert report["checks"]["redis"] == {"status": "not_configured", "latencyMs": None}


def test_an_unreachable_redis_is_unhealthy_and_503(platform_admin_client, quiet):
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0"):
        report = health(platform_admin_client, 503, "System health check failed")
    assert report["status"] == "unhealthy" and report["database"] == "connected"
    redis_check = report["checks"]["redis"]
    assert redis_check["status"] == "down" and redis_check["latencyMs"] is None
    assert "ConnectionError" in redis_check["error"]


def test_an_unreachable_celery_broker_is_down():
    app = Celery("probe", broker=f"redis://127.0.0.1:{closed_port()}/0", set_as_current=False)
    celery = system_health.check_celery(app)
    assert celery["status"] == "down" and celery["workers"] == [] and celery["latencyMs"] is None
    assert "OperationalError" in celery["error"]


def test_eager_celery_has_no_worker_to_ping(eager_celery):
    assert system_health.check_celery() == {"status": "eager", "latencyMs": None, "workers": []}


@on_the_real_broker
def test_a_broker_without_workers_is_down():
    # A Redis database no worker listens on: the broadcast ping gets no answer.
    app = Celery("probe", broker=re.sub(r"/\d*$", "", settings.REDIS_URL) + "/15", set_as_current=False)
    assert system_health.check_celery(app) == {
        "status": "down",
        "latencyMs": None,
        "workers": [],
        "error": "No Celery worker answered the ping",
    }


@on_the_real_broker
@override_settings(LIVEKIT_URL="")
def test_without_a_worker_the_system_is_degraded_but_200(platform_admin_client, broker_celery):
    report = health(platform_admin_client, 200, "System health check passed with degraded components")
    assert report["status"] == "degraded" and report["database"] == "connected"
    assert report["checks"]["celery"]["status"] == "down"
    assert report["checks"]["redis"]["status"] == "up"


@pytest.fixture
def celery_worker_process(broker_celery):
    """A real `celery -A morpheus worker` process on the configured broker, on a queue of
    its own so it answers control commands but takes no task meant for anyone else."""
    hostname = f"health-probe-{uuid.uuid4().hex[:8]}@localhost"
    command = [
        sys.executable, "-m", "celery", "-A", "morpheus", "worker", "--pool", "solo", "--loglevel", "WARNING",
        "--hostname", hostname, "--queues", f"health-probe-{uuid.uuid4().hex}",
        "--without-heartbeat", "--without-mingle", "--without-gossip",
    ]  # fmt: skip
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "morpheus.test_settings",
        "CELERY_BROKER_URL": broker_celery.conf.broker_url,
    }
    worker = subprocess.Popen(
        command, env=env, cwd=settings.BASE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        for _ in range(120):  # wait until it answers, at most about a minute
            if worker.poll() is not None:
                pytest.fail(f"the worker exited: {worker.stderr.read().decode()[-2000:]}")
            if broker_celery.control.ping(destination=[hostname], timeout=0.5):
                break
        else:
            pytest.fail("the worker never answered a ping")
        yield hostname
    finally:
        worker.terminate()
        worker.wait(timeout=30)


@on_the_real_broker
@override_settings(LIVEKIT_URL="")
def test_a_running_worker_answers_the_ping(platform_admin_client, celery_worker_process):
    report = health(platform_admin_client, 200, "System health check passed")
    celery = report["checks"]["celery"]
    assert celery["status"] == "up"
    assert celery_worker_process in celery["workers"]
    assert isinstance(celery["latencyMs"], float) and celery["latencyMs"] >= 0


# --- LiveKit ------------------------------------------------------------------------


def test_livekit_answering_list_rooms_is_up(platform_admin_client, eager_celery, livekit_server):
    livekit_server.add_participant("call-1", identity="caller")
    livekit_server.add_participant("call-2", identity="caller")
    report = health(platform_admin_client, 200, "System health check passed")
    livekit = report["checks"]["livekit"]
    assert livekit["status"] == "up" and livekit["latencyMs"] >= 0
    assert livekit["rooms"] == 2
    assert livekit["host"] == livekit_server.url.removeprefix("http://")
    assert [r.method for r in livekit_server.requests] == ["ListRooms"]
    assert list(livekit_server.messages("ListRooms")[0].names) == []


def test_a_ws_url_reaches_the_same_server(platform_admin_client, eager_celery, livekit_server, settings):
    settings.LIVEKIT_URL = livekit_server.url.replace("http://", "ws://")
    report = health(platform_admin_client)
    assert report["checks"]["livekit"]["status"] == "up" and report["checks"]["livekit"]["rooms"] == 0


def test_livekit_on_a_closed_port_is_down_and_degraded(platform_admin_client, eager_celery):
    url = f"http://127.0.0.1:{closed_port()}"
    with override_settings(LIVEKIT_URL=url, LIVEKIT_API_KEY=KEY, LIVEKIT_API_SECRET=SECRET):
        report = health(platform_admin_client, 200, "System health check passed with degraded components")
    assert report["status"] == "degraded" and report["database"] == "connected"
    livekit = report["checks"]["livekit"]
    assert livekit["status"] == "down" and livekit["latencyMs"] is None
    assert livekit["error"].startswith("LiveKit transport: ClientConnectorError")


def test_livekit_refusing_our_credentials_is_down(platform_admin_client, eager_celery, livekit_server, settings):
    settings.LIVEKIT_API_SECRET = "wrong-secret-0123456789abcdef0123"
    report = health(platform_admin_client, 200, "System health check passed with degraded components")
    livekit = report["checks"]["livekit"]
    assert livekit["status"] == "down"
    assert livekit["error"].startswith("LiveKit unauthenticated:")
    assert livekit_server.requests == []


def test_livekit_without_credentials_is_down(platform_admin_client, eager_celery):
    with override_settings(LIVEKIT_URL="http://127.0.0.1:7880", LIVEKIT_API_KEY="", LIVEKIT_API_SECRET=""):
        report = health(platform_admin_client, 200)
    assert report["checks"]["livekit"]["status"] == "down"
    assert report["checks"]["livekit"]["error"] == "LIVEKIT_API_KEY/SECRET are not set"
