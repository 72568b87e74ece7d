"""The one module that talks to LiveKit's server API (`livekit-api`, Twirp over HTTP).

Django code is synchronous; `livekit-api` is asyncio. Every request runs on the process's
one LiveKit event loop and HTTP session (`calls/livekit_loop.py`: a background thread,
pooled keep-alive connections, rebuilt after fork), whether the caller is a request, a
Celery task or the voice worker's own loop. Public functions are sync; the `a`-prefixed
coroutines are the same operations for async callers. Each operation is bounded by
settings.LIVEKIT_TIMEOUT_SECONDS, with no client-side failover: retries belong to Celery.

Every transport or Twirp failure becomes `LiveKitUnavailable`, an API 503, so a view that
lets it escape answers "Voice service is unavailable" in the envelope.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from django.conf import settings
from livekit import api

from morpheus.errors import BadRequest, ServiceUnavailable

from . import livekit_loop

logger = logging.getLogger(__name__)

T = TypeVar("T")

NOT_CONFIGURED_MESSAGE = "Voice service is not configured"
UNAVAILABLE_MESSAGE = "Voice service is unavailable, please try again later"


class LiveKitUnavailable(ServiceUnavailable):
    """LiveKit is not configured, unreachable, timed out or answered an error."""

    default_message = UNAVAILABLE_MESSAGE

    def __init__(
        self, detail: str | None = None, *, code: str = "unavailable", reason: str = "", server_message: str = ""
    ):
        super().__init__(detail or UNAVAILABLE_MESSAGE)
        self.twirp_code = code
        self.reason = reason
        # What LiveKit itself answered (a Twirp error's message), for callers that relay it.
        self.server_message = server_message

    def __str__(self) -> str:
        return f"{self.message} ({self.twirp_code}: {self.reason})" if self.reason else self.message


class LiveKitRefused(BadRequest):
    """LiveKit understood the request and said no (a trunk it rejects, a bad argument):
    the client's input is wrong, so a 400, not a 503. Only the operations that pass
    `refusals=True` raise it; `twirp_code` and `reason` say what LiveKit answered."""

    def __init__(self, reason: str, *, code: str):
        super().__init__(f"LiveKit refused the request: {reason}")
        self.twirp_code = code
        self.reason = reason


class SipCallFailed(Exception):
    """CreateSIPParticipant failed with a SIP response (486 Busy Here, 480, 603 ...)."""

    def __init__(self, status_code: int | None, status: str, message: str):
        super().__init__(f"SIP call failed: {status_code} {status} ({message})")
        self.status_code = status_code
        self.status = status
        self.message = message


class MoveNotSupported(LiveKitUnavailable):
    """The server has no RoomService.MoveParticipant: it only works on LiveKit Cloud and
    private cloud. Self-hosted livekit-server answers HTTP 500 `unknown` "not implemented"
    (a stub in pkg/service/roommanager.go, relayed through psrpc; livekit/livekit#4203), a
    server older than the API answers `bad_route`, and Twirp's own word is `unimplemented`."""


# Twirp codes meaning "your request is wrong", not "LiveKit is down".
REFUSAL_CODES = frozenset({"invalid_argument", "malformed", "failed_precondition", "already_exists", "out_of_range"})


def livekit_configured() -> bool:
    return bool(settings.LIVEKIT_URL and settings.LIVEKIT_API_KEY and settings.LIVEKIT_API_SECRET)


def require_configured() -> None:
    if not livekit_configured():
        raise LiveKitUnavailable(NOT_CONFIGURED_MESSAGE, code="not_configured", reason="LIVEKIT_URL/KEY/SECRET unset")


def _is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, api.TwirpError) and exc.code == api.TwirpErrorCode.NOT_FOUND


def _as_unavailable(exc: BaseException) -> LiveKitUnavailable:
    if isinstance(exc, api.TwirpError):
        return LiveKitUnavailable(
            code=exc.code, reason=f"HTTP {exc.status}: {exc.message}", server_message=exc.message or ""
        )
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return LiveKitUnavailable(code="timeout", reason="request timed out")
    return LiveKitUnavailable(code="transport", reason=f"{type(exc).__name__}: {exc}")


async def _with_api(
    operation: Callable[[api.LiveKitAPI], Awaitable[T]],
    *,
    not_found_ok: bool = False,
    refusals: bool = False,
    timeout: float | None = None,
) -> T | None:
    require_configured()
    config = (settings.LIVEKIT_URL, settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET)
    seconds = timeout or settings.LIVEKIT_TIMEOUT_SECONDS
    return await livekit_loop.run_async(
        _call(operation, config, seconds=seconds, not_found_ok=not_found_ok, refusals=refusals)
    )


