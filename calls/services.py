"""Writes of a call's life: start (simulation, inbound), agent dispatch, answer, end, clean-up.

LiveKit is called inside the database transaction that creates the call, so a LiveKit
failure rolls the row back (no half-created call); a room that was created before a later
step failed is deleted again (compensation). Ending locks the row (select_for_update) so
two enders cannot both win: the loser gets CallAlreadyEnded (409).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, QuerySet, Subquery
from django.utils import timezone
from livekit.protocol.agent import JobStatus
from livekit.protocol.agent_dispatch import AgentDispatch

from agents.selectors import agent_version_current, agent_versions_latest_first
from analytics.rollups import call_changed as rollups_call_changed
from analytics.rollups import calls_added as rollups_calls_added
from analytics.rollups import latency_histograms
from morpheus import outbox
from morpheus.errors import Conflict, ServiceUnavailable, ValidationFailed
from morpheus.prepared import PreparedRead
from tenants.credentials import platform_key_setting, provider_credential

from . import events as call_events
from . import leases, livekit_client, recordings, rooms
from .analysis import analysis_prepare
from .cost import call_price
from .livekit_client import LiveKitUnavailable
from .models import OPEN_CALL_STATUSES, Call, CallCapacity, CallDirection, CallMode, CallStatus, EndReason
from .selectors import agent_for_simulation, turns_summary

if TYPE_CHECKING:  # typing only: agents and telephony import calls at module level
    from accounts.models import User
    from agents.models import Agent
    from telephony.models import PhoneNumber

logger = logging.getLogger(__name__)
audit = logging.getLogger("morpheus.audit")

# How call_end treats the LiveKit room.
TEARDOWN_NOW = "now"  # delete it before closing the row; LiveKit down -> 503 and nothing changes
TEARDOWN_LATER = "later"  # close the row, then delete the room in a Celery task with retries
TEARDOWN_NONE = "none"  # the room is already gone (LiveKit said so)


class CallAlreadyEnded(Conflict):
    def __init__(self, call: Call):
        super().__init__(f"Call with ID {call.pk} has already ended")
        self.call = call


class CallHasNoAgent(Conflict):
    def __init__(self, call: Call):
        super().__init__(f"Call with ID {call.pk} has no agent")


class AtCapacity(Exception):
    """Every call slot of the customer is in use: an inbound call is answered busy."""

    reason = "capacity"


@dataclass(frozen=True)
class SimulationStarted:
    call: Call
    # None for a text-only simulation (no LiveKit room to join).
    token: str | None
    token_expires_at: datetime.datetime | None

    @property
    def mode(self) -> str:
        return self.call.mode


@dataclass(frozen=True)
class AgentJoin:
    pipeline_status: str  # "connected": the agent's job runs in the room; "dispatched": on its way
    agent_id: int | None
    connected_at: datetime.datetime
    dispatch_id: str


def _discard_room(room_name: str) -> None:
    """Compensation after a failed start: best effort, LiveKit's empty timeout is the backstop."""
    try:
        livekit_client.delete_room(room_name)
    except LiveKitUnavailable:
        logger.warning("Could not delete room %s after a failed start; its empty timeout will close it", room_name)


@transaction.atomic
def _remember_dispatch(call: Call, dispatch_id: str) -> None:
    locked = Call.objects.select_for_update().get(pk=call.pk)
    locked.metadata = {**locked.metadata, "agentDispatchId": dispatch_id}
    locked.save(update_fields=["metadata", "updated_at"])
    call.metadata = locked.metadata


# --- Starting calls -------------------------------------------------------------------


