"""Outbound calls: validate and queue, dial through LiveKit SIP, and record how it ended.

A call placed by the API or the campaign dialer is created `queued` and handed to the
`dial_outbound_call` task (outbox). The task takes a capacity lease (calls/leases.py;
none free: it waits and tries again), claims the call (queued -> ringing, row-locked so
a redelivered task cannot dial twice), creates the room, dispatches the agent (call id
and variables in its metadata) and asks LiveKit to dial (CreateSIPParticipant, not
waiting for the answer so no worker blocks while a phone rings). How it ends comes
back from LiveKit: the SIP participant's `sip.callStatus` attribute turning `active`
(answered; the voice worker and the webhook both report it) and the participant_left
webhook's disconnect reason (busy, no answer, trunk failure); a SIP response to the
dial request itself is mapped the same way.
"""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from livekit import api
from livekit.protocol.models import DisconnectReason, ParticipantInfo

from agents.models import Agent, AgentStatus
from agents.variables import PLACEHOLDER
from analytics.rollups import call_changed as rollups_call_changed
from analytics.rollups import calls_added as rollups_calls_added
from morpheus import outbox
from morpheus.e164 import InvalidNumber, parse_e164
from morpheus.errors import ValidationFailed

from . import leases, livekit_client, rooms
from .models import AnsweredBy, Call, CallDirection, CallStatus, EndReason

logger = logging.getLogger(__name__)

# The SIP participant's identity in the room: the voice worker waits for it.
CALLEE_IDENTITY = "callee"
CALL_ID_ATTRIBUTE = "morpheus.callId"
SIP_CALL_STATUS = "sip.callStatus"
VARIABLES_MAX = 50
VARIABLE_VALUE_MAX = 1000
SCHEDULE_MAX_DAYS = 30
EMERGENCY_MAX_DIGITS = 6
OUTBOUND_MAX_PARTICIPANTS = 4
# A claimed dial that has not reached LiveKit after this long was lost with its worker.
RECLAIM_AFTER_SECONDS = 60
# A queued call nobody tried to dial for this long is dialed again (calls_redial_queued).
REDIAL_AFTER_SECONDS = 30


class DialOutcome:
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"


# The end of a call that never connected: (status, end reason) per outcome.
OUTCOME_ENDING = {
    DialOutcome.BUSY: (CallStatus.BUSY, EndReason.BUSY),
    DialOutcome.NO_ANSWER: (CallStatus.NO_ANSWER, EndReason.NO_ANSWER),
    DialOutcome.FAILED: (CallStatus.FAILED, EndReason.FAILED),
}


def outcome_for_sip_status(code: int | None) -> str:
    """A final SIP response to our INVITE, as the outcome of the dial."""
    if code in (486, 600, 603):  # Busy Here, Busy Everywhere, Decline
        return DialOutcome.BUSY
    if code in (408, 480, 487):  # Request Timeout, Temporarily Unavailable, Request Terminated (ring timeout)
        return DialOutcome.NO_ANSWER
    return DialOutcome.FAILED


def outcome_for_disconnect(reason: int) -> str | None:
    """LiveKit's disconnect reason of a SIP participant that left before answering."""
    return {
        DisconnectReason.USER_REJECTED: DialOutcome.BUSY,
        DisconnectReason.USER_UNAVAILABLE: DialOutcome.NO_ANSWER,
        DisconnectReason.SIP_TRUNK_FAILURE: DialOutcome.FAILED,
        DisconnectReason.CONNECTION_TIMEOUT: DialOutcome.NO_ANSWER,
        DisconnectReason.MEDIA_FAILURE: DialOutcome.FAILED,
    }.get(reason)


# --- Validation -----------------------------------------------------------------------


