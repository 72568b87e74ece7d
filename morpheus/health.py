"""Process and system facts for the health endpoints."""

import ctypes
import ctypes.util
import os
import platform
import sys
import time

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


def _malloc_heap() -> tuple[int, int] | None:
    """(heap obtained from the OS, heap in use) from glibc's mallinfo2, if available."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    try:
        libc = ctypes.CDLL(libc_name)
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return info.arena + info.hblkhd, info.uordblks + info.hblkhd


def memory_usage() -> dict:
    """RSS of this process, and its C heap (the Python object heap lives inside it)."""
    process = psutil.Process(os.getpid())
    rss = process.memory_info().rss
    heap = _malloc_heap()
    if heap is None:
        data = getattr(process.memory_info(), "data", rss)
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
