"""Warm transfer: LiveKit's `WarmTransferTask` (livekit-agents 1.8 `beta.workflows`), with
its LiveKit server requests sent through `calls/livekit_client.py`.

The caller is put on hold (the library's hold music) while the agent calls the destination
into a consultation room (`<call room>-human-agent`), tells the person who answers what
the call is about (the model summarises the conversation so far), and, if they accept
(`connect_to_caller`), connects them to the caller; the agent then leaves the two talking.
If they decline, hang up, reach voicemail or never answer, the task ends with a ToolError
and the agent is back with the caller, who is told why.

Connecting them (setting LIVEKIT_WARM_TRANSFER_CONNECT): `move` asks LiveKit to move them
into the caller's room (`RoomService.MoveParticipant`, LiveKit Cloud only); `bridge` keeps
them in the consultation room and the worker carries the audio between the two rooms
(voice_worker/bridge.py, any LiveKit server); `auto` tries the move and bridges when the
server answers that it cannot move participants (self-hosted livekit-server), and from then
on for the rest of the process (any other failure of the move: this call only). Which one
connected the call is `connected_by`.

Without a LiveKit room (text mode and the audio harness: tests and the benchmark) the
consultation is a text-mode session of the same agent (`consultation`), which a test talks
to as the person who answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass

from django.conf import settings
from livekit import api, rtc
from livekit.agents import NOT_GIVEN, Agent, AgentSession, ToolError, get_job_context, llm
from livekit.agents.beta.workflows import WarmTransferTask

from calls import livekit_client

from .bridge import BridgeEnd, BridgeMedia, Party, RoomBridgeMedia, run_bridge
from .closing import delete_room
from .config import TransferDestination

logger = logging.getLogger(__name__)

# How long the destination may ring before the caller is told nobody answered.
RINGING_TIMEOUT_SECONDS = 30.0
HUMAN_IDENTITY = "human-agent-sip"


class WarmTransferUnavailable(Exception):
    """The call cannot be warm-transferred (no outbound trunk to dial the destination)."""


class ConnectFailed(Exception):
    """The person accepted, but could not be connected to the caller."""


# Set when this process's LiveKit server answered that it cannot move participants: with
# LIVEKIT_WARM_TRANSFER_CONNECT=auto, later calls in the process bridge without asking again.
_server_cannot_move = False


def connect_method() -> str:
    """How the next warm transfer connects: "move" or "bridge" (or "auto": try the move)."""
    method = settings.LIVEKIT_WARM_TRANSFER_CONNECT
    return "bridge" if method == "auto" and _server_cannot_move else method


def remember_server_cannot_move(cannot: bool = True) -> None:
    global _server_cannot_move
    _server_cannot_move = cannot


@dataclass(frozen=True)
class Origin:
    """Where the consultation call is dialled from: the call's own trunk and number."""

    trunk_id: str
    number: str


def outcome_of(error: BaseException) -> str:
    """The recorded outcome of a warm transfer that did not connect, from the library's
    ToolError messages (warm_transfer.py) and our dial errors."""
    text = str(error).lower()
    if "declined" in text:
        return "declined"
    if "voicemail" in text:
        return "voicemail"
    if "room closed" in text:
        return "hung_up"
    if "did not answer" in text or "could not dial" in text:
        return "no_answer"
    return "failed"


