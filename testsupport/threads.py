"""Races on a real database: actions started together in threads."""

import threading
from collections.abc import Callable, Sequence

from django.db import connections


def run_at_once(actions: Sequence[Callable[[], object]]) -> None:
    """Runs each action in its own thread, all released at once by a barrier, and fails with
    what any of them raised once every thread has finished.

    The race tests (ending a call twice, rollups, call counters, campaign ticks, capacity
    leases) need the same three things: the writers really overlapping, each thread's
    database connections closed (a test database cannot be dropped while one is open), and
    an exception in a thread failing the test instead of being printed and lost."""
    barrier = threading.Barrier(len(actions))
    errors: list[BaseException] = []

    def run(action: Callable[[], object]) -> None:
        try:
            barrier.wait()
            action()
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