def simulation_agent_resolve(*, user: User, agent_id: int | None) -> Agent:
    """The agent to simulate: the one named (any status, the caller's tenant only), or the
    tenant's most recently updated active agent. Raises a validation error naming agentId."""
    assert user.customer_id is not None, "tenant permissions admit members of a customer only"
    agent = agent_for_simulation(customer_id=user.customer_id, agent_id=agent_id)
    if agent is None:
        message = (
            f"Agent with ID {agent_id} does not exist"
            if agent_id is not None
            else "No active agent to simulate: activate an agent or pass agentId"
        )
        raise ValidationError({"agent_id": [message]})
    return agent


def call_start_simulation(*, user: User, agent: Agent) -> SimulationStarted:
    """A web call from the dashboard. With LiveKit configured: a room, the agent dispatched
    and a join token (voice, or text turns). Without it: a text-only simulation that needs
    only a language model, talked to with POST /calls/:id/messages."""
    if livekit_client.livekit_configured():
        return _start_voice_simulation(user=user, agent=agent)
    return _start_text_simulation(user=user, agent=agent)


NO_LLM_MESSAGE = "No language model is configured: set {setting}{hint}"
OPENAI_BASE_URL_HINT = " (or OPENAI_BASE_URL for an OpenAI-compatible server such as a local Ollama)"


def simulation_llm_require(*, agent: Agent) -> None:
    """A text conversation needs the agent's language model and nothing else: 503 naming
    the variable to set when there are no credentials for it."""
    vendor = agent.llm_provider.vendor
    if provider_credential(customer_id=agent.customer_id, vendor=vendor) is None and not agent.llm_provider.base_url:
        setting = platform_key_setting(vendor)
        hint = OPENAI_BASE_URL_HINT if vendor == "openai" else ""
        raise ServiceUnavailable(NO_LLM_MESSAGE.format(setting=setting, hint=hint))


def _new_simulation(*, user: User, agent: Agent, mode: str, prefix: str) -> Call:
    assert user.customer_id is not None, "tenant permissions admit members of a customer only"
    now = timezone.now()
    call = Call.objects.create(
        customer_id=user.customer_id,
        agent=agent,
        agent_version=agent_version_current(agent_id=agent.pk),
        direction=CallDirection.WEB,
        is_simulation=True,
        mode=mode,
        status=CallStatus.ACTIVE,
        started_at=now,
        answered_at=now,
        room_name=rooms.new_room_name(prefix),
        created_by=user,
    )
    rollups_calls_added([call], customer=user.customer)
    return call


@transaction.atomic
def _start_text_simulation(*, user: User, agent: Agent) -> SimulationStarted:
    simulation_llm_require(agent=agent)
    call = _new_simulation(user=user, agent=agent, mode=CallMode.TEXT, prefix=rooms.TEXT_SIMULATION_PREFIX)
    return SimulationStarted(call=call, token=None, token_expires_at=None)


@transaction.atomic
def _start_voice_simulation(*, user: User, agent: Agent) -> SimulationStarted:
    now = timezone.now()
    call = _new_simulation(user=user, agent=agent, mode=CallMode.VOICE, prefix=rooms.SIMULATION_ROOM_PREFIX)
    ttl = rooms.simulation_token_ttl()
    token = livekit_client.participant_token(
        room_name=call.room_name,
        identity=str(user.id),
        name=user.name,
        ttl=ttl,
        metadata={"callId": call.id, "role": "tester"},
    )
    livekit_client.create_room(
        call.room_name,
        empty_timeout=rooms.simulation_empty_timeout(),
        max_participants=rooms.SIMULATION_MAX_PARTICIPANTS,
        metadata=rooms.room_metadata(call),
    )
    try:
        dispatch = livekit_client.create_agent_dispatch(call.room_name, metadata=rooms.dispatch_metadata(call))
    except LiveKitUnavailable:
        _discard_room(call.room_name)
        raise
    call.metadata = {"agentDispatchId": dispatch.id}
    call.save(update_fields=["metadata", "updated_at"])
    recordings.recording_schedule(call=call)  # recordings: egress after commit, if enabled
    # integrations: webhook events, in this transaction (a simulation is answered at once)
    call_events.emit_call_event(call, "call.started")
    call_events.emit_call_event(call, "call.answered")
    return SimulationStarted(call=call, token=token, token_expires_at=now + ttl)