def clean_destination(value) -> str:
    """E.164 of a number we may dial: possible, not premium-rate, not an emergency number.
    Raises InvalidNumber with a message for the person who typed it."""
    parsed = parse_e164(value)
    number = phonenumbers.parse(parsed.e164, None)
    national = str(number.national_number)
    # Emergency numbers are short codes (911, 112, 999, 000): a full-length number is none.
    if len(national) <= EMERGENCY_MAX_DIGITS:
        for region in parsed.regions or (parsed.region,):
            if region and phonenumbers.is_emergency_number(national, region):
                raise InvalidNumber("Emergency numbers cannot be called")
    if phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.PREMIUM_RATE,
        phonenumbers.PhoneNumberType.SHARED_COST,
    ):
        raise InvalidNumber("Premium-rate numbers cannot be called")
    return parsed.e164


def placeholders(*texts: str) -> list[str]:
    """The `{{name}}` variables a prompt and first message use, in first-use order."""
    names: dict[str, None] = {}
    for text in texts:
        for match in PLACEHOLDER.finditer(text or ""):
            names.setdefault(match.group(1), None)
    return list(names)


def clean_variables(errors: dict, agent: Agent | None, variables, *, field: str = "variables") -> dict:
    if variables in (None, ""):
        variables = {}
    if not isinstance(variables, dict):
        errors[field] = ["Must be an object of name: value"]
        return {}
    if len(variables) > VARIABLES_MAX:
        errors[field] = [f"At most {VARIABLES_MAX} variables"]
        return {}
    cleaned = {}
    for name, value in variables.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(name)):
            errors[f"{field}.{name}"] = ["Variable names are letters, digits and underscores"]
        elif not isinstance(value, str | int | float | bool) or len(str(value)) > VARIABLE_VALUE_MAX:
            errors[f"{field}.{name}"] = [f"Must be text of at most {VARIABLE_VALUE_MAX} characters"]
        else:
            cleaned[name] = str(value)
    if agent is not None:
        for name in placeholders(agent.system_prompt, agent.first_message):
            if name not in cleaned:
                errors[f"{field}.{name}"] = [f"Missing variable '{name}' used by the agent's prompt or first message"]
    return cleaned


def outbound_agent(errors: dict, customer_id, agent_id, *, field: str = "agent_id") -> Agent | None:
    agent = Agent.objects.filter(customer_id=customer_id, pk=agent_id).first() if agent_id else None
    if agent is None:
        errors[field] = [f"Agent with ID {agent_id} does not exist"]
    elif agent.status != AgentStatus.ACTIVE:
        errors[field] = [f"Agent with ID {agent_id} is not active"]
    return agent


def outbound_from_number(errors: dict, customer_id, number_id, *, field: str = "from_number_id"):
    """The tenant's number calls go out from, and the trunk they go through."""
    from telephony.models import PhoneNumber
    from telephony.trunks import trunk_for_number

    number = (
        PhoneNumber.objects.select_related("sip_trunk").filter(customer_id=customer_id, pk=number_id).first()
        if number_id
        else None
    )
    if number is None:
        errors[field] = [f"Phone number with ID {number_id} does not exist"]
        return None, None
    trunk = trunk_for_number(number)
    if trunk is None or not trunk.livekit_trunk_id:
        errors[field] = [f"Phone number {number.phone_number} is not on an outbound SIP trunk"]
        return number, None
    return number, trunk


def capacity_problem(customer_id) -> str | None:
    capacity = leases.capacity_for(customer_id)
    if capacity.outbound_limit <= 0:
        return (
            f"Your organization has no capacity for outbound calls (concurrencyLimit {capacity.limit}, "
            f"reservedInboundConcurrency {capacity.reserved_inbound})"
        )
    return None


# --- Creating -------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboundRequest:
    agent_id: int
    to: str
    from_number_id: int
    variables: dict | None = None
    scheduled_at: datetime.datetime | None = None


