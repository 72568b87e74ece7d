"""Running a test's steps in a forked child: what gunicorn's preload_app and Celery's
prefork pool do to every per-process resource (the LiveKit loop, the outbox publisher)."""

import os
from collections.abc import Callable


def outcome_in_forked_child(steps: Callable[[], None]) -> str:
    """Runs `steps` in a forked child and answers "ok", or the repr of what it raised.

    The child leaves with os._exit, so nothing of the parent's (pytest, atexit hooks,
    open connections) runs a second time there."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            steps()
            os.write(write_end, b"ok")
        except BaseException as exc:
            os.write(write_end, repr(exc).encode()[:4000])
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        outcome = pipe.read().decode()
    os.waitpid(pid, 0)
    return outcome
