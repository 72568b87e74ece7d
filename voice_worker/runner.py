"""One call in the voice worker: from the dispatch to the closed call row.

`run_job` reads the dispatch, loads the call with its agent and providers, builds the
pipeline and starts a `CallRunner`. Bad dispatches (malformed metadata, unknown or ended
call, another customer's call, a room that is not the call's) are refused without touching
any call. A call we cannot run (its agent was deleted, its customer suspended, a provider
without credentials) is closed as failed with that reason. Once running, the runner keeps
the call row in step with the conversation: active when the agent is in the room, every
turn appended as it happens, and on close the end reason, the room deleted and post-call
finalisation enqueued. Whatever happens, the call ends closed; if the whole process dies,
the calls app's stale-call sweep closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import aiohttp
from asgiref.sync import sync_to_async
from django.db import close_old_connections, connection
from django.utils import timezone
from livekit import api, rtc
from livekit.agents import (
    NOT_GIVEN,
    AgentSession,
    APIConnectOptions,
    CloseEvent,
    CloseReason,
    ErrorEvent,
    JobContext,
    UserStateChangedEvent,
    room_io,
)
from livekit.agents.voice.agent_session import SessionConnectOptions

from calls.models import EndReason, TurnRole

from . import providers
from .config import AgentConfig, CallInfo, TransferDestination, call_info
from .conversation import MorpheusAgent, TransferFailed, transfer_address
from .persistence import acall_close, acall_mark_active, aturn_append
from .selectors import acall_for_conversation
from .transcript import TurnCollector
from .turns import TurnRecord

logger = logging.getLogger(__name__)

# After an end is requested, how long the goodbye may take before the session is closed
# without waiting for it.
END_GRACE_SECONDS = 20.0
# Consecutive language-model failures the agent apologises for before giving up on the call.
MAX_LLM_FAILURES = 2
# How long a job shutting down waits for the call's bookkeeping to finish.
SHUTDOWN_WAIT_SECONDS = 15.0
CONN_OPTIONS = SessionConnectOptions(
    stt_conn_options=APIConnectOptions(max_retry=2, retry_interval=0.5, timeout=10.0),
    llm_conn_options=APIConnectOptions(max_retry=1, retry_interval=0.5, timeout=15.0),
    tts_conn_options=APIConnectOptions(max_retry=2, retry_interval=0.5, timeout=10.0),
)

BuildModels = Callable[[AgentConfig], providers.PipelineModels]


class InvalidDispatch(Exception):
    pass


@dataclass(frozen=True)
class Dispatch:
    call_id: int
    customer_id: str | None = None


def parse_dispatch(metadata: str) -> Dispatch:
    """The dispatch metadata the calls app writes: JSON with `callId` (and `customerId`)."""
    try:
        data = json.loads(metadata or "")
    except ValueError:
        raise InvalidDispatch("the dispatch metadata is not JSON")
    if not isinstance(data, dict):
        raise InvalidDispatch("the dispatch metadata is not a JSON object")
    call_id = data.get("callId")
    if isinstance(call_id, str) and call_id.isdigit():
        call_id = int(call_id)
    if isinstance(call_id, bool) or not isinstance(call_id, int) or call_id <= 0:
        raise InvalidDispatch("the dispatch metadata has no valid callId")
    customer_id = data.get("customerId")
    if customer_id is not None and not isinstance(customer_id, str):
        raise InvalidDispatch("the dispatch metadata has an invalid customerId")
    return Dispatch(call_id=call_id, customer_id=customer_id)


def dispatch_problem(call, dispatch: Dispatch, *, room_name: str) -> str | None:
    """Why this dispatch must not touch `call`, or None when it is the call's own dispatch."""
    if call is None:
        return f"call {dispatch.call_id} does not exist"
    if dispatch.customer_id is not None and dispatch.customer_id != str(call.customer_id):
        return f"call {call.pk} belongs to another customer"
    if room_name != call.room_name:
        return f"call {call.pk} does not take place in room {room_name!r}"
    if not call.is_open:
        return f"call {call.pk} has already ended ({call.status})"
    return None