@transaction.atomic
def call_create_outbound(*, customer_id, request: OutboundRequest, actor=None, extra_metadata=None) -> Call:
    """Validates everything (ValidationFailed naming each bad field; nothing is created),
    creates the queued call and enqueues its dial for `scheduled_at` (or now)."""
    errors: dict[str, list[str]] = {}
    agent = outbound_agent(errors, customer_id, request.agent_id)
    try:
        to = clean_destination(request.to)
    except InvalidNumber as exc:
        errors["to"] = [str(exc)]
        to = ""
    number, _trunk = outbound_from_number(errors, customer_id, request.from_number_id)
    variables = clean_variables(errors, agent if agent and "agent_id" not in errors else None, request.variables)
    now = timezone.now()
    scheduled_at = request.scheduled_at
    if scheduled_at is not None and scheduled_at > now + datetime.timedelta(days=SCHEDULE_MAX_DAYS):
        errors["scheduled_at"] = [f"Must be within {SCHEDULE_MAX_DAYS} days"]
    if scheduled_at is not None and scheduled_at < now:
        scheduled_at = None
    if not errors and (problem := capacity_problem(customer_id)):
        errors["from_number_id"] = [problem]
    if errors:
        raise ValidationFailed(errors)
    return _queue_call(
        customer_id=customer_id,
        agent=agent,
        number=number,
        to=to,
        variables=variables,
        scheduled_at=scheduled_at,
        actor=actor,
        extra_metadata=extra_metadata,
    )


def _queue_call(
    *, customer_id, agent, number, to, variables, scheduled_at, actor=None, extra_metadata=None, count=True
) -> Call:
    """The queued call row and its dial task (the caller holds the transaction). count=False:
    the caller counts it in the analytics rollups itself (rollups.calls_added, in batches)."""
    now = timezone.now()
    metadata = {"variables": variables, **(extra_metadata or {})}
    if scheduled_at:
        metadata["scheduledAt"] = scheduled_at.isoformat()
    call = Call.objects.create(
        customer_id=customer_id,
        agent=agent,
        phone_number=number,
        direction=CallDirection.OUTBOUND,
        from_number=number.phone_number,
        to_number=to,
        carrier="sip",
        status=CallStatus.QUEUED,
        started_at=scheduled_at or now,
        room_name=rooms.new_room_name(rooms.CALL_ROOM_PREFIX),
        metadata=metadata,
        created_by=actor,
    )
    if count:
        rollups_calls_added([call])  # analytics: rollups in this transaction
    countdown = (scheduled_at - now).total_seconds() if scheduled_at else None
    outbox.enqueue("calls.tasks.dial_outbound_call", call.id, countdown=countdown)
    return call


# --- Dialing (the dial_outbound_call task) ----------------------------------------------


class DialResult:
    SKIPPED = "skipped"  # not queued any more (dialed, canceled): a duplicate delivery
    NOT_DUE = "not_due"  # scheduled for later (an eta not kept): calls_redial_queued dials it when due
    WAITING = "waiting"  # no capacity slot yet: try again later
    DIALING = "dialing"  # LiveKit is dialing; the outcome arrives by webhook
    ENDED = "ended"  # the dial failed for good and the call is closed


@transaction.atomic
def _claim(call_id: int, claimer: str) -> Call | None:
    """queued -> ringing, once: the row lock makes a second delivery see `ringing`.
    `claimer` (the Celery task id) may carry on its own claim: its retries and a
    redelivery after its worker died keep the id."""
    call = Call.objects.select_for_update().filter(pk=call_id).first()
    if call is None:
        return None
    now = timezone.now()
    if call.status == CallStatus.RINGING and call.metadata.get("dial") == "claimed":
        # A task redelivered after a crash mid-dial may carry on (call_dial asks LiveKit
        # whether the SIP leg exists first); a duplicate running alongside the first may not.
        claimed_at = datetime.datetime.fromisoformat(call.metadata.get("claimedAt", now.isoformat()))
        mine = claimer and call.metadata.get("claimedBy") == claimer
        if not mine and now - claimed_at < datetime.timedelta(seconds=RECLAIM_AFTER_SECONDS):
            return None
    elif call.status != CallStatus.QUEUED:
        return None
    call.status = CallStatus.RINGING
    call.started_at = now
    call.metadata = {**call.metadata, "dial": "claimed", "claimedAt": now.isoformat(), "claimedBy": claimer}
    call.save(update_fields=["status", "started_at", "metadata", "updated_at"])
    rollups_call_changed(call)  # analytics: the call moves to the bucket it is dialed in
    from .events import emit_call_event

    emit_call_event(call, "call.started")  # integrations: the outbound call starts ringing
    return call


