"""The shared instrument every benchmark script uses (`make bench` skips this file).

A script compares variants side by side and prints the figures, then the ratios:

    from harness import compare, print_ratio, setup_django, test_database
    setup_django()
    with test_database():
        ... build data ...
        stats = compare({"api": call_api, "raw SQL": call_sql}, n=200, warmup=20, baseline="raw SQL")
        print_ratio("api p50 / raw SQL p50", stats["api"].p50 / stats["raw SQL"].p50, 2)

Why this shape: variants measured in blocks drift with whatever else the machine does
during each block (six processes share two cores here), so `compare` warms every variant
up and then interleaves them round-robin; means hide the tail, so it reports p50 and p95.

`BENCH_QUICK=1` (see `size`) shrinks the data sets for a smoke run of `make bench`.
"""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0", "false")


def setup_django(settings_module: str = "morpheus.test_settings") -> None:
    """Import path, settings and `django.setup()` for a script run as `python benchmarks/x.py`.

    The test settings by default: fast password hasher, eager Celery; a script that needs
    production behaviour (bcrypt, a real broker) passes its own module.
    """
    # First on the path: the script's own directory holds analytics.py, which would shadow the app.
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-use-0123456789")
    import warnings

    import django

    # WhiteNoise warns once per process that collectstatic has not run; benchmarks serve no files.
    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()


def size(full: int, quick: int) -> int:
    """A data-set size: `full` normally, `quick` under BENCH_QUICK=1."""
    return quick if QUICK else full


@contextmanager
def test_database() -> Iterator[str]:
    """A throw-away database next to DATABASE_URL's (`test_<name>_bench_<pid>`), dropped after.

    Yields its name, so a server in another process can be pointed at it (`database_url`).
    """
    import logging

    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    logging.disable(logging.WARNING)  # request and task log lines would drown the figures
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    # Its own name: a test run (test_<name>) or another benchmark may be using the usual one.
    connection.settings_dict["TEST"]["NAME"] = f"test_{old_name}_bench_{os.getpid()}"
    test_name = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        yield test_name
    finally:
        from morpheus import outbox

        # The outbox's background publisher (a real broker) holds a connection to the database.
        outbox.stop_publisher()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


def database_url(name: str) -> str:
    """DATABASE_URL with its database replaced by `name` (for a server in another process)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


@dataclass
class Stats:
    name: str
    samples_ms: list[float] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.samples_ms)

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        return percentile(self.samples_ms, 95)


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: a reported p95 is a measured sample)."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def compare(variants: dict[str, Callable[[], object]], *, n: int, warmup: int, baseline: str) -> dict[str, Stats]:
    """Time each variant `n` times, interleaved round-robin after `warmup` untimed calls each.

    Prints n, p50 and p95 per variant and then, last, each variant's p50 and p95 as a ratio
    of the baseline's. Returns the Stats by name.
    """
    if baseline not in variants:
        raise ValueError(f"baseline {baseline!r} is not one of {list(variants)}")
    for action in variants.values():
        for _ in range(warmup):
            action()
    stats = {name: Stats(name) for name in variants}
    for _ in range(n):
        for name, action in variants.items():
            started = time.perf_counter()
            action()
            stats[name].samples_ms.append((time.perf_counter() - started) * 1000)
    print_stats(stats.values())
    print_ratios(stats, baseline)
    return stats


def print_stats(stats: Iterable[Stats]) -> None:
    rows = list(stats)
    width = max(len(row.name) for row in rows)
    for row in rows:
        print(f"  {row.name:<{width}}  n={row.n:<5} p50={row.p50:9.3f} ms  p95={row.p95:9.3f} ms")


def print_ratios(stats: dict[str, Stats], baseline: str) -> None:
    base = stats[baseline]
    width = max(len(name) for name in stats)
    for name, row in stats.items():
        if name == baseline:
            continue
        print(f"  ratio {name:<{width}} / {baseline}:  p50 {row.p50 / base.p50:6.2f}x  p95 {row.p95 / base.p95:6.2f}x")


def print_ratio(label: str, value: float, target: float, *, higher_is_better: bool = False) -> bool:
    """One target line: `PASS`/`MISS`, the measured value and the target (≤ by default)."""
    met = value >= target if higher_is_better else value <= target
    sign = ">=" if higher_is_better else "<="
    print(f"{'PASS' if met else 'MISS'}  {label}: {value:.2f} (target {sign} {target})")
    return met


def heading(text: str) -> None:
    print(f"\n== {text}", flush=True)


def insert_series(table: str, count: int, columns: dict[str, str], *, start: int = 1) -> None:
    """INSERT `count` rows in one statement: `INSERT INTO table (cols) SELECT exprs FROM generate_series`.

    Each column's expression may use `i` (start .. start+count-1), e.g.
    `{"email": "'user' || i || '@bench.example'", "created_at": "now() - i * interval '1 minute'"}`.
    PostgreSQL only; a million narrow rows take seconds. Tables and expressions come from the
    script, never from input.
    """
    from django.db import connection

    names = ", ".join(columns)
    exprs = ", ".join(columns.values())
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {exprs} "  # noqa: S608 - script-defined identifiers
            f"FROM generate_series(%s::bigint, %s::bigint) AS s(i)",
            [start, start + count - 1],
        )
        cursor.execute(f"ANALYZE {table}")


def copy_rows(table: str, columns: Sequence[str], rows: Iterator[Sequence[object]]) -> None:
    """COPY rows into a table (PostgreSQL), for data that generate_series cannot express."""
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(f"ANALYZE {table}")


class Server:
    """A gunicorn serving the app in another process, and a keep-alive client for it."""

    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port
        self._local = threading.local()

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        return self.request("GET", path, headers=headers)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """One request on this thread's persistent connection (reopened if the server closed it)."""
        for attempt in (1, 2):
            connection = getattr(self._local, "connection", None)
            if connection is None:
                connection = self._local.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                connection.request(method, path, body=body, headers=headers or {})
                response = connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def worker_cpu_seconds(self) -> float:
        """User + system CPU the workers have used so far (the arbiter idles; it is left out)."""
        import psutil

        total = 0.0
        for child in psutil.Process(self.process.pid).children():
            try:
                times = child.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total


