"""deploy/gunicorn.conf.py: the values it derives, and the real server it starts.

The live test runs the `migrate` and `api` services' commands from docker-compose.yml
in subprocesses with the `api` container's environment (.env.example filled in), on
a database of its own: PostgreSQL when DATABASE_URL points at one (CI), otherwise a
fresh SQLite file. It polls the container health check until healthy, then checks the
envelope, the forwarded-IP and HTTPS handling, the access log and a clean shutdown.
"""

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
from urllib.parse import urlsplit, urlunsplit

import environ
import psutil
import psycopg
import pytest
from gunicorn.config import Config

from . import support
from .conftest import process_environment
from .test_entry_points import GunicornConfigProbe


def load_config(monkeypatch, **env):
    """The settings gunicorn would load from the file under this environment."""
    for name in ("PORT", "NUM_PROXIES", "FORWARDED_ALLOW_IPS", "LOG_LEVEL") + tuple(
        name for name in os.environ if name.startswith("GUNICORN_")
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return GunicornConfigProbe(support.GUNICORN_CONFIG).cfg


def config_module(monkeypatch):
    namespace = {}
    exec(compile(support.GUNICORN_CONFIG.read_text(), str(support.GUNICORN_CONFIG), "exec"), namespace)  # noqa: S102
    return namespace


def test_every_name_in_the_file_is_a_gunicorn_setting(monkeypatch):
    namespace = config_module(monkeypatch)
    public = {
        name
        for name, value in namespace.items()
        if not name.startswith("_") and name.islower() and not callable(value) and not hasattr(value, "__file__")
    }
    unknown = public - set(Config().settings)
    assert not unknown, f"gunicorn silently ignores unknown names: {sorted(unknown)}"


def test_defaults_behind_no_proxy(monkeypatch):
    cfg = load_config(monkeypatch)
    namespace = config_module(monkeypatch)
    assert cfg.bind == ["0.0.0.0:8000"]
    assert cfg.workers == min(2 * namespace["available_cpus"]() + 1, 8)
    assert cfg.threads == 2
    assert cfg.worker_class_str == "gthread"
    assert (cfg.timeout, cfg.graceful_timeout, cfg.keepalive) == (30, 30, 75)
    assert (cfg.max_requests, cfg.max_requests_jitter) == (1000, 100)
    assert cfg.accesslog == "-"
    assert cfg.errorlog == "-"
    assert cfg.loglevel == "info"
    assert "rid=%({x-request-id}o)s" in cfg.access_log_format
    # NUM_PROXIES=0: nobody may claim the request came over HTTPS.
    assert cfg.forwarded_allow_ips == []


def test_workers_are_forked_from_the_preloaded_app(monkeypatch):
    assert load_config(monkeypatch).preload_app is True


@pytest.mark.django_db(transaction=True)  # no test transaction holding the connection open
def test_the_arbiter_closes_database_connections_before_forking(monkeypatch):
    from django.db import connections

    connection = connections["default"]
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("Django never closes the in-memory SQLite test database (it would lose it)")
    connection.ensure_connection()
    config_module(monkeypatch)["pre_fork"](None, None)
    assert connection.connection is None


def test_it_limits_request_lines_and_headers(monkeypatch):
    """Oversize request lines (414) and headers (431) are refused by gunicorn before Django
    (docs/deploy.md, "Request limits"); the Caddyfile envelopes those answers."""
    cfg = load_config(monkeypatch)
    assert (cfg.limit_request_line, cfg.limit_request_fields, cfg.limit_request_field_size) == (8190, 100, 8190)


def test_behind_proxies_it_trusts_their_forwarded_headers(monkeypatch):
    assert load_config(monkeypatch, NUM_PROXIES="1").forwarded_allow_ips == ["*"]
    assert load_config(monkeypatch, NUM_PROXIES="2").forwarded_allow_ips == ["*"]


def test_explicit_proxy_addresses_narrow_the_trust(monkeypatch):
    cfg = load_config(monkeypatch, NUM_PROXIES="1", FORWARDED_ALLOW_IPS="10.0.0.0/8,192.168.1.5")
    assert cfg.forwarded_allow_ips == ["10.0.0.0/8", "192.168.1.5"]


def test_the_environment_sizes_the_server(monkeypatch):
    cfg = load_config(
        monkeypatch,
        PORT="9123",
        GUNICORN_WORKERS="3",
        GUNICORN_THREADS="1",
        GUNICORN_TIMEOUT="90",
        GUNICORN_GRACEFUL_TIMEOUT="20",
        GUNICORN_KEEPALIVE="10",
        GUNICORN_MAX_REQUESTS="0",
        LOG_LEVEL="WARNING",
    )
    assert cfg.bind == ["0.0.0.0:9123"]
    assert (cfg.workers, cfg.threads, cfg.worker_class_str) == (3, 1, "sync")
    assert (cfg.timeout, cfg.graceful_timeout, cfg.keepalive) == (90, 20, 10)
    assert (cfg.max_requests, cfg.max_requests_jitter) == (0, 0)
    assert cfg.loglevel == "warning"


def test_a_malformed_number_names_the_variable(monkeypatch):
    monkeypatch.setenv("GUNICORN_WORKERS", "many")
    with pytest.raises(ValueError, match="GUNICORN_WORKERS must be an integer"):
        config_module(monkeypatch)


def test_workers_follow_the_cpus_the_container_may_use(monkeypatch):
    namespace = config_module(monkeypatch)
    cpus = namespace["available_cpus"]()
    assert 1 <= cpus <= len(os.sched_getaffinity(0))
    assert namespace["default_workers"]() == min(2 * cpus + 1, namespace["MAX_DEFAULT_WORKERS"])


# --- The live server --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def release_database_url(tmp_path):
    """A database of its own, never pytest-django's test database."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp_path / 'release.sqlite3'}"
        return
    config = environ.Env.db_url_config(configured)
    name = f"morpheus_gunicorn_{os.getpid()}_{secrets.token_hex(3)}"
    admin = psycopg.connect(
        dbname="postgres",
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        autocommit=True,
    )
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(configured)._replace(path=f"/{name}"))
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def api_environment(stack, env_values, release_database_url):
    """The `api` container's environment, pointed at the test database and Redis."""
    container_env = support.container_environment(stack["services"]["api"], env_values)
    return process_environment(
        container_env,
        DATABASE_URL=release_database_url,
        REDIS_URL=os.environ.get("REDIS_URL") or None,
        PORT=str(free_port()),
        GUNICORN_WORKERS="2",
    )


def run(argv, environment, timeout=300):
    return subprocess.run(argv, cwd=support.ROOT, env=environment, capture_output=True, text=True, timeout=timeout)


def request(port, path, host, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host, **(headers or {})})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def wait_until_healthy(healthcheck, environment, server, deadline_seconds=120):
    """Runs the container health check until it passes, as Docker does during start_period."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        assert server.poll() is None, "gunicorn exited during start-up"
        result = run(healthcheck, environment, timeout=30)
        if result.returncode == 0:
            return result.stdout
        assert time.monotonic() < deadline, f"never healthy: {result.stdout}{result.stderr}"
        time.sleep(0.5)


@pytest.mark.slow
def test_the_release_step_migrates_and_creates_the_platform_admin_once(stack, api_environment):
    environment = {
        **api_environment,
        "DJANGO_SUPERUSER_EMAIL": "ops@example.com",
        "DJANGO_SUPERUSER_PASSWORD": secrets.token_urlsafe(16),
        "DJANGO_SUPERUSER_NAME": "Ops",
    }
    release = stack["services"]["migrate"]["command"]

    first = run(release, environment)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Applying accounts." in first.stdout
    assert "Superuser created successfully." in first.stdout

    second = run(release, environment)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "No migrations to apply." in second.stdout
    assert "platform admin ops@example.com already exists" in second.stdout

    shown = run(
        [
            "python",
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            "from accounts.models import User; "
            "print([(u.email, u.name, u.role, u.status, u.customer_id) for u in User.objects.all()])",
        ],
        environment,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "[('ops@example.com', 'Ops', 'platform_admin', 'active', None)]"


@pytest.mark.slow
def test_gunicorn_serves_a_healthy_api_with_the_shipped_config(stack, api_environment, tmp_path):
    migrated = run(stack["services"]["migrate"]["command"], api_environment)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr

    port = int(api_environment["PORT"])
    host = api_environment["ALLOWED_HOSTS"].split(",")[0]
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            stack["services"]["api"]["command"],
            cwd=support.ROOT,
            env=api_environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        healthcheck = support.healthcheck_argv(stack["services"]["api"]["healthcheck"]["test"])
        verdict = wait_until_healthy(healthcheck, api_environment, server)
        assert verdict.startswith("healthy (database connected")

        status, headers, body = request(port, "/api/v1/health", host)
        envelope = json.loads(body)
        assert status == 200
        assert envelope["success"] is True
        assert envelope["status"] == 200
        assert envelope["message"] == "System status retrieved"
        assert envelope["requestInfo"] == {"url": "/api/v1/health", "ip": "127.0.0.1", "method": "GET"}
        data = envelope["data"]
        assert (data["status"], data["database"]) == ("healthy", "connected")
        # Served by a gunicorn worker forked from the master we started.
        assert data["system"]["pid"] in {child.pid for child in psutil.Process(server.pid).children()}
        request_id = headers["X-Request-ID"]

        # NUM_PROXIES=1: the client is the last X-Forwarded-For hop, the proxy's view.
        _, _, body = request(
            port, "/api/v1/health", host, {"X-Forwarded-For": "198.51.100.1, 203.0.113.9", "X-Request-ID": "trace-1"}
        )
        assert json.loads(body)["requestInfo"]["ip"] == "203.0.113.9"

        # Production security: plain HTTP is redirected, except the health check above...
        status, headers, _ = request(port, "/api/v1/agents", host)
        assert status == 301
        assert headers["Location"] == f"https://{host}/api/v1/agents"
        # ...and a request the proxy forwarded over HTTPS gets through, with HSTS.
        status, headers, body = request(port, "/api/v1/no-such-thing", host, {"X-Forwarded-Proto": "https"})
        assert status == 404
        assert json.loads(body)["message"] == "Resource not found!!"
        assert headers["Strict-Transport-Security"].startswith("max-age=2592000")

        # A host the deployment does not serve is refused.
        status, _, _ = request(port, "/api/v1/health", "evil.example.net")
        assert status == 400
    finally:
        server.send_signal(signal.SIGTERM)
        exit_code = server.wait(timeout=60)

    assert exit_code == 0, "gunicorn did not shut down gracefully"
    log_text = log_path.read_text()
    assert re.search(rf'"GET /api/v1/health HTTP/1\.1" 200 \d+ \d+ms ".*" rid={request_id}', log_text), log_text
    assert "rid=trace-1" in log_text
    assert "Using worker: gthread" in log_text
    assert log_text.count("Booting worker with pid") >= 2