@transaction.atomic
def _remember(call: Call, **values) -> None:
    locked = Call.objects.select_for_update().get(pk=call.pk)
    locked.metadata = {**locked.metadata, **values}
    locked.save(update_fields=["metadata", "updated_at"])
    call.metadata = locked.metadata


def call_dial(*, call_id: int, claimer: str = "") -> str:
    """One run of the dial task. Raises LiveKitUnavailable / LeaseStoreUnavailable for the
    task to retry; every other failure ends the call (which releases its lease)."""
    from telephony.trunks import trunk_for_number

    from .services import call_fail_unless_ended

    call = Call.objects.select_related("agent", "phone_number__sip_trunk").filter(pk=call_id).first()
    if call is None or not call.is_open or call.metadata.get("dial") == "sent":
        return DialResult.SKIPPED
    if call.status == CallStatus.QUEUED and call.started_at > timezone.now():
        return DialResult.NOT_DUE
    if not leases.acquire(customer_id=call.customer_id, call_id=call.id, direction=leases.OUTBOUND):
        # When it last tried: calls_redial_queued tries again if no Celery retry does.
        _remember(call, dialWaitingAt=timezone.now().isoformat())
        return DialResult.WAITING
    claimed = _claim(call.id, claimer)
    if claimed is None:
        current = Call.objects.filter(pk=call.id).first()
        if current is None or not current.is_open:
            leases.release(customer_id=call.customer_id, call_id=call.id)
        return DialResult.SKIPPED
    call = Call.objects.select_related("agent", "phone_number__sip_trunk").get(pk=call.id)
    trunk = trunk_for_number(call.phone_number) if call.phone_number else None
    agent = call.agent
    if trunk is None or not trunk.livekit_trunk_id or agent is None:
        gone = "The call has no agent or no outbound SIP trunk any more"
        call_fail_unless_ended(call=call, reason=EndReason.FAILED, error_message=gone)
        return DialResult.ENDED

    ring_seconds = settings.OUTBOUND_RINGING_TIMEOUT_SECONDS
    livekit_client.create_room(
        call.room_name,
        empty_timeout=ring_seconds + 30,
        max_participants=OUTBOUND_MAX_PARTICIPANTS,
        metadata=rooms.room_metadata(call),
    )
    from .services import call_dispatch_agent

    call_dispatch_agent(call=call)
    # A redelivered task must not ring the phone twice: the SIP leg may already exist.
    if any(p.identity == CALLEE_IDENTITY for p in livekit_client.list_participants(call.room_name)):
        _remember(call, dial="sent")
        return DialResult.DIALING
    request = api.CreateSIPParticipantRequest(
        sip_trunk_id=trunk.livekit_trunk_id,
        sip_call_to=call.to_number,
        sip_number=call.from_number,
        room_name=call.room_name,
        participant_identity=CALLEE_IDENTITY,
        participant_name=call.to_number,
        participant_attributes={CALL_ID_ATTRIBUTE: str(call.id)},
        ringing_timeout=datetime.timedelta(seconds=ring_seconds),
        max_call_duration=datetime.timedelta(seconds=agent.max_duration_seconds),
        wait_until_answered=False,
    )
    try:
        info = livekit_client.create_sip_participant(request)
    except livekit_client.SipCallFailed as exc:
        call_apply_dial_outcome(call=call, outcome=outcome_for_sip_status(exc.status_code), detail=str(exc))
        return DialResult.ENDED
    except livekit_client.LiveKitRefused as exc:
        call_apply_dial_outcome(call=call, outcome=DialOutcome.FAILED, detail=str(exc))
        return DialResult.ENDED
    _remember(call, dial="sent", sipCallId=info.sip_call_id)
    _schedule_recording(call)
    return DialResult.DIALING


