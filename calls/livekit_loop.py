"""The process's one event loop and HTTP session for LiveKit's server API.

`calls/livekit_client.py` is sync for Django and Celery and async for the voice worker.
A fresh loop, aiohttp session and TCP connection per call cost more than the call itself
(an inbound call makes three), so each process keeps one loop running in a daemon thread
with one `aiohttp.ClientSession` on it; every LiveKit request, from any thread or any
other loop, runs there and reuses the session's pooled keep-alive connections.

Fork-safe: a forked child (gunicorn `preload_app`, Celery's prefork pool) does not
inherit the parent's loop thread, so the child builds its own on first use
(`os.register_at_fork`, and a pid check for a fork that bypasses it).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import aiohttp
from livekit import api

T = TypeVar("T")


class _Runner:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="livekit-client", daemon=True)
        self.thread.start()
        self._session: aiohttp.ClientSession | None = None
        self._clients: dict[tuple[str, str, str], api.LiveKitAPI] = {}

    def client(self, url: str, api_key: str, api_secret: str) -> api.LiveKitAPI:
        """The LiveKitAPI for these settings on the shared session (call on self.loop)."""
        if self._session is None or self._session.closed:
            # No session-wide timeout: each operation is bounded by asyncio.timeout.
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
            self._clients = {}
        key = (url, api_key, api_secret)
        client = self._clients.get(key)
        if client is None:
            client = api.LiveKitAPI(url, api_key, api_secret, session=self._session, failover=False)
            # Settings changed (a test, a rotated secret): only the current client is kept.
            self._clients = {key: client}
        return client

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def on_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False


_runner: _Runner | None = None
_lock = threading.Lock()


def runner() -> _Runner:
    """This process's runner, started on first use."""
    global _runner
    current = _runner
    if current is not None and current.pid == os.getpid():
        return current
    with _lock:
        if _runner is None or _runner.pid != os.getpid():
            if _runner is not None:
                _inherited.append(_runner)  # forked without the at-fork hook (see _inherited)
            _runner = _Runner()
        return _runner


# The parent's runners, kept alive in a child. Their epoll instance and sockets are shared
# with the parent: collecting them here would close the session's transports, and each
# close unregisters its socket from the *shared* epoll, so the parent's loop would never
# hear from those connections again (its requests would time out).
_inherited: list[_Runner] = []


def _forget_after_fork() -> None:
    # The parent's loop thread does not exist here, and another thread may have held the lock.
    global _runner, _lock
    if _runner is not None:
        _inherited.append(_runner)
    _runner = None
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def run_sync(coroutine: Coroutine[Any, Any, T], *, timeout: float) -> T:
    """Runs `coroutine` on the process's loop and waits at most `timeout` seconds for it.

    Works from any thread, including one that runs its own event loop (it blocks that
    loop, as any sync call does). Raises TimeoutError after cancelling the coroutine.
    """
    current = runner()
    if current.on_loop():
        coroutine.close()
        raise RuntimeError("a sync LiveKit call from the LiveKit loop itself would deadlock")
    future = asyncio.run_coroutine_threadsafe(coroutine, current.loop)
    try:
        return future.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise TimeoutError(f"LiveKit request still running after {timeout} s") from None


async def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Awaits `coroutine` on the process's loop from any loop (directly when already on it)."""
    current = runner()
    if current.on_loop():
        return await coroutine
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, current.loop))


@atexit.register
def _close_at_exit() -> None:
    current = _runner
    if current is None or current.pid != os.getpid() or not current.thread.is_alive():
        return
    try:
        asyncio.run_coroutine_threadsafe(current.close(), current.loop).result(timeout=2)
    except Exception:  # exiting anyway: an unclosed socket is the OS's to reclaim
        return
    current.loop.call_soon_threadsafe(current.loop.stop)
