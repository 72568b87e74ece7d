"""A local LiveKit server-API double for tests: the network edge, speaking the real wire protocol.

LiveKit's server API is Twirp: `POST /twirp/livekit.<Service>/<Method>` with a protobuf body
(`Content-Type: application/protobuf`, what `livekit-api` sends) or Twirp's JSON form, and a
`Authorization: Bearer <JWT>` signed with the API secret. Errors are JSON `{code, msg, meta}`
with the HTTP status Twirp assigns to the code.

`LiveKitServer` runs on 127.0.0.1 (random port, in a thread), decodes every request with the
`livekit.protocol` message classes, verifies the JWT with `livekit.api.TokenVerifier` and the
grants each method needs, records every request for assertions and keeps a little state
(rooms, participants, agent dispatches, SIP trunks and dispatch rules, transfers) so a flow
can be followed end to end. Failures: `fail_next()` answers the next matching request with a
Twirp error, `stall_next()` delays it (to exercise client timeouts), `stop()` makes the port
refuse connections (and cuts the open keep-alive ones). `self_hosted = True` makes it answer
what self-hosted livekit-server answers where it differs from LiveKit Cloud:
RoomService.MoveParticipant is not implemented there. `connections` counts the TCP
connections clients opened, to check that a client pools them.

Use the `livekit_server` fixture (import it into a conftest) to start one per test with the
LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET settings pointing at it.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer

import pytest
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from livekit import api
from livekit.protocol import agent as proto_agent
from livekit.protocol import agent_dispatch as proto_dispatch
from livekit.protocol import egress as proto_egress
from livekit.protocol import models as proto_models
from livekit.protocol import room as proto_room
from livekit.protocol import sip as proto_sip

from testsupport.http_double import DoubleHandler

PROTOBUF = "application/protobuf"
JSON = "application/json"

# Twirp's error codes and the HTTP status each one travels with.
TWIRP_STATUS = {
    "canceled": 408,
    "invalid_argument": 400,
    "malformed": 400,
    "deadline_exceeded": 408,
    "not_found": 404,
    "bad_route": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "unauthenticated": 401,
    "resource_exhausted": 429,
    "failed_precondition": 412,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "dataloss": 500,
    "unknown": 500,
}


class TwirpError(Exception):
    def __init__(self, code: str, msg: str, meta: dict | None = None):
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.meta = meta or {}


@dataclass
class RecordedRequest:
    """One request as the server understood it."""

    service: str
    method: str
    message: Message
    claims: api.access_token.Claims
    content_type: str
    headers: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.service}.{self.method}"


@dataclass
class _Injected:
    method: str | None
    times: int
    error: TwirpError | None = None
    delay: float = 0.0

    def matches(self, method: str) -> bool:
        return self.method is None or self.method == method


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


def _now_ns() -> int:
    return time.time_ns()


class _QuietServer(ThreadingHTTPServer):
    """Counts the TCP connections it accepts and can cut the open ones (keep-alive
    connections outlive `shutdown()`, which only stops accepting)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.accepted = 0
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request, client_address):
        with self._open_lock:
            self.accepted += 1
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        with self._open_lock:
            for connection in self._open:
                with contextlib.suppress(OSError):  # the peer closed it meanwhile
                    connection.shutdown(socket.SHUT_RDWR)
            self._open.clear()

    def handle_error(self, request, client_address):
        # A client that timed out and hung up (stall_next) is expected, not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LiveKitServer:
    """The fake LiveKit server. Thread-safe: handlers run on the server's threads."""

    def __init__(self, api_key: str = "lk-test-key", api_secret: str | None = None, *, self_hosted: bool = False):
        self.api_key = api_key
        self.api_secret = api_secret or secrets.token_urlsafe(32)
        # Self-hosted livekit-server rather than LiveKit Cloud (MoveParticipant unimplemented).
        self.self_hosted = self_hosted
        self._lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._connections_before = 0  # accepted by listeners stop() closed
        self.reset()

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> LiveKitServer:
        handler = type("BoundHandler", (_TwirpHandler,), {"backend": self})
        self._httpd = _QuietServer(("127.0.0.1", self._port or 0), handler)
        self._httpd.daemon_threads = True
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fake-livekit", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shuts the listener: later requests get `connection refused` (LiveKit down).
        `start()` again reopens on the same port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd.close_open_connections()
            self._connections_before += self._httpd.accepted
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self) -> str:
        assert self._port is not None, "start() the server first"
        return f"http://127.0.0.1:{self._port}"

    @property
    def connections(self) -> int:
        """TCP connections accepted since this server was made (a client that pools
        keep-alive connections makes one for many requests)."""
        return self._connections_before + (self._httpd.accepted if self._httpd is not None else 0)

    @property
    def running(self) -> bool:
        return self._httpd is not None

    # --- state and assertions ------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.requests: list[RecordedRequest] = []
            self.rooms: dict[str, proto_models.Room] = {}
            self.participants: dict[str, dict[str, proto_models.ParticipantInfo]] = {}
            self.dispatches: dict[str, proto_dispatch.AgentDispatch] = {}
            self.inbound_trunks: dict[str, proto_sip.SIPInboundTrunkInfo] = {}
            self.outbound_trunks: dict[str, proto_sip.SIPOutboundTrunkInfo] = {}
            self.dispatch_rules: dict[str, proto_sip.SIPDispatchRuleInfo] = {}
            self.transfers: list[proto_sip.TransferSIPParticipantRequest] = []
            self.egresses: dict[str, proto_egress.EgressInfo] = {}
            self._injected: list[_Injected] = []
            # Outcomes of the next CreateSIPParticipant calls (see dial_outcome).
            self._dial_outcomes: list[str] = []

    def requests_for(self, method: str, service: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method and (service is None or r.service == service)]

    def messages(self, method: str) -> list[Message]:
        return [r.message for r in self.requests_for(method)]

    def dispatches_in(self, room: str) -> list[proto_dispatch.AgentDispatch]:
        with self._lock:
            return [d for d in self.dispatches.values() if d.room == room]

    def fail_next(
        self, method: str | None = None, *, code: str = "unavailable", msg: str = "", times: int = 1, meta=None
    ) -> None:
        """The next `times` requests to `method` (any method if None) answer a Twirp error."""
        with self._lock:
            error = TwirpError(code, msg or f"injected {code}", meta)
            self._injected.append(_Injected(method=method, times=times, error=error))

    def stall_next(self, seconds: float, method: str | None = None, *, times: int = 1) -> None:
        """The next matching requests wait `seconds` before answering (client timeouts)."""
        with self._lock:
            self._injected.append(_Injected(method=method, times=times, delay=seconds))

    def add_participant(
        self, room: str, identity: str, *, kind: int = proto_models.ParticipantInfo.Kind.STANDARD, **fields
    ) -> proto_models.ParticipantInfo:
        """Someone joins a room (a SIP caller, a browser, an agent): what the media side would do."""
        with self._lock:
            self._ensure_room(room)
            info = proto_models.ParticipantInfo(
                sid=_new_id("PA"),
                identity=identity,
                kind=kind,
                state=proto_models.ParticipantInfo.State.ACTIVE,
                joined_at=int(time.time()),
                joined_at_ms=int(time.time() * 1000),
                **fields,
            )
            self.participants.setdefault(room, {})[identity] = info
            self.rooms[room].num_participants = len(self.participants[room])
            return info

    # --- outbound SIP calls (CreateSIPParticipant) -----------------------------------

    # What a SIP dial ends in, as LiveKit reports it: the SIP response of a failed
    # `wait_until_answered` dial (Twirp error meta) and the disconnect reason of the SIP
    # participant leaving the room when the dial was not waited for.
    DIAL_OUTCOMES = {
        "busy": (486, "Busy Here", proto_models.DisconnectReason.USER_REJECTED),
        "no_answer": (480, "Temporarily Unavailable", proto_models.DisconnectReason.USER_UNAVAILABLE),
        "declined": (603, "Decline", proto_models.DisconnectReason.USER_REJECTED),
        "failed": (503, "Service Unavailable", proto_models.DisconnectReason.SIP_TRUNK_FAILURE),
    }

    def dial_outcome(self, outcome: str, *, times: int = 1) -> None:
        """The next `times` CreateSIPParticipant calls that wait until answered fail with
        this SIP outcome (busy, no_answer, declined, failed), as LiveKit answers them."""
        assert outcome in self.DIAL_OUTCOMES, outcome
        with self._lock:
            self._dial_outcomes.extend([outcome] * times)

    def sip_answer(self, room: str, identity: str) -> proto_models.ParticipantInfo:
        """The callee picks up: LiveKit sets the SIP participant's `sip.callStatus` to active."""
        with self._lock:
            info = self.participants[room][identity]
            info.attributes["sip.callStatus"] = "active"
            return info

    def sip_hangup(self, room: str, identity: str, outcome: str | None = None) -> proto_models.ParticipantInfo:
        """The SIP leg leaves the room: after talking (outcome None) or because the dial
        ended in `outcome`. Returns the participant as LiveKit's participant_left webhook
        carries it (disconnect reason and last attributes)."""
        with self._lock:
            info = self.participants[room].pop(identity)
            info.disconnect_reason = (
                proto_models.DisconnectReason.CLIENT_INITIATED if outcome is None else self.DIAL_OUTCOMES[outcome][2]
            )
            info.attributes["sip.callStatus"] = "hangup"
            info.state = proto_models.ParticipantInfo.State.DISCONNECTED
            return info

    def start_dispatch_job(self, dispatch_id: str, *, participant_identity: str = "agent") -> proto_agent.Job:
        """A worker accepted the dispatch: the job runs and the agent joins the room."""
        with self._lock:
            dispatch = self.dispatches[dispatch_id]
            job = proto_agent.Job(
                id=_new_id("AJ"),
                dispatch_id=dispatch.id,
                room=proto_models.Room(name=dispatch.room),
                agent_name=dispatch.agent_name,
                metadata=dispatch.metadata,
                state=proto_agent.JobState(
                    status=proto_agent.JobStatus.JS_RUNNING,
                    started_at=_now_ns(),
                    updated_at=_now_ns(),
                    participant_identity=participant_identity,
                ),
            )
            dispatch.state.jobs.append(job)
            self.add_participant(dispatch.room, participant_identity, kind=proto_models.ParticipantInfo.Kind.AGENT)
            return job

    # --- request pipeline (called from handler threads) ----------------------------

    def _take_injection(self, method: str) -> _Injected | None:
        with self._lock:
            for injected in self._injected:
                if injected.matches(method) and injected.times > 0:
                    injected.times -= 1
                    if injected.times == 0:
                        self._injected.remove(injected)
                    return injected
        return None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _handle(self, service: str, method: str, message: Message) -> Message:
        handler = getattr(self, f"_{service}_{method}")
        with self._lock:
            return handler(message)

    def _ensure_room(self, name: str, **fields) -> proto_models.Room:
        room = self.rooms.get(name)
        if room is None:
            room = proto_models.Room(
                sid=_new_id("RM"),
                name=name,
                creation_time=int(time.time()),
                creation_time_ms=int(time.time() * 1000),
                **fields,
            )
            self.rooms[name] = room
            self.participants.setdefault(name, {})
        return room

    # RoomService -----------------------------------------------------------------

    def _RoomService_CreateRoom(self, req: proto_room.CreateRoomRequest):
        if not req.name:
            raise TwirpError("invalid_argument", "room name is required")
        # LiveKit answers an existing room unchanged: creating is idempotent.
        return self._ensure_room(
            req.name,
            empty_timeout=req.empty_timeout,
            departure_timeout=req.departure_timeout,
            max_participants=req.max_participants,
            metadata=req.metadata,
        )

    def _RoomService_ListRooms(self, req: proto_room.ListRoomsRequest):
        names = set(req.names)
        rooms = [r for name, r in self.rooms.items() if not names or name in names]
        return proto_room.ListRoomsResponse(rooms=rooms)

    def _RoomService_DeleteRoom(self, req: proto_room.DeleteRoomRequest):
        if req.room not in self.rooms:
            raise TwirpError("not_found", "requested room does not exist")
        del self.rooms[req.room]
        self.participants.pop(req.room, None)
        for dispatch_id in [d.id for d in self.dispatches.values() if d.room == req.room]:
            del self.dispatches[dispatch_id]
        return proto_room.DeleteRoomResponse()

    def _RoomService_ListParticipants(self, req: proto_room.ListParticipantsRequest):
        if req.room not in self.rooms:
            raise TwirpError("not_found", "requested room does not exist")
        return proto_room.ListParticipantsResponse(participants=list(self.participants[req.room].values()))

    def _RoomService_GetParticipant(self, req: proto_room.RoomParticipantIdentity):
        info = self.participants.get(req.room, {}).get(req.identity)
        if info is None:
            raise TwirpError("not_found", "participant does not exist")
        return info

    def _RoomService_RemoveParticipant(self, req: proto_room.RoomParticipantIdentity):
        if self.participants.get(req.room, {}).pop(req.identity, None) is None:
            raise TwirpError("not_found", "participant does not exist")
        return proto_room.RemoveParticipantResponse()

    def _RoomService_MoveParticipant(self, req: proto_room.MoveParticipantRequest):
        if req.room == req.destination_room:
            raise TwirpError("invalid_argument", "destination room cannot be the same as source room")
        if self.self_hosted:
            # livekit-server's RoomManager.MoveParticipant is `return nil, errors.New("not
            # implemented")`; psrpc relays a plain Go error with code "unknown", which Twirp
            # sends as HTTP 500 (pkg/service/roommanager.go, livekit/psrpc pkg/server/rpc.go).
            raise TwirpError("unknown", "not implemented")
        participant = self.participants.get(req.room, {}).pop(req.identity, None)
        if participant is None:
            raise TwirpError("not_found", "participant does not exist")
        self._ensure_room(req.destination_room)
        self.participants.setdefault(req.destination_room, {})[req.identity] = participant
        self.rooms[req.destination_room].num_participants = len(self.participants[req.destination_room])
        return proto_room.MoveParticipantResponse()

    def _RoomService_UpdateRoomMetadata(self, req: proto_room.UpdateRoomMetadataRequest):
        room = self.rooms.get(req.room)
        if room is None:
            raise TwirpError("not_found", "requested room does not exist")
        room.metadata = req.metadata
        return room

    # AgentDispatchService ------------------------------------------------------------

    def _AgentDispatchService_CreateDispatch(self, req: proto_dispatch.CreateAgentDispatchRequest):
        if not req.room:
            raise TwirpError("invalid_argument", "room is required")
        self._ensure_room(req.room)  # a dispatch creates its room when needed
        dispatch = proto_dispatch.AgentDispatch(
            id=_new_id("AD"),
            agent_name=req.agent_name,
            room=req.room,
            metadata=req.metadata,
            state=proto_dispatch.AgentDispatchState(created_at=_now_ns()),
        )
        self.dispatches[dispatch.id] = dispatch
        return dispatch

    def _AgentDispatchService_ListDispatch(self, req: proto_dispatch.ListAgentDispatchRequest):
        items = [
            d
            for d in self.dispatches.values()
            if d.room == req.room and (not req.dispatch_id or d.id == req.dispatch_id)
        ]
        return proto_dispatch.ListAgentDispatchResponse(agent_dispatches=items)

    def _AgentDispatchService_DeleteDispatch(self, req: proto_dispatch.DeleteAgentDispatchRequest):
        dispatch = self.dispatches.get(req.dispatch_id)
        if dispatch is None or dispatch.room != req.room:
            raise TwirpError("not_found", "dispatch not found")
        del self.dispatches[req.dispatch_id]
        return dispatch

    # Egress ------------------------------------------------------------------------------

    def _Egress_StartRoomCompositeEgress(self, req: proto_egress.RoomCompositeEgressRequest):
        if req.room_name not in self.rooms:
            raise TwirpError("not_found", "requested room does not exist")
        if not req.file_outputs and not req.HasField("file"):
            raise TwirpError("invalid_argument", "no outputs")
        info = proto_egress.EgressInfo(
            egress_id=_new_id("EG"),
            room_id=self.rooms[req.room_name].sid,
            room_name=req.room_name,
            status=proto_egress.EgressStatus.EGRESS_STARTING,
            started_at=_now_ns(),
            updated_at=_now_ns(),
        )
        info.room_composite.CopyFrom(req)
        self.egresses[info.egress_id] = info
        return info

    def _Egress_StopEgress(self, req: proto_egress.StopEgressRequest):
        info = self.egresses.get(req.egress_id)
        if info is None:
            raise TwirpError("not_found", "egress does not exist")
        if info.status in (proto_egress.EgressStatus.EGRESS_STARTING, proto_egress.EgressStatus.EGRESS_ACTIVE):
            info.status = proto_egress.EgressStatus.EGRESS_ENDING
            info.updated_at = _now_ns()
        return info

    def _Egress_ListEgress(self, req: proto_egress.ListEgressRequest):
        items = [
            e
            for e in self.egresses.values()
            if (not req.room_name or e.room_name == req.room_name)
            and (not req.egress_id or e.egress_id == req.egress_id)
        ]
        return proto_egress.ListEgressResponse(items=items)

    def finish_egress(self, egress_id: str, *, size: int = 48_000, duration_s: float = 12.5, error: str = ""):
        """What Egress does when the room ends: the file is uploaded (or the egress failed).
        Returns the EgressInfo an `egress_ended` webhook carries."""
        with self._lock:
            info = self.egresses[egress_id]
            info.ended_at = _now_ns()
            info.updated_at = info.ended_at
            if error:
                info.status = proto_egress.EgressStatus.EGRESS_FAILED
                info.error = error
                return info
            info.status = proto_egress.EgressStatus.EGRESS_COMPLETE
            output = info.room_composite.file_outputs[0]
            result = info.file_results.add()
            result.filename = output.filepath
            result.location = f"s3://{output.s3.bucket}/{output.filepath}"
            result.size = size
            result.duration = int(duration_s * 1e9)
            result.started_at = info.started_at
            result.ended_at = info.ended_at
            return info

    # SIP -------------------------------------------------------------------------------

    def _SIP_CreateSIPInboundTrunk(self, req: proto_sip.CreateSIPInboundTrunkRequest):
        trunk = proto_sip.SIPInboundTrunkInfo()
        trunk.CopyFrom(req.trunk)
        return _stored(self.inbound_trunks, trunk, id_field="sip_trunk_id", prefix="ST")

    def _SIP_ListSIPInboundTrunk(self, req: proto_sip.ListSIPInboundTrunkRequest):
        items = _listed(self.inbound_trunks, req.trunk_ids, sharing=("numbers", req.numbers))
        return proto_sip.ListSIPInboundTrunkResponse(items=items)

    def _SIP_UpdateSIPInboundTrunk(self, req: proto_sip.UpdateSIPInboundTrunkRequest):
        trunk = _found(self.inbound_trunks, req.sip_trunk_id, "trunk")
        return _replace_or_update(
            trunk,
            req,
            id_field="sip_trunk_id",
            lists=("numbers", "allowed_addresses", "allowed_numbers"),
            scalars=("name", "metadata", "auth_username", "auth_password", "auth_realm"),
        )

    def _SIP_CreateSIPOutboundTrunk(self, req: proto_sip.CreateSIPOutboundTrunkRequest):
        _check_outbound_trunk(req.trunk)
        trunk = proto_sip.SIPOutboundTrunkInfo()
        trunk.CopyFrom(req.trunk)
        return _stored(self.outbound_trunks, trunk, id_field="sip_trunk_id", prefix="ST")

    def _SIP_UpdateSIPOutboundTrunk(self, req: proto_sip.UpdateSIPOutboundTrunkRequest):
        trunk = _found(self.outbound_trunks, req.sip_trunk_id, "trunk")
        if req.HasField("replace"):
            _check_outbound_trunk(req.replace)
        return _replace_or_update(
            trunk,
            req,
            id_field="sip_trunk_id",
            lists=("numbers",),
            scalars=("address", "transport", "name", "metadata", "auth_username", "auth_password"),
        )

    def _SIP_ListSIPOutboundTrunk(self, req: proto_sip.ListSIPOutboundTrunkRequest):
        return proto_sip.ListSIPOutboundTrunkResponse(items=_listed(self.outbound_trunks, req.trunk_ids))

    def _SIP_DeleteSIPTrunk(self, req: proto_sip.DeleteSIPTrunkRequest):
        trunk = self.inbound_trunks.pop(req.sip_trunk_id, None) or self.outbound_trunks.pop(req.sip_trunk_id, None)
        if trunk is None:
            raise TwirpError("not_found", "trunk not found")
        return proto_sip.SIPTrunkInfo(sip_trunk_id=req.sip_trunk_id, name=trunk.name)

    def _SIP_CreateSIPDispatchRule(self, req: proto_sip.CreateSIPDispatchRuleRequest):
        rule = proto_sip.SIPDispatchRuleInfo()
        if req.HasField("dispatch_rule"):
            rule.CopyFrom(req.dispatch_rule)
        else:  # the older flat form of the request
            rule.rule.CopyFrom(req.rule)
            rule.trunk_ids.extend(req.trunk_ids)
            rule.hide_phone_number = req.hide_phone_number
            rule.inbound_numbers.extend(req.inbound_numbers)
            rule.name = req.name
            rule.metadata = req.metadata
            rule.attributes.update(req.attributes)
            rule.room_preset = req.room_preset
            if req.HasField("room_config"):
                rule.room_config.CopyFrom(req.room_config)
        if rule.rule.WhichOneof("rule") is None:
            raise TwirpError("invalid_argument", "dispatch rule is required")
        return _stored(self.dispatch_rules, rule, id_field="sip_dispatch_rule_id", prefix="SDR")

    def _SIP_ListSIPDispatchRule(self, req: proto_sip.ListSIPDispatchRuleRequest):
        items = _listed(self.dispatch_rules, req.dispatch_rule_ids, sharing=("trunk_ids", req.trunk_ids))
        return proto_sip.ListSIPDispatchRuleResponse(items=items)

    def _SIP_UpdateSIPDispatchRule(self, req: proto_sip.UpdateSIPDispatchRuleRequest):
        rule = _found(self.dispatch_rules, req.sip_dispatch_rule_id, "dispatch rule")
        scalars = ("name", "metadata")
        _replace_or_update(rule, req, id_field="sip_dispatch_rule_id", lists=("trunk_ids",), scalars=scalars)
        if req.HasField("update"):
            if req.update.HasField("rule"):
                rule.rule.CopyFrom(req.update.rule)
            rule.attributes.update(req.update.attributes)
        return rule

    def _SIP_DeleteSIPDispatchRule(self, req: proto_sip.DeleteSIPDispatchRuleRequest):
        rule = self.dispatch_rules.pop(req.sip_dispatch_rule_id, None)
        if rule is None:
            raise TwirpError("not_found", "dispatch rule not found")
        return rule

    def _SIP_CreateSIPParticipant(self, req: proto_sip.CreateSIPParticipantRequest):
        if not req.room_name or not req.sip_call_to:
            raise TwirpError("invalid_argument", "room_name and sip_call_to are required")
        if req.sip_trunk_id and req.sip_trunk_id not in self.outbound_trunks:
            raise TwirpError("not_found", "requested sip trunk does not exist")
        if req.sip_trunk_id and req.sip_number:
            numbers = self.outbound_trunks[req.sip_trunk_id].numbers
            if numbers and "*" not in numbers and req.sip_number not in numbers:
                raise TwirpError("invalid_argument", "sip_number is not one of the trunk's numbers")
        if req.wait_until_answered and self._dial_outcomes:
            code, status, _ = self.DIAL_OUTCOMES[self._dial_outcomes.pop(0)]
            raise TwirpError(
                "unavailable", f"sip call failed: {code}", {"sip_status_code": str(code), "sip_status": status}
            )
        identity = req.participant_identity or f"sip_{req.sip_call_to}"
        status = "active" if req.wait_until_answered else "dialing"
        attributes = {**dict(req.participant_attributes), "sip.callStatus": status, "sip.phoneNumber": req.sip_call_to}
        info = self.add_participant(
            req.room_name, identity, kind=proto_models.ParticipantInfo.Kind.SIP, attributes=attributes
        )
        return proto_sip.SIPParticipantInfo(
            participant_id=info.sid, participant_identity=identity, room_name=req.room_name, sip_call_id=_new_id("SCL")
        )

    def _SIP_TransferSIPParticipant(self, req: proto_sip.TransferSIPParticipantRequest):
        participant = self.participants.get(req.room_name, {}).get(req.participant_identity)
        if participant is None:
            raise TwirpError("not_found", "participant does not exist")
        if participant.kind != proto_models.ParticipantInfo.Kind.SIP:
            raise TwirpError("failed_precondition", "participant is not a SIP participant")
        self.transfers.append(req)
        # A completed SIP REFER leaves the room: the caller now talks to the transfer target.
        del self.participants[req.room_name][req.participant_identity]
        return proto_sip.TransferSIPParticipantResponse(
            transfer_id=_new_id("STR"), status=proto_sip.SIPTransferStatus.STS_TRANSFER_SUCCESSFUL
        )