@contextmanager
def gunicorn(*, env: dict[str, str], workers: int = 1, threads: int = 1, config: str | None = None) -> Iterator[Server]:
    """Serve `morpheus.wsgi:application` with gunicorn on a free port until the block ends.

    `env` is added to this process's environment (DJANGO_SETTINGS_MODULE, DATABASE_URL=
    `database_url(test_database_name)`, ...). With `config` the given gunicorn config file is
    used (its bind is replaced by the free port); access logs are off either way.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "gunicorn"]
    if config:
        command += ["--config", config]
    command += [
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--threads", str(threads),
        "--access-logfile", "/dev/null",
        "--log-level", "warning",
        "morpheus.wsgi:application",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})  # noqa: S603 - our own command line
    server = Server(process, port)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start listening within 60 s") from None
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _closed_loop(action: Callable[[], object], concurrency: int, *, until: float) -> int:
    """Run `action` back to back on `concurrency` threads until `until`; the number of calls."""
    done = [0] * concurrency

    def loop(slot: int) -> None:
        while time.perf_counter() < until:
            action()
            done[slot] += 1

    threads = [threading.Thread(target=loop, args=(slot,)) for slot in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done)


def throughput(
    variants: dict[str, Callable[[], object]],
    *,
    seconds: float,
    concurrency: int,
    slices: int = 10,
    cpu: dict[str, Callable[[], float]] | None = None,
) -> dict[str, tuple[float, float | None]]:
    """Requests per second of each variant under `concurrency` closed-loop client threads.

    The `seconds` per variant are cut into `slices` slices run round-robin (interleaved).
    `cpu[name]()` (e.g. `server.worker_cpu_seconds`), when given, reads the server's CPU
    clock around each slice, for the CPU milliseconds per request. Prints and returns
    {name: (req/s, cpu ms per request or None)}.
    """
    counts = dict.fromkeys(variants, 0)
    elapsed = dict.fromkeys(variants, 0.0)
    cpu_used = dict.fromkeys(variants, 0.0)
    for _ in range(slices):
        for name, action in variants.items():
            cpu_before = cpu[name]() if cpu else 0.0
            started = time.perf_counter()
            counts[name] += _closed_loop(action, concurrency, until=started + seconds / slices)
            elapsed[name] += time.perf_counter() - started
            cpu_used[name] += (cpu[name]() if cpu else 0.0) - cpu_before
    results: dict[str, tuple[float, float | None]] = {}
    width = max(len(name) for name in variants)
    for name in variants:
        rate = counts[name] / elapsed[name]
        cpu_ms = cpu_used[name] * 1000 / counts[name] if cpu and counts[name] else None
        results[name] = (rate, cpu_ms)
        cpu_text = f"  server CPU {cpu_ms:7.3f} ms/request" if cpu_ms is not None else ""
        print(f"  {name:<{width}}  n={counts[name]:<6} {rate:8.1f} req/s{cpu_text}")
    return results