async def run_job(
    ctx: JobContext,
    *,
    build_models: BuildModels | None = None,
    text_mode: bool = False,
    caller_identity: str | None = None,
) -> CallRunner | None:
    """The job: returns the running call, or None when the dispatch was refused or the
    call could not start (and was closed). `build_models`, `text_mode` and
    `caller_identity` let tests run the real thing without a room or real providers."""
    await sync_to_async(release_stale_connections)()
    try:
        dispatch = parse_dispatch(ctx.job.metadata)
    except InvalidDispatch as exc:
        logger.warning("refusing dispatch: %s", exc, extra={"job_id": ctx.job.id})
        ctx.shutdown(reason=str(exc))
        return None

    try:
        call = await acall_for_conversation(dispatch.call_id)
    except Exception:
        # The database is unreachable: nothing to record; the stale-call sweep closes the call.
        logger.exception("could not load call %s", dispatch.call_id)
        ctx.shutdown(reason="could not load the call")
        return None
    if problem := dispatch_problem(call, dispatch, room_name=ctx.job.room.name):
        logger.warning("refusing dispatch: %s", problem, extra={"job_id": ctx.job.id})
        ctx.shutdown(reason=problem)
        return None

    info = call_info(call)
    if call.agent is None:
        await fail_call(ctx, info, "The call's agent was deleted.")
        return None
    if not call.customer.is_active:
        await fail_call(ctx, info, "The customer's account is suspended.")
        return None
    config = AgentConfig.from_agent(call.agent)
    try:
        if build_models is not None:
            models = build_models(config)
        else:
            models = providers.build_pipeline(config, vad=ctx.proc.userdata.get("vad"))
    except providers.ProviderNotConfigured as exc:
        await fail_call(ctx, info, str(exc))
        return None
    except Exception as exc:  # a plugin refusing its options, ...
        logger.exception("could not set up the models of call %s", info.call_id)
        await fail_call(ctx, info, f"The agent's models could not be set up: {exc}")
        return None

    runner = CallRunner(
        ctx=ctx,
        call=info,
        config=config,
        models=models,
        answered_at=call.answered_at,
        text_mode=text_mode,
        caller_identity=caller_identity,
    )
    try:
        await runner.start()
    except Exception as exc:
        logger.exception("the agent could not start", extra={"call_id": info.call_id})
        await runner.abort(f"The agent could not start: {exc}")
        return None
    return runner


def release_stale_connections() -> None:
    """A job process outlives many calls: drop database connections that went stale in
    between, as Django does around each request. Never inside a transaction."""
    if not connection.in_atomic_block:
        close_old_connections()


async def fail_call(ctx: JobContext, call: CallInfo, message: str) -> None:
    logger.warning("failing call %s: %s", call.call_id, message)
    await acall_close(call_id=call.call_id, reason=EndReason.ERROR, error_message=message)
    await delete_room(ctx, call.room_name)
    ctx.shutdown(reason=message)


async def delete_room(ctx: JobContext, room_name: str) -> None:
    """Disconnects everyone still in the room (the caller's SIP leg included)."""
    try:
        await ctx.api.room.delete_room(api.DeleteRoomRequest(room=room_name))
    except api.TwirpError as exc:
        if exc.code != api.TwirpErrorCode.NOT_FOUND:
            logger.warning("could not delete room %s: %s", room_name, exc)
    except Exception as exc:  # cleanup: LiveKit down or not configured must not block closing
        logger.warning("could not delete room %s: %s", room_name, exc)


class TranscriptWriter:
    """Writes turns in order, off the conversation's critical path."""

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


