"""The running call: the AgentSession, its timers, and the call row's bookkeeping.

Once started, the runner keeps the call row in step with the conversation: active when
the agent is in the room, every turn appended as it happens, and on close the end reason,
the room deleted and post-call finalisation enqueued. Whatever happens, the call ends
closed; if the whole process dies, the calls app's stale-call sweep closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from asgiref.sync import sync_to_async
from django.utils import timezone
from livekit import api, rtc
from livekit.agents import AgentSession, CloseEvent, ErrorEvent, JobContext, UserStateChangedEvent, room_io
from livekit.agents.voice.io import AudioInput, AudioOutput

from calls import livekit_client
from calls.models import EndReason, TurnRole

from . import outbound, providers
from .bridge import BridgeEnd, BridgeMedia
from .closing import delete_room, end_reason_for
from .config import AgentConfig, CallInfo, TransferDestination
from .conversation import MorpheusAgent, TransferFailed, transfer_address
from .persistence import (
    acall_end_if_open,
    acall_mark_active,
    acall_record_transfer,
    acall_record_transfer_end,
    aturn_append,
    release_stale_connections,
)
from .selectors import atransfer_origin
from .session_options import session_kwargs
from .transcript import TurnCollector
from .transcript_writer import TranscriptWriter
from .turns import TurnRecord

if TYPE_CHECKING:
    from .warm_transfer import MorpheusWarmTransfer

logger = logging.getLogger(__name__)

# After an end is requested, how long the goodbye may take before the session is closed
# without waiting for it.
END_GRACE_SECONDS = 20.0
# Consecutive language-model failures the agent apologises for before giving up on the call.
MAX_LLM_FAILURES = 2
# How long a job shutting down waits for the call's bookkeeping to finish.
SHUTDOWN_WAIT_SECONDS = 15.0
# How long the agent waits in the room for the caller before giving up on the call.
CALLER_JOIN_TIMEOUT_SECONDS = 60.0


class CallAudio(Protocol):
    """Audio without a LiveKit room (tests, the benchmark): the caller's audio in, the
    agent's out, and when the caller joins. It may also have `background`, where the
    thinking sound is played (a room would carry it as a second track)."""

    input: AudioInput
    output: AudioOutput

    async def wait_for_caller(self) -> None: ...


class CallRunner:
    """It is also the conversation's `CallControl` in the voice worker."""

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
        audio: CallAudio | None = None,
        bridge: BridgeMedia | None = None,
    ) -> None:
        self.ctx = ctx
        self.audio = audio
        # Without a room (tests): the two parties a bridged warm transfer connects.
        self._roomless_bridge = bridge
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
        self._reprompts_left = config.voice.silence_reprompts
        self._silence_timer: asyncio.TimerHandle | None = None
        self.session: AgentSession | None = None
        self.writer: TranscriptWriter | None = None
        self.background_audio = None
        # A warm transfer in progress (its consultation, in tests), and whether it connected
        # the caller to a person in this room, which must then outlive the agent.
        self.warm_transfer: MorpheusWarmTransfer | None = None
        self._transfer_summary = ""
        self._connected_by = ""
        self._keep_room = False
        # Outbound (voice_worker/outbound.py): the agent's voicemail settings, the lease heartbeat.
        self.voicemail: dict | None = None
        self._heartbeat: outbound.LeaseHeartbeat | None = None
        self.agent: MorpheusAgent | None = None
        # How a bridged warm transfer's call ended, once it has.
        self.bridge_ended: BridgeEnd | None = None

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Waits for the caller, then starts the session: only then is the call answered,
        its maximum duration counted and the greeting said."""
        config = self.config
        session = AgentSession(**session_kwargs(config, self.models, text_mode=self.text_mode))
        self.session = session
        self.writer = TranscriptWriter(self.call.call_id)
        for note in self.models.notes:
            self.writer.put(TurnRecord(role=TurnRole.SYSTEM, content=note[:2000]))
        TurnCollector(session, self._on_turn, text_mode=self.text_mode)
        session.on("close", self._on_close)
        session.on("error", self._on_error)
        session.on("user_state_changed", self._on_user_state)
        for model in (self.models.llm, self.models.stt, self.models.tts):
            if model is not None:
                for event in ("llm_availability_changed", "stt_availability_changed", "tts_availability_changed"):
                    model.on(event, self._on_availability)
        self.ctx.add_shutdown_callback(self._on_job_shutdown)
        if not self.call.is_simulation and not self.text_mode:
            self._heartbeat = outbound.heartbeat_for(self.call)

        if not await self._wait_for_caller():
            self._end_reason = EndReason.NO_ANSWER
            self._error_message = "The caller never joined the call."
            await self._finish(None)
            return

        # Outbound: the agent waits for the callee (and AMD's verdict) before it greets.
        outbound_call = outbound.is_outbound(self.call) and not self.text_mode
        agent = MorpheusAgent(
            config, call=self.call, control=self, greet=not outbound_call, greet_when_spoken_to=outbound_call
        )
        self.agent = agent
        if self.text_mode:
            await session.start(agent, record=False)
        elif self.audio is not None:
            session.input.audio = self.audio.input
            session.output.audio = self.audio.output
            await session.start(agent, record=False)
            await self._start_thinking_sound()
        else:
            # Recording and LiveKit Cloud observability follow the server's setting for the job.
            await session.start(
                agent,
                room=self.ctx.room,
                room_options=room_io.RoomOptions(close_on_disconnect=True, delete_room_on_close=False),
            )
            await self._start_thinking_sound()
        if outbound_call:
            # In a room AMD listens once the SIP leg is answered; on roomless audio (tests,
            # the benchmark) the callee is on the line from the start.
            self._spawn(outbound.detect_answering_machine(self, self.voicemail))
        await acall_mark_active(call_id=self.call.call_id)
        answered_at = self._answered_at or timezone.now()
        elapsed = (timezone.now() - answered_at).total_seconds()
        remaining = max(0.0, config.max_duration_seconds - elapsed)
        self._timers.append(asyncio.get_running_loop().call_later(remaining, self._on_max_duration))
        logger.info("call %s: agent in the room", self.call.call_id)

    async def _wait_for_caller(self) -> bool:
        """The caller's participant (SIP or browser) is in the room; False on timeout."""
        if self.text_mode:
            return True
        try:
            async with asyncio.timeout(CALLER_JOIN_TIMEOUT_SECONDS):
                if self.audio is not None:
                    await self.audio.wait_for_caller()
                else:
                    await self.ctx.wait_for_participant()
        except TimeoutError:
            logger.warning("call %s: the caller never joined", self.call.call_id)
            return False
        if outbound.is_outbound(self.call) and self.audio is None:
            # The callee's leg is in the room while it rings: talk only once it is answered.
            return await outbound.wait_until_answered(self.ctx.room)
        return True

    async def _start_thinking_sound(self) -> None:
        """The agent's thinking sound, one of the clips that ship with livekit-agents, played
        by LiveKit's `BackgroundAudioPlayer` while the session is "thinking" (its own track in
        the room; without a room, the call audio's `background` output)."""
        sound = self.config.voice.thinking_sound
        if not sound:
            return
        from livekit.agents import BackgroundAudioPlayer

        from .background_audio import RoomlessBackgroundAudio, builtin_clip

        clip = builtin_clip(sound)
        sink = getattr(self.audio, "background", None) if self.audio is not None else None
        if self.audio is not None and sink is None:
            return  # nowhere to play it
        player = (
            BackgroundAudioPlayer(thinking_sound=clip)
            if sink is None
            else RoomlessBackgroundAudio(sink, thinking_sound=clip)
        )
        try:
            await player.start(room=self.ctx.room, agent_session=self.session)
        except Exception:
            logger.exception("call %s: the thinking sound could not start", self.call.call_id)
            return
        self.background_audio = player

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

    @property
    def says_fillers(self) -> bool:
        return True

    def end_call(self, reason: str) -> None:
        self._end(reason)

    def end_with(self, reason: str, *, message: str = "") -> None:
        """Ends the call with `reason`, saying `message` first (a voicemail)."""
        self._end(reason, message=message, interrupt=True)

    async def transfer(self, destination: TransferDestination) -> None:
        """Cold (SIP REFER) or warm (consult the destination first); the attempt and its
        outcome are recorded on the call (`metadata.transfers` and a system turn)."""
        try:
            if destination.mode == "warm":
                await self._warm_transfer(destination)
            else:
                await self._cold_transfer(destination)
        except TransferFailed as exc:
            await self._record_transfer(destination, exc.outcome, str(exc), summary=exc.summary)
            raise
        await self._record_transfer(
            destination, "connected", "", summary=self._transfer_summary, connected_by=self._connected_by
        )
        if self.warm_transfer is not None and self.warm_transfer.bridge is not None:
            # After the record above: the end of the bridged call completes it.
            self._spawn(self._when_bridge_ends(destination, self.warm_transfer.bridge))
        logger.info("call %s transferred to %s (%s)", self.call.call_id, destination.name, destination.mode)

    async def _cold_transfer(self, destination: TransferDestination) -> None:
        identity = self._caller_sip_identity()
        try:
            response = await livekit_client.atransfer_sip_participant(
                self.call.room_name, identity, transfer_address(destination), play_dialtone=False
            )
        except livekit_client.LiveKitUnavailable as exc:
            if exc.server_message:
                raise TransferFailed(f"{exc.server_message}.")
            raise TransferFailed(f"the telephony service could not be reached ({exc.twirp_code}).")
        if response.status == api.SIPTransferStatus.STS_TRANSFER_FAILED:
            raise TransferFailed(f"{response.reason or 'the destination did not accept the call'}.")

    async def _warm_transfer(self, destination: TransferDestination) -> None:
        """LiveKit's warm-transfer workflow (voice_worker/warm_transfer.py): the caller holds
        while the agent briefs the destination; back to the caller if they do not take it."""
        from livekit.agents import ToolError

        from .warm_transfer import MorpheusWarmTransfer, Origin, outcome_of

        caller_identity = self._caller_sip_identity()  # only phone callers can be handed over
        trunk_id, number = await atransfer_origin(self.call.call_id)
        if not trunk_id:
            raise TransferFailed("there is no outbound SIP trunk to call the destination from.")
        task = MorpheusWarmTransfer(
            destination,
            room_name=self.call.room_name,
            origin=Origin(trunk_id=trunk_id, number=number),
            chat_ctx=self.session.history.copy() if self.session is not None else None,
            in_room=not (self.text_mode or self.audio is not None),
            caller_identity=caller_identity,
            roomless_bridge=self._roomless_bridge,
        )
        self.warm_transfer = task
        try:
            await task
        except ToolError as exc:
            raise TransferFailed(
                f"{destination.name} did not take the call: {exc.message}.",
                outcome=outcome_of(exc),
                summary=task.summary,
            ) from exc
        finally:
            self._transfer_summary = task.summary
        # The destination is connected to the caller now (in the caller's room, or bridged by
        # this job): the agent leaves them talking, and the rooms are deleted when either hangs
        # up (not when the agent's session closes).
        self._keep_room = True
        self._connected_by = task.connected_by

    async def _when_bridge_ends(self, destination: TransferDestination, bridge: asyncio.Task[BridgeEnd]) -> None:
        """A bridged call ended (both sides are hung up by then): recorded on the call, then
        the job, which carried the audio until now, can go."""
        end = await bridge
        who = {"caller": "the caller hung up", "destination": f"{destination.name} hung up"}.get(
            end.left, "the voice worker stopped the call"
        )
        fields = {
            "endedBy": end.left or "worker",
            "endedAt": timezone.now().isoformat(),
            "bridgeSeconds": round(end.seconds, 1),
        }
        if end.error:
            fields["bridgeError"] = end.error[:500]
            who = f"the bridge failed carrying {end.left}'s audio ({end.error})"
        note = f"warm transfer to {destination.name}: bridge ended after {end.seconds:.0f} s, {who}"
        try:
            await acall_record_transfer_end(call_id=self.call.call_id, fields=fields)
            await aturn_append(call_id=self.call.call_id, record=TurnRecord(role=TurnRole.SYSTEM, content=note[:2000]))
        except Exception:
            logger.exception("call %s: could not record the end of the bridged call", self.call.call_id)
        logger.info("call %s: %s", self.call.call_id, note)
        self.bridge_ended = end
        self.ctx.shutdown(reason="the transferred call ended")

    async def _record_transfer(
        self, destination: TransferDestination, outcome: str, detail: str, *, summary: str = "", connected_by: str = ""
    ) -> None:
        record = {
            "destination": destination.name,
            "mode": destination.mode,
            "outcome": outcome,
            "detail": detail[:500],
            "at": timezone.now().isoformat(),
        }
        if destination.mode == "warm":
            # What the agent told the person it consulted (empty: nobody answered).
            record["summary"] = summary[:1000]
        if connected_by:
            # How the person was connected: moved into the caller's room, or bridged by the worker.
            record["connectedBy"] = connected_by
        await acall_record_transfer(call_id=self.call.call_id, record=record)
        if self.writer is not None:
            note = f"{destination.mode} transfer to {destination.name}: {outcome}" + (
                f" ({detail or connected_by})" if detail or connected_by else ""
            )
            self.writer.put(TurnRecord(role=TurnRole.SYSTEM, content=note[:2000]))

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
            self._on_silence()
        elif event.new_state == "speaking":
            # The caller is back: the next silence gets its reprompts again.
            self._reprompts_left = self.config.voice.silence_reprompts
            if self._silence_timer is not None:
                self._silence_timer.cancel()
                self._silence_timer = None

    def _on_silence(self) -> None:
        """Neither side spoke for the silence timeout: ask "are you still there?" (as many
        times as the agent says), then hang up after one more timeout of silence."""
        self._silence_timer = None
        if self.ending or self.session is None:
            return
        if self._reprompts_left <= 0:
            logger.info("call %s: the caller has been silent too long", self.call.call_id)
            self._end(EndReason.SILENCE, message=self.config.silence_message)
            return
        self._reprompts_left -= 1
        handle = self.session.say(self.config.reprompt_message, allow_interruptions=True)
        handle.add_done_callback(lambda _: self._arm_silence_timer())

    def _arm_silence_timer(self) -> None:
        if self.ending or self.session is None or self.session.user_state == "speaking":
            return
        delay = float(self.config.silence_timeout_seconds)
        self._silence_timer = asyncio.get_running_loop().call_later(delay, self._on_silence)
        self._timers.append(self._silence_timer)

    def _on_availability(self, event) -> None:
        """A provider failed over (or came back): recorded on the call, so the transcript says
        why the caller heard another voice or a slower answer."""
        model = getattr(event, "llm", None) or getattr(event, "stt", None) or getattr(event, "tts", None)
        if event.available or self.writer is None:
            return
        label = f"{getattr(model, 'provider', 'unknown')}/{getattr(model, 'model', 'unknown')}"
        self.writer.put(TurnRecord(role=TurnRole.SYSTEM, content=f"provider unavailable, using the next one: {label}"))

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
            # Honest: the agent could not answer; the caller may simply repeat.
            self.session.say(self.config.recovery_message)

    def _on_close(self, event: CloseEvent) -> None:
        self._spawn(self._finish(event))

    async def _finish(self, event: CloseEvent | None) -> None:
        if self._finishing:
            return
        self._finishing = True
        for timer in self._timers:
            timer.cancel()
        if self._heartbeat is not None:
            await self._heartbeat.stop()
        reason, error = self._end_reason, self._error_message
        if reason is None:
            reason, error = end_reason_for(event)
        try:
            if self.writer is not None:
                await self.writer.aclose()
            await acall_end_if_open(call_id=self.call.call_id, reason=reason, error_message=error)
        except Exception:
            logger.exception("could not close call %s", self.call.call_id)
        if not self._keep_room:
            await delete_room(self.call.room_name)
        if self.background_audio is not None:
            with contextlib.suppress(Exception):
                await self.background_audio.aclose()
        try:
            await self.models.aclose()
        except Exception:
            logger.exception("could not close the models of call %s", self.call.call_id)
        await sync_to_async(release_stale_connections)()
        self._closed.set()
        logger.info("call %s ended: %s", self.call.call_id, reason)
        if not self._keep_room:
            # After a warm transfer the job stays in the room until the caller or the person
            # they were handed to hangs up (MorpheusWarmTransfer deletes it then).
            self.ctx.shutdown(reason=str(reason))

    async def _on_job_shutdown(self, reason: str) -> None:
        """The job is going away (room deleted, worker stopping): let the bookkeeping finish."""
        if self.session is not None and not self._finishing:
            await self.session.aclose()
        transfer = self.warm_transfer
        bridge = transfer.bridge if transfer is not None else None
        if transfer is not None and bridge is not None and not bridge.done():
            # A bridged call lives in this job: hang both sides up rather than leave them in silence.
            transfer.stop_bridge()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(bridge), SHUTDOWN_WAIT_SECONDS)
        try:
            await asyncio.wait_for(self._closed.wait(), SHUTDOWN_WAIT_SECONDS)
        except TimeoutError:
            logger.error("call %s: bookkeeping did not finish before the job shut down", self.call.call_id)

    def _caller_sip_identity(self) -> str:
        if self.text_mode or self.audio is not None:
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