async def _call(
    operation: Callable[[api.LiveKitAPI], Awaitable[T]],
    config: tuple[str, str, str],
    *,
    seconds: float,
    not_found_ok: bool,
    refusals: bool,
) -> T | None:
    """One operation on the shared client (runs on the LiveKit loop)."""
    try:
        lkapi = livekit_loop.runner().client(*config)
        # livekit-api passes `timeout=None` per request, which disables the session's
        # timeout in aiohttp; bound the whole operation here instead.
        async with asyncio.timeout(seconds):
            return await operation(lkapi)
    except Exception as exc:  # every failure of the edge is one 503, logged with its cause
        if not_found_ok and _is_not_found(exc):
            return None
        if isinstance(exc, api.SipCallError) and exc.sip_status_code is not None:
            raise SipCallFailed(exc.sip_status_code, exc.sip_status or "", exc.message) from exc
        if refusals and isinstance(exc, api.TwirpError) and exc.code in REFUSAL_CODES:
            raise LiveKitRefused(exc.message or exc.code, code=exc.code) from exc
        unavailable = _as_unavailable(exc)
        logger.warning("LiveKit request failed: %s", unavailable)
        raise unavailable from exc


# The sync wait outlasts the operation's own timeout, which normally fires first.
SYNC_GRACE_SECONDS = 2.0


def _run(coroutine: Coroutine[Any, Any, T], *, timeout: float | None = None) -> T:
    """Runs an `a`-function to completion from sync code (any thread, inside a loop or not)."""
    seconds = (timeout or settings.LIVEKIT_TIMEOUT_SECONDS) + SYNC_GRACE_SECONDS
    try:
        return livekit_loop.run_sync(coroutine, timeout=seconds)
    except TimeoutError as exc:
        unavailable = _as_unavailable(exc)
        logger.warning("LiveKit request failed: %s", unavailable)
        raise unavailable from exc


# --- Rooms --------------------------------------------------------------------------


async def acreate_room(name: str, *, empty_timeout: int, max_participants: int, metadata: dict | None = None):
    request = api.CreateRoomRequest(
        name=name,
        empty_timeout=empty_timeout,
        max_participants=max_participants,
        metadata=json.dumps(metadata or {}),
    )
    return await _with_api(lambda lk: lk.room.create_room(request))


def create_room(name: str, *, empty_timeout: int, max_participants: int, metadata: dict | None = None):
    """Creates (or finds: LiveKit's CreateRoom is idempotent) the room; returns livekit Room."""
    return _run(acreate_room(name, empty_timeout=empty_timeout, max_participants=max_participants, metadata=metadata))


async def adelete_room(name: str) -> bool:
    result = await _with_api(lambda lk: lk.room.delete_room(api.DeleteRoomRequest(room=name)), not_found_ok=True)
    return result is not None


def delete_room(name: str) -> bool:
    """Deletes the room, disconnecting everyone. A room LiveKit no longer knows counts as
    deleted: returns False then, True when this call removed it."""
    return _run(adelete_room(name))


async def alist_rooms(names: list[str] | None = None) -> list:
    response = await _with_api(lambda lk: lk.room.list_rooms(api.ListRoomsRequest(names=names or [])))
    return list(response.rooms)


def list_rooms(names: list[str] | None = None) -> list:
    return _run(alist_rooms(names))


async def alist_participants(room_name: str) -> list:
    response = await _with_api(
        lambda lk: lk.room.list_participants(api.ListParticipantsRequest(room=room_name)), not_found_ok=True
    )
    return list(response.participants) if response is not None else []


def list_participants(room_name: str) -> list:
    """Participants in the room; [] when the room does not exist."""
    return _run(alist_participants(room_name))


async def aremove_participant(room_name: str, identity: str) -> bool:
    result = await _with_api(
        lambda lk: lk.room.remove_participant(api.RoomParticipantIdentity(room=room_name, identity=identity)),
        not_found_ok=True,
    )
    return result is not None


def remove_participant(room_name: str, identity: str) -> bool:
    return _run(aremove_participant(room_name, identity))


# --- Agent dispatch -----------------------------------------------------------------


async def acreate_agent_dispatch(room_name: str, *, metadata: dict):
    request = api.CreateAgentDispatchRequest(
        agent_name=settings.VOICE_AGENT_NAME, room=room_name, metadata=json.dumps(metadata)
    )
    return await _with_api(lambda lk: lk.agent_dispatch.create_dispatch(request))