@transaction.atomic
def _schedule_recording(call: Call) -> None:
    """recordings: the egress starts after commit, once the room and the SIP leg exist."""
    from . import recordings

    recordings.recording_schedule(call=call)


def calls_redial_queued(*, now: datetime.datetime | None = None, limit: int = 500) -> int:
    """Beat (calls.tasks.redial_queued_calls): enqueues the dial again of each outbound call
    still queued past its time and untried for REDIAL_AFTER_SECONDS: a capacity wait no
    Celery retry carries on (eager Celery has no retries; a broker message or worker lost),
    or a scheduled call whose eta was not kept. A dial task that is still retrying stamps
    `dialWaitingAt` every QUEUE_RETRY_SECONDS, so it is left alone. Returns how many."""
    now = now or timezone.now()
    stale = now - datetime.timedelta(seconds=REDIAL_AFTER_SECONDS)
    candidates = (
        Call.objects.filter(
            direction=CallDirection.OUTBOUND,
            status=CallStatus.QUEUED,
            is_simulation=False,
            started_at__lte=now,
            created_at__lt=stale,
        )
        .order_by("started_at", "id")
        .only("id", "metadata")[:limit]
    )
    due = []
    for call in candidates:
        tried = call.metadata.get("dialWaitingAt")
        if tried is None or datetime.datetime.fromisoformat(tried) < stale:
            due.append(call.id)
    with transaction.atomic():
        for call_id in due:
            outbox.enqueue("calls.tasks.dial_outbound_call", call_id)
    if due:
        logger.info("Dialing %s queued outbound call(s) again", len(due))
    return len(due)


def call_fail_dial(*, call_id: int, message: str, reason: str = EndReason.FAILED) -> None:
    """The dial task gave up (LiveKit down too long, capacity never freed, a crash)."""
    from .services import call_fail_unless_ended

    call = Call.objects.filter(pk=call_id).first()
    if call is None:
        return
    if not call.is_open:
        leases.release(customer_id=call.customer_id, call_id=call.id)
        return
    call_fail_unless_ended(call=call, reason=reason, error_message=message)


# --- Outcomes ---------------------------------------------------------------------------

# Called with every outbound call call_end closes, inside its transaction (the campaigns
# app registers its attempt bookkeeping here, so calls never imports campaigns).
CALL_ENDED_HOOKS: list = []
# Called when a SIP outcome corrects an ended call's outcome (sip_outcome_refine).
CALL_REFINED_HOOKS: list = []


def notify_call_ended(call: Call) -> None:
    for hook in CALL_ENDED_HOOKS:
        hook(call)


def call_apply_dial_outcome(*, call: Call, outcome: str, detail: str = "") -> Call | None:
    """Records how the dial ended: answered -> active; busy / no answer / failed -> closed."""
    from .services import TEARDOWN_LATER, CallAlreadyEnded, call_end, call_mark_answered

    if outcome == DialOutcome.ANSWERED:
        return call_mark_answered(call=call)
    status, reason = OUTCOME_ENDING[outcome]
    try:
        return call_end(
            call=call, reason=reason, status=status, error_message=detail, teardown=TEARDOWN_LATER, sip_outcome=outcome
        )
    except CallAlreadyEnded:
        return None