class TooManyRinging(Exception):
    """The customer already has VOICE_INBOUND_MAX_RINGING inbound calls ringing."""


def call_start_inbound(
    *, phone_number: PhoneNumber, carrier: str, carrier_call_id: str, from_number: str, to_number: str
) -> tuple[Call, bool]:
    """An inbound call on `phone_number`: the call row (committed first), then its room, then
    the agent dispatch in a Celery task. A carrier retry of the same call id returns the
    existing call (created=False) without touching LiveKit again; so does a repeat of the
    same From/To within VOICE_INBOUND_DEDUPE_SECONDS when there is no call id. Raises
    TooManyRinging past the customer's cap of ringing inbound calls, LiveKitUnavailable
    when the room cannot be made (the call is then failed, its slot given back)."""
    if carrier_call_id:
        existing = Call.objects.filter(carrier=carrier, carrier_call_id=carrier_call_id).first()
        if existing is not None:
            return existing, False
    livekit_client.require_configured()  # no call row for a room that cannot be made
    try:
        call, created = _create_inbound(
            phone_number=phone_number,
            carrier=carrier,
            carrier_call_id=carrier_call_id,
            from_number=from_number,
            to_number=to_number,
        )
    except IntegrityError:
        # A concurrent retry inserted the same carrier call id first (the unique constraint).
        if not carrier_call_id:
            raise
        return Call.objects.get(carrier=carrier, carrier_call_id=carrier_call_id), False
    if created:
        _open_inbound_room(call)
    return call, created


def _open_inbound_room(call: Call) -> None:
    """The room of a committed inbound call, then what follows it. Outside any transaction:
    a LiveKit round trip (up to LIVEKIT_TIMEOUT_SECONDS) must not hold the customer's row
    lock, which every other inbound call of the customer waits for, nor a connection in a
    transaction."""
    try:
        livekit_client.create_room(
            call.room_name,
            empty_timeout=rooms.inbound_empty_timeout(),
            max_participants=rooms.INBOUND_MAX_PARTICIPANTS,
            metadata=rooms.room_metadata(call),
        )
    except Exception as exc:
        # Nothing rings without a room: the call fails with the cause, its slot is given back
        # (call_end), and the carrier gets the same 503 as before the row existed.
        with contextlib.suppress(CallAlreadyEnded):
            call_end(
                call=call,
                reason=EndReason.ERROR,
                status=CallStatus.FAILED,
                error_message=f"LiveKit room creation failed: {exc}",
                teardown=TEARDOWN_NONE,
            )
        raise
    with transaction.atomic():
        outbox.enqueue("calls.tasks.dispatch_agent", call.id)
        recordings.recording_schedule(call=call)  # recordings: egress after commit, if enabled
        call_events.emit_call_event(call, "call.started")  # integrations: webhook event


def _locked_customer_agent_version(customer_id: uuid.UUID, agent_id: int) -> QuerySet[Any]:
    """Locks the customer's row (only the key: the lock is the point) and reads the agent's
    current version (agent_version_current) in the same round trip."""
    from tenants.models import Customer

    current_version = agent_versions_latest_first(agent_id=agent_id).values("pk")[:1]
    locked = Customer.objects.select_for_update(of=("self",)).filter(pk=customer_id)
    return locked.values_list(Subquery(current_version))


# Every inbound call starts with it: compiled once per process (morpheus/prepared.py). Its
# first use compiles it inside the caller's transaction, as select_for_update requires.
_LOCKED_CUSTOMER_AGENT_VERSION = PreparedRead(
    _locked_customer_agent_version, customer_id=Call._meta.get_field("customer"), agent_id=Call._meta.get_field("agent")
)


