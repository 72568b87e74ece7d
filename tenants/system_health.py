"""The platform admin's deep health check: every dependency with status and latency.

Component status is one of:
- "up": answered in `latencyMs`;
- "down": configured but failing (`error` says why);
- "not_configured": the environment does not use it (REDIS_URL / LIVEKIT_URL unset);
- "eager": Celery runs tasks inline in the API process, there is no worker to ping.

The overall status is "unhealthy" when a component every request depends on is down
(the database, or Redis when configured: it is the cache, throttle store and broker),
"degraded" when only Celery workers or LiveKit are down (the API answers, but mail,
background work or calls do not), and "healthy" otherwise.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from calls import livekit_client
from morpheus import health as process_health
from morpheus.celery import app as celery_app

UP, DOWN, NOT_CONFIGURED, EAGER = "up", "down", "not_configured", "eager"
HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"
# Each network probe gives up after this long, so the report itself stays quick.
PROBE_TIMEOUT_SECONDS = 1.0


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _failure(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --- Database ---------------------------------------------------------------------


def check_database(db=None) -> dict:
    db = db or connection
    facts = {
        "vendor": db.vendor,
        "connMaxAge": db.settings_dict.get("CONN_MAX_AGE"),
        "connHealthChecks": bool(db.settings_dict.get("CONN_HEALTH_CHECKS")),
    }
    started = time.perf_counter()
    try:
        with db.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        latency = _elapsed_ms(started)
        facts.update(_database_facts(db))
    except Exception as exc:
        # A dead connection must not be reused by the next request of this thread.
        db.close_if_unusable_or_obsolete()
        return {"status": DOWN, "latencyMs": None, "error": _failure(exc), **facts}
    return {"status": UP, "latencyMs": latency, **facts}


def _database_facts(db) -> dict:
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute("SELECT sqlite_version()" if db.vendor == "sqlite" else "SELECT 1")
            version = cursor.fetchone()[0]
        return {"serverVersion": str(version)}
    with db.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW max_connections")
        max_connections = int(cursor.fetchone()[0])
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE state = 'active') FROM pg_stat_activity "
            "WHERE datname = current_database()"
        )
        connections, active = cursor.fetchone()
    facts = {
        "serverVersion": version,
        "maxConnections": max_connections,
        "connections": connections,
        "activeConnections": active,
    }
    # Django's psycopg pool (DATABASES OPTIONS {"pool": ...}) when it is configured.
    pool = getattr(db, "pool", None)
    facts["pool"] = _pool_stats(pool) if pool is not None else None
    return facts


def _pool_stats(pool) -> dict:
    stats = pool.get_stats()
    return {
        "size": stats.get("pool_size"),
        "available": stats.get("pool_available"),
        "min": stats.get("pool_min"),
        "max": stats.get("pool_max"),
        "waiting": stats.get("requests_waiting"),
    }


# --- Redis ------------------------------------------------------------------------


def check_redis() -> dict:
    url = settings.REDIS_URL
    if not url:
        return {"status": NOT_CONFIGURED, "latencyMs": None}
    client = redis.Redis.from_url(
        url, socket_connect_timeout=PROBE_TIMEOUT_SECONDS, socket_timeout=PROBE_TIMEOUT_SECONDS
    )
    try:
        started = time.perf_counter()
        client.ping()
        latency = _elapsed_ms(started)
        info = client.info()
    except redis.RedisError as exc:
        return {"status": DOWN, "latencyMs": None, "error": _failure(exc)}
    finally:
        client.close()
    return {
        "status": UP,
        "latencyMs": latency,
        "serverVersion": info.get("redis_version"),
        "connectedClients": info.get("connected_clients"),
        "usedMemory": info.get("used_memory_human"),
    }


# --- Celery -----------------------------------------------------------------------


def check_celery(app=None) -> dict:
    """Pings the workers through the app's broker; every live worker answers."""
    app = app or celery_app
    if app.conf.task_always_eager:
        return {"status": EAGER, "latencyMs": None, "workers": []}
    first_reply_ms = []

    def on_reply(reply):
        # ping() keeps listening for late workers until its timeout; the latency that
        # matters is how soon the first worker answered.
        if not first_reply_ms:
            first_reply_ms.append(_elapsed_ms(started))

    try:
        with app.connection_for_write() as conn:
            # One quick attempt: a dead broker is reported, not retried for seconds.
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=PROBE_TIMEOUT_SECONDS)
            started = time.perf_counter()
            replies = app.control.ping(timeout=PROBE_TIMEOUT_SECONDS, connection=conn, callback=on_reply)
    except Exception as exc:
        return {"status": DOWN, "latencyMs": None, "workers": [], "error": _failure(exc)}
    workers = sorted(name for reply in replies or [] for name in reply)
    if not workers:
        return {"status": DOWN, "latencyMs": None, "workers": [], "error": "No Celery worker answered the ping"}
    return {"status": UP, "latencyMs": first_reply_ms[0] if first_reply_ms else None, "workers": workers}


# --- LiveKit ----------------------------------------------------------------------


def check_livekit() -> dict:
    """One RoomService.ListRooms call through the LiveKit client module."""
    url = settings.LIVEKIT_URL
    if not url:
        return {"status": NOT_CONFIGURED, "latencyMs": None}
    host = urlsplit(url).netloc or url
    if not (settings.LIVEKIT_API_KEY and settings.LIVEKIT_API_SECRET):
        return {"status": DOWN, "latencyMs": None, "host": host, "error": "LIVEKIT_API_KEY/SECRET are not set"}
    started = time.perf_counter()
    try:
        rooms = livekit_client.list_rooms()
    except livekit_client.LiveKitUnavailable as exc:
        return {"status": DOWN, "latencyMs": None, "host": host, "error": f"LiveKit {exc.twirp_code}: {exc.reason}"}
    return {"status": UP, "latencyMs": _elapsed_ms(started), "host": host, "rooms": len(rooms)}


# --- Report -----------------------------------------------------------------------


def system_health_report() -> dict:
    # The network probes run side by side (the Celery ping always waits its full
    # timeout for late workers); the database is checked on this thread's connection.
    with ThreadPoolExecutor(max_workers=3) as pool:
        redis_future = pool.submit(check_redis)
        celery_future = pool.submit(check_celery)
        livekit_future = pool.submit(check_livekit)
        database = check_database()
        checks = {
            "database": database,
            "redis": redis_future.result(),
            "celery": celery_future.result(),
            "livekit": livekit_future.result(),
        }
    return {
        "status": overall_status(checks),
        "database": "connected" if database["status"] == UP else "disconnected",
        "timestamp": timezone.now(),
        "uptime": process_health.format_uptime(time.monotonic() - process_health.PROCESS_STARTED),
        "memory": process_health.memory_usage(),
        "checks": checks,
    }


def overall_status(checks: dict) -> str:
    if DOWN in (checks["database"]["status"], checks["redis"]["status"]):
        return UNHEALTHY
    if DOWN in (checks["celery"]["status"], checks["livekit"]["status"]):
        return DEGRADED
    return HEALTHY