def sip_outcome_refines(call: Call, *, now: datetime.datetime) -> bool:
    """An ended call a SIP outcome may still correct: outbound, never answered, closed as a
    plain "no answer" (the voice worker saw the callee's leg leave, or never come, and could
    not know why) by something other than a SIP outcome, less than
    OUTBOUND_SIP_OUTCOME_GRACE_SECONDS ago. LiveKit's webhook saying *busy* then still wins."""
    grace = datetime.timedelta(seconds=settings.OUTBOUND_SIP_OUTCOME_GRACE_SECONDS)
    return (
        call.direction == CallDirection.OUTBOUND
        and call.answered_at is None
        and call.end_reason == EndReason.NO_ANSWER
        and "sipOutcome" not in call.metadata
        and call.ended_at is not None
        and now - call.ended_at <= grace
    )


def sip_outcome_refine(call: Call, *, status: str, reason: str, sip_outcome: str, error_message: str = "") -> Call:
    """call_end's correction of a generic close (its caller holds the row lock): the SIP
    outcome's status and end reason, the campaign attempt re-decided. The lease was released
    and call.ended emitted by the first close; nothing else is redone."""
    previous = {"status": call.status, "endReason": call.end_reason}
    call.status, call.end_reason = status, reason
    if error_message:
        call.error_message = error_message[:2000]
    call.metadata = {**call.metadata, "sipOutcome": sip_outcome, "closedBeforeSipOutcome": previous}
    call.save(update_fields=["status", "end_reason", "error_message", "metadata", "updated_at"])
    rollups_call_changed(call)
    for hook in CALL_REFINED_HOOKS:
        hook(call)
    logger.info("Call %s: SIP outcome %s replaces the earlier %s", call.pk, sip_outcome, previous)
    return call


def outbound_apply_room_event(*, call: Call, event: str, participant) -> Call | None:
    """LiveKit room webhooks for an outbound call. The callee's SIP leg joins the room as
    soon as LiveKit dials (`sip.callStatus` dialing/ringing), so joining is not answering:
    only `active` is. Leaving before answering carries the dial's outcome."""
    from .services import TEARDOWN_LATER, TEARDOWN_NONE, CallAlreadyEnded, call_end

    is_sip = participant is not None and participant.kind == ParticipantInfo.Kind.SIP
    if not call.is_open and not (event == "participant_left" and is_sip and call.answered_at is None):
        return None  # only the SIP leg's outcome may still correct an ended call (sip_outcome_refines)
    attributes = dict(participant.attributes) if participant is not None else {}
    if event == "participant_joined" and is_sip:
        if attributes.get(SIP_CALL_STATUS) == "active":
            return call_apply_dial_outcome(call=call, outcome=DialOutcome.ANSWERED)
        return None
    if event == "participant_left" and is_sip:
        if call.answered_at is not None:
            try:
                return call_end(call=call, reason=EndReason.CALLER_HUNG_UP, teardown=TEARDOWN_LATER)
            except CallAlreadyEnded:
                return None
        outcome = outcome_for_disconnect(participant.disconnect_reason) or DialOutcome.NO_ANSWER
        return call_apply_dial_outcome(call=call, outcome=outcome, detail=f"SIP leg left: {outcome}")
    if event == "room_finished":
        if call.answered_at is not None:
            reason, status = EndReason.CALLER_HUNG_UP, None
        elif call.status == CallStatus.QUEUED:
            return None  # a room of a call not dialed yet (a retry will recreate it)
        else:
            reason, status = EndReason.NO_ANSWER, CallStatus.NO_ANSWER
        try:
            return call_end(call=call, reason=reason, status=status, teardown=TEARDOWN_NONE)
        except CallAlreadyEnded:
            return None
    return None


@transaction.atomic
def call_record_answered_by(*, call: Call, answered_by: str) -> Call:
    """Answering-machine detection's verdict (the voice worker): human, machine, unknown."""
    if answered_by not in AnsweredBy.values:
        raise ValueError(f"unknown answeredBy {answered_by!r}")
    locked = Call.objects.select_for_update().get(pk=call.pk)
    if locked.answered_by != answered_by:
        locked.answered_by = answered_by
        locked.save(update_fields=["answered_by", "updated_at"])
    return locked