@transaction.atomic
def _create_inbound(
    *, phone_number: PhoneNumber, carrier: str, carrier_call_id: str, from_number: str, to_number: str
) -> tuple[Call, bool]:
    # One inbound start per customer at a time, so the dedupe and the cap are exact
    # under concurrent posts (the lock is the customer row, held for this short insert).
    assert phone_number.agent_id is not None, "route_inbound answers only numbers with an agent"
    ((version_id,),) = _LOCKED_CUSTOMER_AGENT_VERSION.rows(
        customer_id=phone_number.customer_id, agent_id=phone_number.agent_id
    )
    ringing = Call.objects.filter(
        customer_id=phone_number.customer_id, direction=CallDirection.INBOUND, status=CallStatus.RINGING
    )
    # The cap and the dedupe in one read: how many calls ring, and the latest that repeats
    # this one (the highest id: under the lock the customer's calls are inserted in turn).
    figures: dict[str, Any] = {"ringing": Count("pk")}
    if not carrier_call_id:
        since = timezone.now() - datetime.timedelta(seconds=settings.VOICE_INBOUND_DEDUPE_SECONDS)
        repeats = Q(carrier=carrier, from_number=from_number, to_number=to_number, created_at__gte=since)
        figures["repeat"] = Max("pk", filter=repeats)
    seen = ringing.aggregate(**figures)
    if seen.get("repeat") is not None:
        return Call.objects.get(pk=seen["repeat"]), False
    if seen["ringing"] >= settings.VOICE_INBOUND_MAX_RINGING:
        raise TooManyRinging()
    call = Call.objects.create(
        customer_id=phone_number.customer_id,
        agent_id=phone_number.agent_id,
        agent_version_id=version_id,
        phone_number=phone_number,
        direction=CallDirection.INBOUND,
        from_number=from_number,
        to_number=to_number,
        carrier=carrier,
        carrier_call_id=carrier_call_id,
        status=CallStatus.RINGING,
        started_at=timezone.now(),
        room_name=rooms.new_room_name(rooms.CALL_ROOM_PREFIX),
    )
    # A capacity slot before answering (calls/leases.py); none left: the caller hears busy.
    # The analytics rebuild lock that counting the call needs comes with the capacity read.
    capacity = leases.capacity_for(call.customer_id, hold_rebuild_lock=True)
    if not leases.acquire(customer_id=call.customer_id, call_id=call.id, direction=leases.INBOUND, capacity=capacity):
        raise AtCapacity()
    try:
        rollups_calls_added([call], customer=phone_number.customer, rebuild_locked=True)
    except BaseException:
        leases.release(customer_id=call.customer_id, call_id=call.id)
        raise
    return call, True


# --- The agent ------------------------------------------------------------------------


def call_dispatch_agent(*, call: Call) -> AgentDispatch:
    """Makes sure VOICE_AGENT_NAME is dispatched to the call's room, once: a dispatch that
    already exists (a retried task, a second join-agent) is reused, so the room never gets
    two agents. Returns the livekit AgentDispatch."""
    if not call.is_open:
        raise CallAlreadyEnded(call)
    if call.agent_id is None:
        raise CallHasNoAgent(call)
    existing = [
        d for d in livekit_client.list_agent_dispatches(call.room_name) if d.agent_name == settings.VOICE_AGENT_NAME
    ]
    dispatch: AgentDispatch | None = existing[0] if existing else None
    if dispatch is None:
        dispatch = livekit_client.create_agent_dispatch(call.room_name, metadata=rooms.dispatch_metadata(call))
    if call.metadata.get("agentDispatchId") != dispatch.id:
        _remember_dispatch(call, dispatch.id)
    return dispatch


