"""Outbound calls and capacity in the voice worker, kept apart from the call runner.

- `wait_until_answered`: an outbound call's SIP participant joins the room as soon as
  LiveKit dials; the agent waits for its `sip.callStatus` attribute to turn `active`
  (answered) before it starts talking, and gives up if the leg leaves (busy, no answer:
  the LiveKit webhook records which).
- `LeaseHeartbeat`: renews the call's capacity lease (calls/leases.py) while the job runs,
  so a killed worker's lease expires and its slot returns to the pool.
- Answering-machine detection with livekit-agents' `AMD` (the session's own STT and LLM):
  `answered_by_for` maps its verdict to the call's `answeredBy`, `voicemail_plan` decides
  what the agent does on a machine from the agent's `voiceSettings.voicemail`
  (`hangup`, or `leave_message` with its message).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging

from asgiref.sync import sync_to_async
from livekit import rtc
from livekit.agents.utils.participant import wait_for_participant_attribute
from livekit.agents.voice.amd import AMD, AMDCategory, AMDPredictionEvent

from calls import leases
from calls.models import AnsweredBy, CallDirection, EndReason
from calls.outbound import CALLEE_IDENTITY, SIP_CALL_STATUS, call_record_answered_by

logger = logging.getLogger(__name__)

ANSWER_TIMEOUT_SECONDS = 90.0


def is_outbound(call) -> bool:
    return call.direction == CallDirection.OUTBOUND and not call.is_simulation


async def wait_until_answered(room: rtc.Room, *, identity: str = CALLEE_IDENTITY) -> bool:
    """True once the callee picked up; False if the SIP leg left (or never came) first."""
    try:
        async with asyncio.timeout(ANSWER_TIMEOUT_SECONDS):
            await wait_for_participant_attribute(room, identity=identity, attribute=SIP_CALL_STATUS, value="active")
    except (RuntimeError, TimeoutError) as exc:
        logger.info("outbound call in %s not answered: %s", room.name, exc)
        return False
    return True


class LeaseHeartbeat:
    """Renews the call's lease every third of its TTL until stopped."""

    def __init__(self, *, customer_id, call_id: int, direction: str):
        self.customer_id, self.call_id, self.direction = customer_id, call_id, direction
        self._task: asyncio.Task | None = None

    def start(self) -> LeaseHeartbeat:
        self._task = asyncio.create_task(self._run(), name=f"lease-heartbeat-{self.call_id}")
        return self

    async def beat(self) -> bool:
        """One renewal; a lease lost (expired during a Redis outage) is taken again if a slot is free."""
        try:
            if await sync_to_async(leases.renew)(customer_id=self.customer_id, call_id=self.call_id):
                return True
            return await sync_to_async(leases.acquire)(
                customer_id=self.customer_id, call_id=self.call_id, direction=self.direction
            )
        except leases.LeaseStoreUnavailable as exc:
            logger.warning("call %s: lease heartbeat failed: %s", self.call_id, exc)
            return False

    async def _run(self) -> None:
        interval = max(1.0, leases.lease_ttl() / 3)
        while True:
            await self.beat()
            await asyncio.sleep(interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def heartbeat_for(call) -> LeaseHeartbeat:
    """Every phone call holds a lease (inbound or outbound); the worker keeps it alive."""
    direction = leases.OUTBOUND if call.direction == CallDirection.OUTBOUND else leases.INBOUND
    return LeaseHeartbeat(customer_id=call.customer_id, call_id=call.call_id, direction=direction).start()


# --- Answering-machine detection ---------------------------------------------------------


def answered_by_for(result: AMDPredictionEvent) -> str:
    if result.is_human:
        return AnsweredBy.HUMAN
    if result.is_machine:
        return AnsweredBy.MACHINE
    return AnsweredBy.UNKNOWN


@dataclasses.dataclass(frozen=True)
class VoicemailPlan:
    end_reason: str
    message: str  # said before hanging up; "" hangs up at once


def voicemail_plan(voicemail: dict | None, result: AMDPredictionEvent) -> VoicemailPlan | None:
    """None: carry on (a person, or AMD was unsure). A machine: hang up, or leave the
    message when the agent says so and the mailbox takes one."""
    if not result.is_machine:
        return None
    voicemail = voicemail or {}
    message = (voicemail.get("message") or "").strip()
    if (
        voicemail.get("action") == "leave_message"
        and message
        and result.category == AMDCategory.MACHINE_VM  # a full or missing mailbox takes nothing
    ):
        return VoicemailPlan(EndReason.VOICEMAIL, message)
    return VoicemailPlan(EndReason.VOICEMAIL, "")


async def detect_answering_machine(runner, voicemail: dict | None) -> None:
    """Runs the library's AMD on the started session (it holds the agent's speech until its
    verdict), records `answeredBy`, and on a machine hangs up or leaves the message."""
    session = runner.session
    try:
        async with AMD(session, participant_identity=CALLEE_IDENTITY, suppress_compatibility_warning=True) as amd:
            result = await amd.execute()
    except Exception:
        logger.exception("call %s: answering-machine detection failed", runner.call.call_id)
        if runner.agent is not None:
            runner.agent.greet()  # carry on as with a person
        return
    answered_by = answered_by_for(result)
    await sync_to_async(_record)(runner.call.call_id, answered_by)
    plan = voicemail_plan(voicemail, result)
    if plan is not None:
        logger.info("call %s answered by a machine (%s)", runner.call.call_id, result.category.value)
        runner.end_with(plan.end_reason, message=plan.message)
    elif runner.agent is not None:
        runner.agent.greet()  # a person (or AMD unsure): the agent greets, if the hello did not make it already


def _record(call_id: int, answered_by: str) -> None:
    from calls.models import Call

    call = Call.objects.filter(pk=call_id).first()
    if call is not None:
        call_record_answered_by(call=call, answered_by=answered_by)
