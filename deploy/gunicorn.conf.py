"""Gunicorn settings for the API process (the image's default command).

    gunicorn --config deploy/gunicorn.conf.py morpheus.wsgi:application

Everything is read from the environment so one image serves every host size:

| variable | meaning | default |
|---|---|---|
| `PORT` | TCP port to listen on (all interfaces) | `8000` |
| `GUNICORN_WORKERS` | worker processes | `2 × CPUs + 1`, at most 8 |
| `GUNICORN_THREADS` | threads per worker (`gthread` when > 1) | `2` |
| `GUNICORN_TIMEOUT` | seconds a request may run before its worker is killed | `30` |
| `GUNICORN_GRACEFUL_TIMEOUT` | seconds in-flight requests get on shutdown/restart | `30` |
| `GUNICORN_KEEPALIVE` | seconds an idle keep-alive connection stays open | `75` |
| `GUNICORN_MAX_REQUESTS` | recycle a worker after this many requests (0 = never) | `1000` |
| `NUM_PROXIES` | reverse proxies in front (the same variable Django reads) | `0` |
| `FORWARDED_ALLOW_IPS` | explicit proxy addresses/CIDRs trusted for `X-Forwarded-*` | from `NUM_PROXIES` |
| `LOG_LEVEL` | gunicorn's own log level (Django reads it too) | `INFO` |

Every database connection is per thread and persistent (CONN_MAX_AGE), so one API
container holds up to `workers × (threads + 1)` PostgreSQL connections (each worker's
outbox publisher has one: morpheus/outbox.py): size
`max_connections` (or PgBouncer's pool) for the sum over all replicas.
"""

import os


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


def available_cpus() -> int:
    """CPUs this container may actually use: the cgroup quota, else the CPU affinity mask.

    os.cpu_count() reports the host's CPUs, which over-sizes the pool in a
    container limited with `--cpus` / `deploy.resources.limits.cpus`.
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        with open("/sys/fs/cgroup/cpu.max") as handle:  # cgroup v2: "<quota> <period>" or "max <period>"
            quota, period = handle.read().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


# Past this, more processes only add PostgreSQL connections and memory; add replicas instead.
MAX_DEFAULT_WORKERS = 8


def default_workers() -> int:
    return min(2 * available_cpus() + 1, MAX_DEFAULT_WORKERS)


def trusted_proxy_addresses() -> str:
    """Who may set X-Forwarded-Proto (and so make a request "https").

    Mirrors NUM_PROXIES, which makes Django trust that many X-Forwarded-For hops:
    with no proxy in front nobody is trusted; behind proxies the API port must be
    reachable only from them (as in docker-compose, where only the `proxy` service
    publishes ports), so any peer is one. FORWARDED_ALLOW_IPS narrows it to the
    proxies' addresses or CIDRs when the network is shared.
    """
    explicit = os.environ.get("FORWARDED_ALLOW_IPS", "").strip()
    if explicit:
        return explicit
    return "*" if _env_int("NUM_PROXIES", 0) > 0 else ""


bind = [f"0.0.0.0:{_env_int('PORT', 8000)}"]
workers = _env_int("GUNICORN_WORKERS", default_workers())
threads = _env_int("GUNICORN_THREADS", 2)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Longer than the load balancer's idle timeout (Caddy here: 60 s, AWS ALB: 60 s), so the
# balancer, not gunicorn, closes idle connections and never reuses a half-closed one (502).
keepalive = _env_int("GUNICORN_KEEPALIVE", 75)
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 1000)
# Up to 10% more per worker, so the workers do not all recycle in the same second.
max_requests_jitter = max_requests // 10
# The app is imported once, in the arbiter, and each worker is forked from it: a recycled
# worker serves at once instead of re-importing Django and every app (~1.4 s of CPU on the
# request path's machine), and the workers share that memory copy-on-write. What must not
# be shared across a fork is closed in pre_fork below or rebuilt by its owner (the LiveKit
# loop: calls/livekit_loop.py; redis-py pools check their pid). A code change needs a
# restart (not a HUP), which is how containers deploy anyway.
preload_app = True


def pre_fork(server, worker):
    """In the arbiter, before each fork: close the database connections importing the app
    may have opened, so no two processes ever talk over one PostgreSQL socket."""
    from django.db import connections

    connections.close_all()


forwarded_allow_ips = trusted_proxy_addresses()

# Request limits gunicorn enforces before Django sees the request: a request line longer
# than this is 414, more header fields or a longer header is 431. Gunicorn writes those
# answers itself (text/html); the shipped Caddyfile turns them into the JSON envelope
# (docs/deploy.md, "Request limits"). Bodies are limited by Django (413, the envelope).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# Logs go to stdout/stderr for the container runtime. The access line carries the
# X-Request-ID the API returns, so a user's report can be matched to the Django log.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
access_log_format = '%(h)s "%({x-forwarded-for}i)s" %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s" rid=%({x-request-id}o)s'

# The heartbeat file on tmpfs: on overlayfs a slow disk can make the arbiter kill
# healthy workers. Gunicorn creates (and unlinks) its own private file there.
SHARED_MEMORY_DIR = "/dev/shm"  # noqa: S108
worker_tmp_dir = SHARED_MEMORY_DIR if os.path.isdir(SHARED_MEMORY_DIR) else None
# The orchestrator scales replicas; no per-container control socket to collide on.
control_socket_disable = True