class MorpheusWarmTransfer(WarmTransferTask):
    def __init__(
        self,
        destination: TransferDestination,
        *,
        room_name: str,
        origin: Origin,
        chat_ctx: llm.ChatContext,
        in_room: bool,
        caller_identity: str,
        roomless_bridge: BridgeMedia | None = None,
    ) -> None:
        self.room_name = room_name
        self.consult_room_name = f"{room_name}-human-agent"
        # The text-mode consultation, when the call has no LiveKit room.
        self.consultation: AgentSession | None = None
        # What the agent told the person who answered (its first words there), for the record.
        self.summary = ""
        # "move" or "bridge" once the person is connected to the caller.
        self.connected_by = ""
        # The bridge carrying the call (connected_by == "bridge"): it ends when a side leaves.
        self.bridge: asyncio.Task[BridgeEnd] | None = None
        self._stop_bridge = asyncio.Event()
        self._in_room = in_room
        self._caller_identity = caller_identity
        # Without a room (tests), the two parties the bridge connects.
        self._roomless_bridge = roomless_bridge
        super().__init__(
            destination.destination,
            sip_trunk_id=origin.trunk_id,
            sip_number=origin.number,
            ringing_timeout=RINGING_TIMEOUT_SECONDS,
            # Hold music is published into the caller's room; without one there is no line to hold.
            hold_audio=NOT_GIVEN if in_room else None,
            chat_ctx=chat_ctx,
            extra_instructions=(
                f"You are calling {destination.name}"
                + (f" ({destination.description})" if destination.description else "")
                + ". If they cannot take the call, call `decline_transfer` with their reason."
            ),
        )

    async def _dial_human_agent(self) -> AgentSession:
        if self._in_room:
            return await super()._dial_human_agent()
        # The library's consultation session, minus the room: same models, instructions, tools.
        session: AgentSession = AgentSession(
            llm=self.session.llm or NOT_GIVEN, turn_handling={"turn_detection": "manual"}
        )
        agent = Agent(instructions=self.instructions, llm=self.llm, tools=self.tools, chat_ctx=self.chat_ctx)
        await session.start(agent, record=False)
        try:
            await self._originate_human_agent(
                room_name=self.consult_room_name, identity=self._human_agent_identity, room=None
            )
        except BaseException:
            await session.aclose()
            raise
        self.consultation = session
        return session

    def _set_result(self, result) -> None:
        # The consultation session is shut down here: keep what the agent told them first.
        if self._human_agent_sess is not None and not self.summary:
            said = [m.text_content or "" for m in self._human_agent_sess.history.messages() if m.role == "assistant"]
            self.summary = next((text for text in said if text.strip()), "")
        super()._set_result(result)

    async def _originate_human_agent(self, *, room_name: str, identity: str, room: rtc.Room | None) -> None:
        request = api.CreateSIPParticipantRequest(
            sip_trunk_id=self._sip_trunk_id or "",
            sip_call_to=self._sip_call_to,
            room_name=room_name,
            participant_identity=identity,
            wait_until_answered=True,
            sip_number=self._sip_number or "",
        )
        request.ringing_timeout.FromNanoseconds(int(RINGING_TIMEOUT_SECONDS * 1e9))
        try:
            await livekit_client.acreate_sip_participant(request)
        except (livekit_client.SipCallFailed, livekit_client.LiveKitRefused, livekit_client.LiveKitUnavailable) as exc:
            logger.info("warm transfer: %s did not answer: %s", self._sip_call_to, exc)
            raise ToolError(f"the destination did not answer ({exc})") from exc

    async def _merge_calls(self) -> None:
        consult_room: rtc.Room | None = None
        if self._in_room and self._human_agent_sess is not None:
            consult_room = self._human_agent_sess.room_io.room
            # Leaving the consultation room is the transfer, not the human hanging up.
            consult_room.off("disconnected", self._on_human_agent_room_close)
        try:
            self.connected_by = await self._connect(consult_room)
        except ConnectFailed as exc:
            # Back to the caller (the library would leave them on hold, the tool having failed).
            logger.warning("warm transfer: could not connect %s to the caller: %s", self._sip_call_to, exc)
            self._set_result(ToolError(f"could not connect the call: {exc}"))

    async def _connect(self, consult_room: rtc.Room | None) -> str:
        method = connect_method()
        if method != "bridge":
            try:
                await livekit_client.amove_participant(
                    self.consult_room_name, self._human_agent_identity, self.room_name
                )
                return "move"
            except livekit_client.MoveNotSupported as exc:
                if method == "move":
                    raise ConnectFailed(f"this LiveKit server cannot move participants ({exc.server_message})")
                remember_server_cannot_move()
                logger.info("warm transfer: this LiveKit server cannot move participants (%s): bridging", exc)
            except livekit_client.LiveKitUnavailable as exc:
                if method == "move":
                    raise ConnectFailed(str(exc))
                # The bridge needs no server API, only the two room connections the worker
                # already has: better than hanging up on someone who just said yes.
                logger.warning("warm transfer: the move failed (%s): bridging this call", exc)
        await self._start_bridge(consult_room)
        return "bridge"

    async def _start_bridge(self, consult_room: rtc.Room | None) -> None:
        """Publishes the worker's track in both rooms and starts carrying the audio."""
        media: BridgeMedia
        if consult_room is not None and self._caller_room is not None:
            media = RoomBridgeMedia(self._caller_room, self._caller_identity, consult_room, self._human_agent_identity)
        elif self._roomless_bridge is not None:
            media = self._roomless_bridge
        else:
            raise ConnectFailed("there is no audio to bridge")
        stack = AsyncExitStack()
        try:
            parties = await stack.enter_async_context(media.parties())
        except Exception as exc:
            await stack.aclose()
            raise ConnectFailed(f"the bridge could not start: {exc}") from exc
        if consult_room is not None and self._human_agent_sess is not None:
            # The library closes the consultation session once connected, and that session
            # deletes its room on close (its RoomOptions): the person is still in it here.
            # (Only once bridged: a failed connection does hang them up with the room.)
            self._human_agent_sess.room_io._options.delete_room_on_close = False
        self.bridge = asyncio.get_running_loop().create_task(self._run_bridge(stack, parties, consult_room))

    async def _run_bridge(
        self, stack: AsyncExitStack, parties: tuple[Party, Party], consult_room: rtc.Room | None
    ) -> BridgeEnd:
        """Until a side leaves (or `stop_bridge()`); then both are hung up: the rooms go."""
        started = asyncio.get_running_loop().time()
        carrying = asyncio.ensure_future(run_bridge(*parties))
        stopping = asyncio.ensure_future(self._stop_bridge.wait())
        try:
            await asyncio.wait({carrying, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            carrying.cancel()
            await asyncio.gather(carrying, stopping, return_exceptions=True)
            await stack.aclose()
            if consult_room is not None:
                with contextlib.suppress(Exception):  # already cut off by the room's deletion
                    await consult_room.disconnect()
            await delete_room(self.consult_room_name)
            await delete_room(self.room_name)
        if carrying.cancelled():
            seconds = asyncio.get_running_loop().time() - started
            return BridgeEnd(left="", seconds=seconds)  # stop_bridge(): nobody left
        return carrying.result()

    def stop_bridge(self) -> None:
        """Ends a bridged call (the worker is shutting down): both sides are hung up."""
        self._stop_bridge.set()

    def _on_caller_participant_disconnected(self, participant: rtc.RemoteParticipant) -> None:
        # After the move, whoever hangs up first ends the call for both: the room goes. (A
        # bridge sees the hang-ups itself; a failed connection has nothing left to end.)
        if self.connected_by != "move":
            return
        if participant.kind not in (
            rtc.ParticipantKind.PARTICIPANT_KIND_SIP,
            rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD,
        ):
            return
        if self._caller_room is not None:
            self._caller_room.off("participant_disconnected", self._on_caller_participant_disconnected)
        self._room_deletion = asyncio.get_running_loop().create_task(self._hang_up_both())

    async def _hang_up_both(self) -> None:
        await delete_room(self.room_name)
        get_job_context().shutdown(reason="the transferred call ended")