def _check_outbound_trunk(trunk: proto_sip.SIPOutboundTrunkInfo) -> None:
    """What LiveKit refuses in an outbound trunk: no address, or a URI where a host belongs."""
    if not trunk.address:
        raise TwirpError("invalid_argument", "address is required")
    if trunk.address.lower().startswith(("sip:", "sips:")) or "@" in trunk.address:
        raise TwirpError("invalid_argument", "address must be a hostname, without sip: or a user part")


def _stored(rows: dict, row, *, id_field: str, prefix: str):
    """A row a SIP Create* request made, stored under the new id LiveKit gives it (`ST_...`)."""
    row_id = _new_id(prefix)
    setattr(row, id_field, row_id)
    rows[row_id] = row
    return row


def _listed(rows: dict, ids, *, sharing: tuple | None = None) -> list:
    """What LiveKit's SIP List* requests select from stored rows: those whose id is in
    `ids` (every row when empty) and, with `sharing=(field, values)`, whose `field` shares
    one of `values` (no filter when empty)."""
    field, values = sharing or ("", ())
    return [
        row
        for row_id, row in rows.items()
        if (not ids or row_id in ids) and (not values or set(values) & set(getattr(row, field)))
    ]


def _found(rows: dict, row_id: str, what: str):
    """The stored row `row_id`, or LiveKit's not_found ("trunk not found")."""
    row = rows.get(row_id)
    if row is None:
        raise TwirpError("not_found", f"{what} not found")
    return row


