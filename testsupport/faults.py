"""Dependencies taken down for fault tests: real clients dialling addresses nothing serves."""

import contextlib
import copy
import socket

from django.db import connection, connections
from django.test import override_settings

from morpheus.celery import app as celery_app

DEAD_REDIS = "redis://127.0.0.1:1/0"


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def dead_database():
    """A real connection to a database that is not there (a closed port, or a missing
    SQLite file), for the code under test to use instead of `connection`."""
    settings_dict = copy.deepcopy(connection.settings_dict)
    if connection.vendor == "sqlite":
        settings_dict["NAME"] = "/nonexistent-dir/morpheus/db.sqlite3"
    else:
        settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
    dead = connections["default"].__class__(settings_dict, alias="dead")
    try:
        yield dead
    finally:
        dead.close()


@contextlib.contextmanager
def broker_down():
    """Real (non-eager) publishes to a broker address nothing listens on."""
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.broker_url
    conf.task_always_eager = False
    conf.broker_url = DEAD_REDIS
    celery_app._pool = celery_app.amqp._producer_pool = None  # the next publish dials the dead address
    try:
        with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
            yield
    finally:
        conf.task_always_eager, conf.broker_url = saved
        celery_app._pool = celery_app.amqp._producer_pool = None


@contextlib.contextmanager
def redis_down():
    """The cache (throttles, locks) is a Redis server that is not there."""
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    with override_settings(CACHES=caches):
        yield


@contextlib.contextmanager
def database_down():
    """PostgreSQL refuses connections from now on: the connection is closed and its next
    one dials a port nothing listens on (transactional tests on PostgreSQL only)."""
    assert connection.vendor == "postgresql", "database_down needs a PostgreSQL server"
    settings_dict = connection.settings_dict
    saved = dict(settings_dict)
    connection.close()
    settings_dict.update(HOST="127.0.0.1", PORT="1")
    try:
        yield
    finally:
        connection.close()
        settings_dict.clear()
        settings_dict.update(saved)
