"""Process and system facts for the health endpoints."""

import ctypes
import ctypes.util
import functools
import os
import platform
import sys
import time
from collections.abc import Callable

import psutil
from django.db import connection
from django.utils import timezone

PROCESS_STARTED = time.monotonic()


def format_uptime(seconds: float) -> str:
    seconds = int(seconds)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{days}d {hours}h {minutes}m {seconds}s"


def format_megabytes(num_bytes: int) -> str:
    return f"{num_bytes / (1024 * 1024):.1f} MB"


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


@functools.cache
def _mallinfo2() -> Callable[[], _MallInfo2] | None:
    """glibc's mallinfo2, looked up once per process: find_library spawns `ldconfig -p`
    (a subprocess), far too slow for every /health probe. None off glibc or before 2.33."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    try:
        mallinfo2 = ctypes.CDLL(libc_name).mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _MallInfo2
    return mallinfo2


def _malloc_heap() -> tuple[int, int] | None:
    """(heap obtained from the OS, heap in use) from glibc's mallinfo2, if available."""
    mallinfo2 = _mallinfo2()
    if mallinfo2 is None:
        return None
    info = mallinfo2()
    return info.arena + info.hblkhd, info.uordblks + info.hblkhd


@functools.cache
def _process(pid: int) -> psutil.Process:
    """This process's psutil handle, made once per pid (a forked worker gets its own)."""
    return psutil.Process(pid)


# How long one process reuses its memory figures. glibc's mallinfo2 walks every free chunk
# of every arena: 0.2-0.45 ms in a gunicorn worker (the preloaded app's heap), as much as
# the probe's database round trip, for figures no reader needs fresher than this.
MEMORY_SAMPLE_SECONDS = 1.0
_memory_sample: tuple[int, float, dict] | None = None  # (pid, monotonic time taken, figures)


def memory_usage() -> dict:
    """This process's memory figures, taken at most MEMORY_SAMPLE_SECONDS ago (a forked
    child takes its own: the parent's are not its)."""
    global _memory_sample
    pid, now = os.getpid(), time.monotonic()
    sample = _memory_sample
    if sample is not None and sample[0] == pid and now - sample[1] < MEMORY_SAMPLE_SECONDS:
        return dict(sample[2])
    figures = memory_now()
    _memory_sample = (pid, now, figures)
    return dict(figures)


def memory_now() -> dict:
    """RSS of this process, and its C heap (the Python object heap lives inside it)."""
    memory = _process(os.getpid()).memory_info()
    rss = memory.rss
    heap = _malloc_heap()
    if heap is None:
        data = getattr(memory, "data", rss)
        heap = (data, data)
    heap_total, heap_used = heap
    return {
        "rss": format_megabytes(rss),
        "heapTotal": format_megabytes(heap_total),
        "heapUsed": format_megabytes(heap_used),
    }


def database_connected() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True
    except Exception:
        # A dead connection must not stay in the pool for the next request.
        connection.close_if_unusable_or_obsolete()
        return False


def health_report() -> dict:
    database_ok = database_connected()
    return {
        "status": "healthy" if database_ok else "unhealthy",
        "uptime": format_uptime(time.monotonic() - PROCESS_STARTED),
        "timestamp": timezone.now(),
        "database": "connected" if database_ok else "disconnected",
        "memory": memory_usage(),
        "system": {
            "platform": sys.platform,
            "pythonVersion": platform.python_version(),
            "pid": os.getpid(),
            "loadAvg": [round(load, 2) for load in os.getloadavg()],
        },
    }