class CallRunner:
    """The running call: the AgentSession, its timers, and the call row's bookkeeping.
    It is also the conversation's `CallControl` in the voice worker."""

    def __init__(
        self,
        *,
        ctx: JobContext,
        call: CallInfo,
        config: AgentConfig,
        models: providers.PipelineModels,
        answered_at: datetime | None = None,
        text_mode: bool = False,
        caller_identity: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.call = call
        self.config = config
        self.models = models
        self.text_mode = text_mode
        self._answered_at = answered_at
        self._caller_identity = caller_identity
        self._end_reason: str | None = None
        self._error_message = ""
        self._llm_failures = 0
        self._closed = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._timers: list[asyncio.TimerHandle] = []
        self._finishing = False
        self.session: AgentSession | None = None
        self.writer: TranscriptWriter | None = None

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        config = self.config
        turn_handling: dict = {
            "turn_detection": "vad" if self.models.vad is not None and not self.text_mode else "manual",
            "interruption": {"enabled": config.allow_interruptions, "min_duration": config.interruption_min_duration},
        }
        if self.models.vad is not None:
            turn_handling["interruption"]["mode"] = "vad"
        session = AgentSession(
            stt=self.models.stt or NOT_GIVEN,
            llm=self.models.llm,
            tts=self.models.tts or NOT_GIVEN,
            vad=self.models.vad,
            turn_handling=turn_handling,
            user_away_timeout=float(config.silence_timeout_seconds) if config.silence_timeout_seconds else None,
            max_tool_steps=5,
            conn_options=CONN_OPTIONS,
        )
        self.session = session
        self.writer = TranscriptWriter(self.call.call_id)
        TurnCollector(session, self._on_turn, text_mode=self.text_mode)
        session.on("close", self._on_close)
        session.on("error", self._on_error)
        session.on("user_state_changed", self._on_user_state)
        self.ctx.add_shutdown_callback(self._on_job_shutdown)

        agent = MorpheusAgent(config, call=self.call, control=self)
        if self.text_mode:
            await session.start(agent, record=False)
        else:
            # Recording and LiveKit Cloud observability follow the server's setting for the job.
            await session.start(
                agent,
                room=self.ctx.room,
                room_options=room_io.RoomOptions(close_on_disconnect=True, delete_room_on_close=False),
            )
        await acall_mark_active(call_id=self.call.call_id)
        answered_at = self._answered_at or timezone.now()
        elapsed = (timezone.now() - answered_at).total_seconds()
        remaining = max(0.0, config.max_duration_seconds - elapsed)
        self._timers.append(asyncio.get_running_loop().call_later(remaining, self._on_max_duration))
        logger.info("call %s: agent in the room", self.call.call_id)

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def flush(self) -> None:
        """Waits until every turn so far is stored."""
        if self.writer is not None:
            await self.writer.flush()

    async def abort(self, message: str) -> None:
        """The session never started: close the call as failed and release everything."""
        self._end_reason, self._error_message = EndReason.ERROR, message
        if self.session is not None:
            await self.session.aclose()
        if not self._finishing:
            await self._finish(None)

    # --- CallControl -----------------------------------------------------------------

    @property
    def ending(self) -> bool:
        return self._end_reason is not None

    def end_call(self, reason: str) -> None:
        self._end(reason)

    async def transfer(self, destination: TransferDestination) -> None:
        identity = self._caller_sip_identity()
        request = api.TransferSIPParticipantRequest(
            room_name=self.call.room_name,
            participant_identity=identity,
            transfer_to=transfer_address(destination),
            play_dialtone=False,
        )
        try:
            response = await self.ctx.api.sip.transfer_sip_participant(request)
        except api.TwirpError as exc:
            raise TransferFailed(f"{exc.message or exc.code}.")
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise TransferFailed(f"the telephony service could not be reached ({type(exc).__name__}).")
        if response.status == api.SIPTransferStatus.STS_TRANSFER_FAILED:
            raise TransferFailed(f"{response.reason or 'the destination did not accept the call'}.")
        logger.info("call %s transferred to %s", self.call.call_id, destination.name)

    # --- internals -------------------------------------------------------------------

    def _end(self, reason: str, *, message: str = "", error: str = "", interrupt: bool = False) -> None:
        if self._end_reason is not None or self.session is None:
            return
        self._end_reason, self._error_message = reason, error
        session = self.session
        if interrupt and session.current_speech is not None:
            with contextlib.suppress(RuntimeError):
                session.interrupt(force=True)
        if message:
            session.say(message, allow_interruptions=False)
        # drain: whatever is queued (the goodbye) is said before the session closes.
        session.shutdown(drain=True)
        self._timers.append(asyncio.get_running_loop().call_later(END_GRACE_SECONDS, self._force_close))

    def _force_close(self) -> None:
        if self.session is not None and not self._finishing:
            logger.warning("call %s: the goodbye took too long, closing", self.call.call_id)
            self._spawn(self.session.aclose())

    def _on_max_duration(self) -> None:
        logger.info("call %s reached its maximum duration", self.call.call_id)
        self._end(EndReason.MAX_DURATION, message=self.config.max_duration_message, interrupt=True)

    def _on_user_state(self, event: UserStateChangedEvent) -> None:
        if event.new_state == "away":
            logger.info("call %s: the caller has been silent too long", self.call.call_id)
            self._end(EndReason.SILENCE, message=self.config.silence_message)

    def _on_turn(self, record: TurnRecord) -> None:
        if record.role == TurnRole.ASSISTANT and record.llm_ttft_ms is not None:
            self._llm_failures = 0
        self.writer.put(record)

    def _on_error(self, event: ErrorEvent) -> None:
        error = event.error
        if getattr(error, "recoverable", False) or self.ending:
            return
        kind = getattr(error, "type", "error")
        detail = str(getattr(error, "error", error))
        self.writer.put(TurnRecord(role=TurnRole.SYSTEM, content=f"{kind}: {detail}"[:2000]))
        if kind != "llm_error":
            return  # STT/TTS: the session closes by itself after repeated failures
        self._llm_failures += 1
        if self._llm_failures >= MAX_LLM_FAILURES:
            self._end(
                EndReason.ERROR,
                message=self.config.error_message,
                error=f"The language model failed {self._llm_failures} times in a row: {detail}",
            )
        else:
            self.session.say(self.config.retry_message)

    def _on_close(self, event: CloseEvent) -> None:
        self._spawn(self._finish(event))

    async def _finish(self, event: CloseEvent | None) -> None:
        if self._finishing:
            return
        self._finishing = True
        for timer in self._timers:
            timer.cancel()
        reason, error = self._end_reason, self._error_message
        if reason is None:
            reason, error = end_reason_for(event)
        try:
            if self.writer is not None:
                await self.writer.aclose()
            await acall_close(call_id=self.call.call_id, reason=reason, error_message=error)
        except Exception:
            logger.exception("could not close call %s", self.call.call_id)
        await delete_room(self.ctx, self.call.room_name)
        try:
            await self.models.aclose()
        except Exception:
            logger.exception("could not close the models of call %s", self.call.call_id)
        await sync_to_async(release_stale_connections)()
        self._closed.set()
        logger.info("call %s ended: %s", self.call.call_id, reason)
        self.ctx.shutdown(reason=str(reason))

    async def _on_job_shutdown(self, reason: str) -> None:
        """The job is going away (room deleted, worker stopping): let the bookkeeping finish."""
        if self.session is not None and not self._finishing:
            await self.session.aclose()
        try:
            await asyncio.wait_for(self._closed.wait(), SHUTDOWN_WAIT_SECONDS)
        except TimeoutError:
            logger.error("call %s: bookkeeping did not finish before the job shut down", self.call.call_id)

    def _caller_sip_identity(self) -> str:
        if self.text_mode:
            if self._caller_identity:
                return self._caller_identity
            raise TransferFailed("this call has no phone caller to transfer.")
        participant = self.session.room_io.linked_participant if self.session is not None else None
        if participant is None or participant.kind != rtc.ParticipantKind.PARTICIPANT_KIND_SIP:
            raise TransferFailed("only phone calls can be transferred.")
        return participant.identity

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def end_reason_for(event: CloseEvent | None) -> tuple[str, str]:
    """The end reason of a session that closed without us asking."""
    if event is None:
        return EndReason.ERROR, "The session ended unexpectedly."
    if event.reason == CloseReason.PARTICIPANT_DISCONNECTED:
        return EndReason.CALLER_HUNG_UP, ""
    if event.reason == CloseReason.ERROR:
        error = event.error
        detail = f"{error.type}: {getattr(error, 'error', error)}" if error is not None else "unknown error"
        return EndReason.ERROR, f"The voice pipeline failed: {detail}"
    if event.reason == CloseReason.JOB_SHUTDOWN:
        return EndReason.ERROR, "The voice worker shut down during the call."
    return EndReason.AGENT_ENDED, ""