def create_agent_dispatch(room_name: str, *, metadata: dict):
    """Explicitly dispatches VOICE_AGENT_NAME into the room; returns livekit AgentDispatch."""
    return _run(acreate_agent_dispatch(room_name, metadata=metadata))


async def alist_agent_dispatches(room_name: str) -> list:
    return await _with_api(lambda lk: lk.agent_dispatch.list_dispatch(room_name))


def list_agent_dispatches(room_name: str) -> list:
    """Dispatches of the room (every agent name)."""
    return _run(alist_agent_dispatches(room_name))


# --- SIP ----------------------------------------------------------------------------


async def atransfer_sip_participant(
    room_name: str, participant_identity: str, transfer_to: str, *, play_dialtone: bool = False
):
    request = api.TransferSIPParticipantRequest(
        room_name=room_name,
        participant_identity=participant_identity,
        transfer_to=transfer_to,
        play_dialtone=play_dialtone,
    )
    return await _with_api(lambda lk: lk.sip.transfer_sip_participant(request))


def transfer_sip_participant(room_name: str, participant_identity: str, transfer_to: str, *, play_dialtone=False):
    """SIP REFER of a caller to a phone number (tel:/E.164) or sip: URI."""
    return _run(atransfer_sip_participant(room_name, participant_identity, transfer_to, play_dialtone=play_dialtone))


def _move_not_supported(exc: api.TwirpError) -> bool:
    if exc.code in (api.TwirpErrorCode.UNIMPLEMENTED, api.TwirpErrorCode.BAD_ROUTE):
        return True
    # A plain Go error from livekit-server's stub reaches us as `unknown` (psrpc's code for
    # a non-psrpc error); its message is the only thing that tells it from a real failure.
    return exc.code in (api.TwirpErrorCode.UNKNOWN, api.TwirpErrorCode.INTERNAL) and (
        "not implemented" in (exc.message or "").lower()
    )


async def amove_participant(room_name: str, identity: str, destination_room: str) -> None:
    request = api.MoveParticipantRequest(room=room_name, identity=identity, destination_room=destination_room)
    try:
        await _with_api(lambda lk: lk.room.move_participant(request))
    except LiveKitUnavailable as exc:
        cause = exc.__cause__
        if isinstance(cause, api.TwirpError) and _move_not_supported(cause):
            raise MoveNotSupported(
                code=cause.code, reason=f"HTTP {cause.status}: {cause.message}", server_message=cause.message or ""
            ) from cause
        raise


def move_participant(room_name: str, identity: str, destination_room: str) -> None:
    """Moves a participant (with its media) into another room: a warm transfer's human,
    from the consultation room into the caller's. MoveNotSupported when the server has no
    such API (self-hosted livekit-server), LiveKitUnavailable for any other failure."""
    _run(amove_participant(room_name, identity, destination_room))


# --- SIP trunks and dispatch rules (setup_livekit_sip) ------------------------------
# Only the setup command (sync) runs these, so they have no `a`-prefixed twins.


def list_sip_inbound_trunks() -> list:
    """Every inbound trunk of the project (livekit SIPInboundTrunkInfo)."""
    response = _run(_with_api(lambda lk: lk.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest())))
    return list(response.items)


def create_sip_inbound_trunk(trunk: api.SIPInboundTrunkInfo):
    """Creates the trunk; returns it with its `sip_trunk_id`."""
    return _run(_with_api(lambda lk: lk.sip.create_inbound_trunk(api.CreateSIPInboundTrunkRequest(trunk=trunk))))


def update_sip_inbound_trunk(trunk_id: str, trunk: api.SIPInboundTrunkInfo):
    """Replaces the whole trunk `trunk_id` with `trunk` (fields left unset are cleared)."""
    return _run(_with_api(lambda lk: lk.sip.update_inbound_trunk(trunk_id, trunk)))


def list_sip_dispatch_rules() -> list:
    """Every SIP dispatch rule of the project (livekit SIPDispatchRuleInfo)."""
    response = _run(_with_api(lambda lk: lk.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest())))
    return list(response.items)


def create_sip_dispatch_rule(request: api.CreateSIPDispatchRuleRequest):
    """Creates the rule; returns it with its `sip_dispatch_rule_id`."""
    return _run(_with_api(lambda lk: lk.sip.create_dispatch_rule(request)))


def update_sip_dispatch_rule(rule_id: str, rule: api.SIPDispatchRuleInfo):
    """Replaces the whole rule `rule_id` with `rule`."""
    return _run(_with_api(lambda lk: lk.sip.update_dispatch_rule(rule_id, rule)))


# --- Egress (recordings) ----------------------------------------------------------------