def _replace_or_update(row, req, *, id_field: str, lists: tuple[str, ...] = (), scalars: tuple[str, ...] = ()):
    """What LiveKit's SIP Update* requests do to a stored row: `replace` swaps the whole
    row (its id kept); `update` changes only the fields it sets, lists by ListUpdate."""
    if req.HasField("replace"):
        row.CopyFrom(req.replace)
        setattr(row, id_field, getattr(req, id_field))
    elif req.HasField("update"):
        update = req.update
        for name in lists:
            if update.HasField(name):
                _apply_list_update(getattr(row, name), getattr(update, name))
        for name in scalars:
            if update.HasField(name):
                setattr(row, name, getattr(update, name))
    return row


def _apply_list_update(target, update) -> None:
    if update.clear:
        del target[:]
    if update.set:
        del target[:]
        target.extend(update.set)
    for item in update.add:
        if item not in target:
            target.append(item)
    for item in update.remove:
        if item in target:
            target.remove(item)


def _video(claims) -> api.VideoGrants:
    return claims.video or api.VideoGrants()


def _sip(claims) -> api.SIPGrants:
    return claims.sip or api.SIPGrants()


def _room_admin(claims, room: str) -> bool:
    video = _video(claims)
    return bool(video.room_admin) and video.room == room


