"""Stores a call's turns in order, off the conversation's critical path."""

from __future__ import annotations

import asyncio
import logging

from .persistence import aturn_append
from .turns import TurnRecord

logger = logging.getLogger(__name__)


class TranscriptWriter:
    """A queue drained by one task: the conversation never waits for the database, and a
    database briefly unavailable loses a turn (logged) rather than the call."""

    def __init__(self, call_id: int) -> None:
        self._call_id = call_id
        self._queue: asyncio.Queue[TurnRecord | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name=f"transcript-writer-{call_id}")

    def put(self, record: TurnRecord) -> None:
        self._queue.put_nowait(record)

    async def flush(self) -> None:
        await self._queue.join()

    async def aclose(self, timeout: float = 10.0) -> None:
        self._queue.put_nowait(None)
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            logger.error("transcript writes still pending after %ss; dropping them", timeout)
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            record = await self._queue.get()
            try:
                if record is None:
                    return
                await aturn_append(call_id=self._call_id, record=record)
            except Exception:
                # The database being briefly unavailable must not end the call.
                logger.exception("could not store a transcript turn", extra={"call_id": self._call_id})
            finally:
                self._queue.task_done()