def call_join_agent(*, call: Call) -> AgentJoin:
    """Dispatches the call's agent (or finds its dispatch) and says how far it got."""
    dispatch = call_dispatch_agent(call=call)
    running = [job for job in dispatch.state.jobs if job.state.status == JobStatus.JS_RUNNING]
    if running:
        started_ns = running[0].state.started_at
        connected_at = (
            datetime.datetime.fromtimestamp(started_ns / 1e9, tz=datetime.UTC) if started_ns else timezone.now()
        )
        return AgentJoin("connected", call.agent_id, connected_at, dispatch.id)
    return AgentJoin("dispatched", call.agent_id, timezone.now(), dispatch.id)


# --- Answer and end -------------------------------------------------------------------


@transaction.atomic
def call_mark_answered(*, call: Call, now: datetime.datetime | None = None) -> Call:
    """The caller and the agent are connected: queued/ringing -> active, answered now unless
    already answered. The one path for it (carrier webhooks, LiveKit room events, the voice
    worker when its agent joins). Idempotent; no-op once ended."""
    locked = Call.objects.select_for_update().get(pk=call.pk)
    if not locked.is_open:
        return locked
    fields = []
    if locked.answered_at is None:
        locked.answered_at = now or timezone.now()
        fields.append("answered_at")
    if locked.status in (CallStatus.QUEUED, CallStatus.RINGING):
        locked.status = CallStatus.ACTIVE
        fields.append("status")
    if fields:
        locked.save(update_fields=[*fields, "updated_at"])
    if "answered_at" in fields:
        call_events.emit_call_event(locked, "call.answered")  # integrations: webhook event
    return locked


@transaction.atomic
def call_end(
    *,
    call: Call,
    reason: str,
    status: str | None = None,
    error_message: str = "",
    teardown: str = TEARDOWN_LATER,
    carrier_duration: int | None = None,
    metadata: dict[str, Any] | None = None,
    now: datetime.datetime | None = None,
    sip_outcome: str = "",
) -> Call:
    """Ends an open call: what the API, the admin, the carrier callbacks, the stale sweep
    and the voice worker all use.

    status: a final status; default completed if the call was answered, else canceled.
    teardown: TEARDOWN_NOW deletes the room first (LiveKit down -> LiveKitUnavailable,
    nothing changed); TEARDOWN_LATER enqueues teardown_call_room; TEARDOWN_NONE skips it.
    carrier_duration: the carrier's billed seconds, trusted for an unanswered-looking call.
    metadata: merged into the call's metadata (e.g. the carrier's own status).
    sip_outcome: the outbound dial's outcome as LiveKit reported it (busy, no_answer,
    failed). It also corrects an unanswered call the voice worker already closed as a plain
    "no answer" moments before (the webhook lost the race: calls.outbound.sip_outcome_refines).
    Raises CallAlreadyEnded (409) when the call is not open: callers that only need the call
    closed catch it. Returns the updated call.
    """
    if status is not None and status in OPEN_CALL_STATUSES:
        raise ValueError(f"{status} is not a final status")
    locked = Call.objects.select_for_update().get(pk=call.pk)
    if not locked.is_open:
        from .outbound import sip_outcome_refine, sip_outcome_refines

        if sip_outcome and status and sip_outcome_refines(locked, now=now or timezone.now()):
            return sip_outcome_refine(
                locked, status=status, reason=reason, sip_outcome=sip_outcome, error_message=error_message
            )
        raise CallAlreadyEnded(locked)
    if not locked.has_room:
        teardown = TEARDOWN_NONE  # a text-only simulation never had a LiveKit room
    if teardown == TEARDOWN_NOW:
        livekit_client.delete_room(locked.room_name)

    ended_at = now or timezone.now()
    if locked.answered_at is None and (carrier_duration or status == CallStatus.COMPLETED):
        # The carrier knows it was answered (and for how long) though nobody told us.
        locked.answered_at = ended_at - datetime.timedelta(seconds=carrier_duration or 0)
    locked.ended_at = ended_at
    locked.status = status or (CallStatus.COMPLETED if locked.answered_at else CallStatus.CANCELED)
    locked.end_reason = reason
    if error_message:
        locked.error_message = error_message[:2000]
    if metadata:
        locked.metadata = {**locked.metadata, **metadata}
    if sip_outcome:
        locked.metadata = {**locked.metadata, "sipOutcome": sip_outcome}
    if locked.answered_at is not None:
        locked.duration = max(0, int((ended_at - locked.answered_at).total_seconds()))
    else:
        locked.duration = 0
    locked.save(
        update_fields=[
            "answered_at",
            "ended_at",
            "status",
            "end_reason",
            "error_message",
            "duration",
            "metadata",
            "updated_at",
        ]
    )
    rollups_call_changed(locked)
    call_id = locked.pk
    # The call's capacity slot frees now; if Redis cannot be told, the lease expires
    # without its heartbeat and the sweeper drops it (calls/leases.py).
    leases.release_quietly(customer_id=locked.customer_id, call_id=call_id)
    if locked.direction == CallDirection.OUTBOUND:
        from .outbound import notify_call_ended

        notify_call_ended(locked)
    if teardown == TEARDOWN_LATER:
        outbox.enqueue("calls.tasks.teardown_call_room", call_id)
    outbox.enqueue("calls.tasks.finalize_call", call_id)
    call_events.emit_call_ended(locked)  # integrations: call.ended (+ .transferred / .failed)
    logger.info("Call %s ended: %s (%s)", call_id, locked.status, reason)
    return locked


