"""A real Celery worker process, for the tests that kill one mid-task (at-least-once)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """The test database, for a process that shares it (PostgreSQL only)."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(queue: str, **env: str) -> subprocess.Popen:
    """`celery worker` consuming `queue` with one prefork child, on the production settings
    and the test database plus `env`, in its own session so `stop` signals the whole group."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "morpheus.settings",
        "DEBUG": "false",
        "DATABASE_URL": database_url(),
        **env,
    }
    argv = [sys.executable, "-m", "celery", "-A", "morpheus", "worker", "-Q", queue, "--pool=prefork"]
    argv += ["--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"]
    return subprocess.Popen(  # noqa: S603  our own interpreter and arguments
        argv, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def stop(worker: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Signals the worker's process group (SIGKILL after 30 s) and reaps it."""
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