# (service, method) -> (request class, grant check). Mirrors what LiveKit's server enforces.
ROUTES = {
    ("RoomService", "CreateRoom"): (proto_room.CreateRoomRequest, lambda c, m: _video(c).room_create),
    ("RoomService", "ListRooms"): (proto_room.ListRoomsRequest, lambda c, m: _video(c).room_list),
    ("RoomService", "DeleteRoom"): (proto_room.DeleteRoomRequest, lambda c, m: _video(c).room_create),
    ("RoomService", "ListParticipants"): (proto_room.ListParticipantsRequest, lambda c, m: _room_admin(c, m.room)),
    ("RoomService", "GetParticipant"): (proto_room.RoomParticipantIdentity, lambda c, m: _room_admin(c, m.room)),
    ("RoomService", "RemoveParticipant"): (proto_room.RoomParticipantIdentity, lambda c, m: _room_admin(c, m.room)),
    ("RoomService", "UpdateRoomMetadata"): (
        proto_room.UpdateRoomMetadataRequest,
        lambda c, m: _room_admin(c, m.room),
    ),
    ("RoomService", "MoveParticipant"): (
        proto_room.MoveParticipantRequest,
        lambda c, m: _room_admin(c, m.room) and _video(c).destination_room == m.destination_room,
    ),
    ("AgentDispatchService", "CreateDispatch"): (
        proto_dispatch.CreateAgentDispatchRequest,
        lambda c, m: _room_admin(c, m.room),
    ),
    ("AgentDispatchService", "ListDispatch"): (
        proto_dispatch.ListAgentDispatchRequest,
        lambda c, m: _room_admin(c, m.room),
    ),
    ("AgentDispatchService", "DeleteDispatch"): (
        proto_dispatch.DeleteAgentDispatchRequest,
        lambda c, m: _room_admin(c, m.room),
    ),
    ("Egress", "StartRoomCompositeEgress"): (
        proto_egress.RoomCompositeEgressRequest,
        lambda c, m: _video(c).room_record,
    ),
    ("Egress", "StopEgress"): (proto_egress.StopEgressRequest, lambda c, m: _video(c).room_record),
    ("Egress", "ListEgress"): (proto_egress.ListEgressRequest, lambda c, m: _video(c).room_record),
    ("SIP", "CreateSIPInboundTrunk"): (proto_sip.CreateSIPInboundTrunkRequest, lambda c, m: _sip(c).admin),
    ("SIP", "ListSIPInboundTrunk"): (proto_sip.ListSIPInboundTrunkRequest, lambda c, m: _sip(c).admin),
    ("SIP", "UpdateSIPInboundTrunk"): (proto_sip.UpdateSIPInboundTrunkRequest, lambda c, m: _sip(c).admin),
    ("SIP", "CreateSIPOutboundTrunk"): (proto_sip.CreateSIPOutboundTrunkRequest, lambda c, m: _sip(c).admin),
    ("SIP", "ListSIPOutboundTrunk"): (proto_sip.ListSIPOutboundTrunkRequest, lambda c, m: _sip(c).admin),
    ("SIP", "UpdateSIPOutboundTrunk"): (proto_sip.UpdateSIPOutboundTrunkRequest, lambda c, m: _sip(c).admin),
    ("SIP", "DeleteSIPTrunk"): (proto_sip.DeleteSIPTrunkRequest, lambda c, m: _sip(c).admin),
    ("SIP", "CreateSIPDispatchRule"): (proto_sip.CreateSIPDispatchRuleRequest, lambda c, m: _sip(c).admin),
    ("SIP", "ListSIPDispatchRule"): (proto_sip.ListSIPDispatchRuleRequest, lambda c, m: _sip(c).admin),
    ("SIP", "UpdateSIPDispatchRule"): (proto_sip.UpdateSIPDispatchRuleRequest, lambda c, m: _sip(c).admin),
    ("SIP", "DeleteSIPDispatchRule"): (proto_sip.DeleteSIPDispatchRuleRequest, lambda c, m: _sip(c).admin),
    ("SIP", "CreateSIPParticipant"): (proto_sip.CreateSIPParticipantRequest, lambda c, m: _sip(c).call),
    ("SIP", "TransferSIPParticipant"): (
        proto_sip.TransferSIPParticipantRequest,
        lambda c, m: _sip(c).call and _room_admin(c, m.room_name),
    ),
}