async def astart_audio_egress(room_name: str, *, file_type: int, filepath: str, s3: api.S3Upload):
    """An audio-only room composite of `room_name`, uploaded by Egress to `s3` at `filepath`."""
    request = api.RoomCompositeEgressRequest(
        room_name=room_name,
        audio_only=True,
        file_outputs=[api.EncodedFileOutput(file_type=file_type, filepath=filepath, s3=s3)],
    )
    return await _with_api(lambda lk: lk.egress.start_room_composite_egress(request))


def start_audio_egress(room_name: str, *, file_type: int, filepath: str, s3: api.S3Upload):
    """Starts recording the room; returns the EgressInfo (its egress_id)."""
    return _run(astart_audio_egress(room_name, file_type=file_type, filepath=filepath, s3=s3))


async def astop_egress(egress_id: str):
    return await _with_api(
        lambda lk: lk.egress.stop_egress(api.StopEgressRequest(egress_id=egress_id)), not_found_ok=True
    )


def stop_egress(egress_id: str):
    """Stops an egress; one LiveKit no longer knows is fine (returns None)."""
    return _run(astop_egress(egress_id))


# --- Outbound SIP: trunks and dialing (calls/outbound.py, telephony/trunks.py) -----------


async def acreate_sip_outbound_trunk(trunk: api.SIPOutboundTrunkInfo):
    request = api.CreateSIPOutboundTrunkRequest(trunk=trunk)
    return await _with_api(lambda lk: lk.sip.create_outbound_trunk(request), refusals=True)


def create_sip_outbound_trunk(trunk: api.SIPOutboundTrunkInfo):
    """Creates the outbound trunk; returns it with its `sip_trunk_id`. LiveKitRefused (400)
    when LiveKit rejects it, LiveKitUnavailable (503) when it cannot be asked."""
    return _run(acreate_sip_outbound_trunk(trunk))


async def aupdate_sip_outbound_trunk(trunk_id: str, trunk: api.SIPOutboundTrunkInfo):
    return await _with_api(lambda lk: lk.sip.update_outbound_trunk(trunk_id, trunk), refusals=True)


def update_sip_outbound_trunk(trunk_id: str, trunk: api.SIPOutboundTrunkInfo):
    """Replaces the whole outbound trunk `trunk_id` with `trunk`."""
    return _run(aupdate_sip_outbound_trunk(trunk_id, trunk))


async def adelete_sip_trunk(trunk_id: str) -> bool:
    result = await _with_api(
        lambda lk: lk.sip.delete_trunk(api.DeleteSIPTrunkRequest(sip_trunk_id=trunk_id)), not_found_ok=True
    )
    return result is not None


def delete_sip_trunk(trunk_id: str) -> bool:
    """Deletes a trunk (inbound or outbound); one LiveKit no longer knows counts as deleted."""
    return _run(adelete_sip_trunk(trunk_id))


def _sip_participant_timeout(request: api.CreateSIPParticipantRequest) -> float:
    timeout = settings.LIVEKIT_TIMEOUT_SECONDS
    if request.wait_until_answered:
        timeout += request.ringing_timeout.seconds or 60
    return timeout


async def acreate_sip_participant(request: api.CreateSIPParticipantRequest):
    timeout = _sip_participant_timeout(request)
    return await _with_api(lambda lk: lk.sip.create_sip_participant(request), refusals=True, timeout=timeout)


def create_sip_participant(request: api.CreateSIPParticipantRequest):
    """Dials `sip_call_to` through `sip_trunk_id` into `room_name`. Raises SipCallFailed
    (a SIP response: busy, no answer, declined), LiveKitRefused (a request LiveKit will
    never accept: a missing trunk, a bad number), LiveKitUnavailable (retry later)."""
    return _run(acreate_sip_participant(request), timeout=_sip_participant_timeout(request))


# --- Tokens (signed locally; no request to LiveKit) ---------------------------------


def participant_token(
    *, room_name: str, identity: str, name: str = "", ttl: datetime.timedelta, metadata: dict | None = None
) -> str:
    """A join token for one room only: publish and subscribe audio, send data, nothing else."""
    require_configured()
    grants = api.VideoGrants(
        room_join=True,
        room=room_name,
        can_publish=True,
        can_subscribe=True,
        can_publish_data=True,
    )
    token = (
        api.AccessToken(settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET)
        .with_identity(identity)
        .with_name(name)
        .with_ttl(ttl)
        .with_grants(grants)
    )
    if metadata:
        token = token.with_metadata(json.dumps(metadata))
    return token.to_jwt()