def call_teardown_room(*, call: Call) -> bool:
    """Deletes the call's room; a room already gone is fine. Raises LiveKitUnavailable."""
    return livekit_client.delete_room(call.room_name)


def call_finalize(*, call: Call) -> Call:
    """Post-call: usage and latency figures from the transcript into the call's metadata,
    its cost (calls/cost.py), then its analysis (calls/analysis.py) if its agent has a plan."""
    turns = list(call.turns.all())
    summary = turns_summary(turns)
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        locked.metadata = {**locked.metadata, "summary": summary}
        priced = call_price(locked, turns)
        locked.cost = priced["total"]
        locked.cost_breakdown = {**priced, "total": float(priced["total"])}
        locked.save(update_fields=["metadata", "cost", "cost_breakdown", "updated_at"])
        rollups_call_changed(locked, latency=latency_histograms(turns))
    return analysis_prepare(call=locked)


def call_fail_unless_ended(
    *, call: Call, reason: str, error_message: str, now: datetime.datetime | None = None
) -> Call | None:
    """Ends the call as failed (status `failed`, `error_message` kept, its room deleted by a
    task); None when it had already ended. For the platform's own failures — no trunk or
    agent left to dial, a dispatch or dial given up, a call nobody reported the end of —
    where someone else ending the call first is an answer, not an error."""
    try:
        return call_end(
            call=call,
            reason=reason,
            status=CallStatus.FAILED,
            error_message=error_message,
            teardown=TEARDOWN_LATER,
            now=now,
        )
    except CallAlreadyEnded:
        return None


def calls_end_stale(now: datetime.datetime | None = None) -> int:
    """Ends calls still ringing/active past their agent's max duration plus a margin
    (a worker died, a carrier callback was lost). Returns how many were ended."""
    now = now or timezone.now()
    margin = rooms.stale_margin()
    candidates = (
        Call.objects.filter(status__in=OPEN_CALL_STATUSES, started_at__lt=now - margin)
        .select_related("agent")
        .order_by("started_at")
    )
    ended = 0
    for call in list(candidates):
        max_duration = call.agent.max_duration_seconds if call.agent else rooms.DEFAULT_MAX_DURATION_SECONDS
        if call.started_at + datetime.timedelta(seconds=max_duration) + margin >= now:
            continue
        # Nobody reported the end (a worker crashed, a callback was lost): that is a
        # failure of the platform, not a completed conversation.
        stale = "No end of call was reported before the call's maximum duration"
        if call_fail_unless_ended(call=call, reason=EndReason.STALE, error_message=stale, now=now) is not None:
            ended += 1
    if ended:
        logger.warning("Ended %s stale call(s)", ended)
    return ended