PREFIX = "/twirp/livekit."


class _TwirpHandler(DoubleHandler):
    backend: LiveKitServer  # bound per server in LiveKitServer.start()
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            service, method = self._route()
            request_class, allowed = ROUTES[(service, method)]
            claims = self._verify_token()
            message = self._decode(request_class, body, content_type)
            self.backend._record(
                RecordedRequest(service, method, message, claims, content_type, headers=dict(self.headers.items()))
            )
            if not allowed(claims, message):
                raise TwirpError("permission_denied", f"{method} needs a grant this token lacks")
            injected = self.backend._take_injection(method)
            if injected is not None:
                if injected.delay:
                    time.sleep(injected.delay)
                if injected.error is not None:
                    raise injected.error
            response = self.backend._handle(service, method, message)
        except TwirpError as error:
            self._send_error(error)
            return
        if content_type == JSON:
            self._send(200, JSON, json_format.MessageToJson(response).encode())
        else:
            self._send(200, PROTOBUF, response.SerializeToString())

    def _route(self) -> tuple[str, str]:
        path = self.path.split("?")[0]
        if not path.startswith(PREFIX) or path.count("/") != 3:
            raise TwirpError("bad_route", f"no handler for path {path}")
        service, method = path[len(PREFIX) :].split("/")
        if (service, method) not in ROUTES:
            raise TwirpError("bad_route", f"no handler for {service}/{method}")
        return service, method

    def _verify_token(self):
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Bearer "):
            raise TwirpError("unauthenticated", "missing bearer token")
        verifier = api.TokenVerifier(self.backend.api_key, self.backend.api_secret)
        try:
            return verifier.verify(header[len("Bearer ") :])
        except Exception as exc:
            raise TwirpError("unauthenticated", f"invalid token: {exc}") from exc

    def _decode(self, request_class, body: bytes, content_type: str) -> Message:
        try:
            if content_type == PROTOBUF:
                return request_class.FromString(body)
            if content_type == JSON:
                return json_format.Parse(body.decode() or "{}", request_class())
        except (DecodeError, json_format.ParseError, UnicodeDecodeError) as exc:
            raise TwirpError("malformed", f"could not decode the request: {exc}") from exc
        raise TwirpError("bad_route", f"unexpected Content-Type: {content_type!r}")

    def _send_error(self, error: TwirpError) -> None:
        payload = {"code": error.code, "msg": error.msg}
        if error.meta:
            payload["meta"] = error.meta
        self._send(TWIRP_STATUS.get(error.code, 500), JSON, json.dumps(payload).encode())

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def livekit_server(settings):
    """A running LiveKitServer with Django's LiveKit settings pointing at it."""
    server = LiveKitServer().start()
    settings.LIVEKIT_URL = server.url
    settings.LIVEKIT_API_KEY = server.api_key
    settings.LIVEKIT_API_SECRET = server.api_secret
    try:
        yield server
    finally:
        server.stop()