# --- LiveKit room events ------------------------------------------------------------------


def call_apply_room_event(
    *, event: str, room_name: str, participant_kind: int | None = None, participant: Any = None
) -> Call | None:
    """What LiveKit's webhooks tell us about a phone call's room. The caller's SIP leg
    joining means answered; leaving, or the room finishing, means the call is over.
    Simulations are left alone: their tester may carry on in text without the room.
    Returns the call when the event changed or concerned one, None otherwise."""
    from livekit.protocol.models import ParticipantInfo

    call = Call.objects.filter(room_name=room_name, is_simulation=False).first()
    if call is None:
        return None
    if call.direction == CallDirection.OUTBOUND:
        from .outbound import outbound_apply_room_event

        # Also for an ended call: a SIP outcome may still correct the worker's no-answer.
        return outbound_apply_room_event(call=call, event=event, participant=participant)
    if not call.is_open:
        return None
    is_sip = participant_kind == ParticipantInfo.Kind.SIP
    if event == "participant_joined" and is_sip:
        return call_mark_answered(call=call)
    ending = None
    if event == "participant_left" and is_sip:
        ending = (EndReason.CALLER_HUNG_UP, TEARDOWN_LATER)
    elif event == "room_finished":
        reason = EndReason.CALLER_HUNG_UP if call.answered_at else EndReason.NO_ANSWER
        ending = (reason, TEARDOWN_NONE)
    if ending is None:
        return None
    reason, teardown = ending
    status = None if call.answered_at or reason != EndReason.NO_ANSWER else CallStatus.NO_ANSWER
    try:
        return call_end(call=call, reason=reason, status=status, teardown=teardown)
    except CallAlreadyEnded:
        return None


# --- Capacity (a platform admin's per-customer limits) -------------------------------------

CAPACITY_FIELDS = ("concurrency_limit", "reserved_inbound_concurrency")


@transaction.atomic
def call_capacity_update(
    *, customer_id: Any, changes: dict[str, int | None], actor: User | None = None
) -> leases.Capacity:
    """Sets the customer's `concurrency_limit` / `reserved_inbound_concurrency` (None: back
    to the platform default). The reserved slots may not exceed the limit, each counted
    with its default when unset: ValidationFailed, nothing changed. Audited."""
    unknown = set(changes) - set(CAPACITY_FIELDS)
    if unknown:
        raise ValueError(f"not capacity fields: {sorted(unknown)}")
    row, _ = CallCapacity.objects.select_for_update().get_or_create(customer_id=customer_id)
    before = {field: getattr(row, field) for field in CAPACITY_FIELDS}
    for field, value in changes.items():
        setattr(row, field, value)
    limit = row.concurrency_limit if row.concurrency_limit is not None else settings.CALL_CONCURRENCY_LIMIT
    reserved = (
        row.reserved_inbound_concurrency
        if row.reserved_inbound_concurrency is not None
        else settings.CALL_RESERVED_INBOUND_CONCURRENCY
    )
    if reserved > limit:
        default = "" if row.reserved_inbound_concurrency is not None else ", the platform default"
        raise ValidationFailed(
            {"reserved_inbound_concurrency": [f"Must not exceed concurrencyLimit ({limit}); it is {reserved}{default}"]}
        )
    after = {field: getattr(row, field) for field in CAPACITY_FIELDS}
    if after != before:
        row.save(update_fields=list(CAPACITY_FIELDS))
        audit.info(
            "call capacity changed",
            extra={
                "customer": str(customer_id),
                "by": str(actor.pk) if actor is not None else None,
                "before": before,
                "after": after,
            },
        )
    return leases.capacity_for(customer_id)
