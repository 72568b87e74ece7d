"""The dialer: turns due contacts of running campaigns into outbound calls.

Beat runs `dialer_tick` every few seconds; for each running campaign it runs
`campaign_dial_due` in its own transaction:

1. the campaign row is locked `FOR UPDATE SKIP LOCKED`: a duplicate tick (two beats, a
   redelivered task) working on the same campaign skips it instead of dialing twice;
2. the budget is the smallest of the campaign's free concurrency (`maxConcurrency` minus
   contacts in progress), its pace (`callsPerMinute` minus attempts of the last minute)
   and the customer's free outbound capacity (calls/leases.py);
3. due contacts (pending, `next_attempt_at` passed) whose local calling window is open
   are claimed `FOR UPDATE SKIP LOCKED`; each gets an attempt row (unique per contact and
   attempt number: the last guard against a double dial), a queued outbound call
   (calls/outbound.py, whose dial task goes through the outbox after commit), and the
   status `in_progress`. Numbers on the do-not-call list are skipped, always.

When a call ends, `attempt_finished` (a calls.outbound hook, inside call_end's
transaction) records the outcome, schedules a retry or makes the contact final, trips
the circuit breaker, and completes the campaign once every contact is final.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from analytics.rollups import calls_added as rollups_calls_added
from calls import leases
from calls.models import AnsweredBy, Call, CallStatus, EndReason
from calls.outbound import _queue_call

from . import windows
from .events import emit_campaign_event
from .models import (
    FINAL_STATUS,
    OPEN_CONTACT_STATUSES,
    Campaign,
    CampaignStatus,
    Contact,
    ContactAttempt,
    ContactStatus,
    DoNotCall,
    Outcome,
)

logger = logging.getLogger(__name__)

BATCH_MAX = 200


def dialer_tick(now: datetime.datetime | None = None) -> int:
    """Beat: dials what is due in every running campaign. Returns how many calls were placed."""
    placed = 0
    for campaign_id in Campaign.objects.filter(status=CampaignStatus.RUNNING).values_list("id", flat=True):
        try:
            placed += campaign_dial_due(campaign_id=campaign_id, now=now)
        except leases.LeaseStoreUnavailable as exc:
            logger.warning("Dialer skipped campaign %s: %s", campaign_id, exc)
    return placed


def _budget(campaign: Campaign, now: datetime.datetime) -> int:
    in_progress = Contact.objects.filter(campaign=campaign, status=ContactStatus.IN_PROGRESS).count()
    last_minute = ContactAttempt.objects.filter(
        campaign=campaign, created_at__gte=now - datetime.timedelta(minutes=1)
    ).count()
    capacity = leases.capacity_for(campaign.customer_id)
    held = len(leases.held(campaign.customer_id)["outbound"])
    waiting = Call.objects.filter(
        customer_id=campaign.customer_id, direction="outbound", status=CallStatus.QUEUED, started_at__lte=now
    ).count()
    free_capacity = capacity.outbound_limit - held - waiting
    return max(
        0,
        min(campaign.max_concurrency - in_progress, campaign.calls_per_minute - last_minute, free_capacity, BATCH_MAX),
    )


def open_zones(campaign: Campaign, now: datetime.datetime) -> list[str]:
    """The contact zones ("" = the campaign's own) whose calling window is open now."""
    zones = (
        Contact.objects.filter(campaign=campaign, status=ContactStatus.PENDING)
        .order_by()
        .values_list("timezone", flat=True)
        .distinct()
    )
    default = campaign.schedule.get("timezone") or "UTC"
    return [z for z in zones if windows.is_open(campaign.schedule, z or default, now)]


@transaction.atomic
def campaign_dial_due(*, campaign_id: int, now: datetime.datetime | None = None) -> int:
    now = now or timezone.now()
    campaign = (
        Campaign.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("agent", "customer")
        .filter(pk=campaign_id, status=CampaignStatus.RUNNING)
        .first()
    )
    if campaign is None:  # not running, or another tick is dialing it right now
        return 0
    if _complete_if_done(campaign):
        return 0
    budget = _budget(campaign, now)
    if budget <= 0:
        return 0
    zones = open_zones(campaign, now)
    if not zones:
        return 0
    due = list(
        Contact.objects.select_for_update(skip_locked=True)
        .filter(campaign=campaign, status=ContactStatus.PENDING, timezone__in=zones)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by(F("next_attempt_at").asc(nulls_first=True), "id")[:budget]
    )
    if not due:
        return 0
    blocked = set(
        DoNotCall.objects.filter(
            customer_id=campaign.customer_id, phone_number__in=[c.phone_number for c in due]
        ).values_list("phone_number", flat=True)
    )
    numbers = list(campaign.from_numbers.order_by("id"))
    if not numbers:
        _pause(campaign, "Paused: the campaign has no phone number to call from")
        return 0
    placed, queued = 0, []
    for contact in due:
        if contact.phone_number in blocked:
            contact.status, contact.last_outcome = ContactStatus.SKIPPED, Outcome.DNC
            continue
        attempt_number = contact.attempts + 1
        number = numbers[(campaign.dial_sequence + placed) % len(numbers)]
        call = _queue_call(
            customer_id=campaign.customer_id,
            agent=campaign.agent,
            number=number,
            to=contact.phone_number,
            variables=contact.variables,
            scheduled_at=None,
            extra_metadata={"campaignId": campaign.pk, "contactId": contact.pk, "attempt": attempt_number},
            count=False,
        )
        queued.append(call)
        ContactAttempt.objects.create(contact=contact, campaign=campaign, number=attempt_number, call=call)
        contact.status, contact.attempts, contact.next_attempt_at = ContactStatus.IN_PROGRESS, attempt_number, None
        placed += 1
    # analytics: the tick's calls counted together (one update per rollup row, not per call)
    rollups_calls_added(queued, customer=campaign.customer)
    Contact.objects.bulk_update(due, ["status", "attempts", "next_attempt_at", "last_outcome"])
    if placed:
        Campaign.objects.filter(pk=campaign.pk).update(dial_sequence=F("dial_sequence") + placed)
    else:
        _complete_if_done(campaign)
    return placed


# --- Outcomes ---------------------------------------------------------------------------


def outcome_for_call(call: Call) -> str:
    if call.answered_at is not None:
        if call.answered_by == AnsweredBy.MACHINE or call.end_reason == EndReason.VOICEMAIL:
            return Outcome.VOICEMAIL
        return Outcome.ANSWERED
    return {
        CallStatus.BUSY: Outcome.BUSY,
        CallStatus.NO_ANSWER: Outcome.NO_ANSWER,
        CallStatus.CANCELED: Outcome.NO_ANSWER,
    }.get(call.status, Outcome.FAILED)


def attempt_finished(call: Call) -> None:
    """calls.outbound hook, inside call_end's transaction: the attempt's outcome, then a
    retry or the contact's final status, the breaker, and the campaign's completion."""
    attempt = ContactAttempt.objects.select_for_update().filter(call=call).first()
    if attempt is None or attempt.outcome:
        return
    now = timezone.now()
    outcome = outcome_for_call(call)
    attempt.outcome, attempt.finished_at = outcome, now
    attempt.save(update_fields=["outcome", "finished_at"])
    contact = Contact.objects.select_for_update().get(pk=attempt.contact_id)
    campaign = Campaign.objects.select_for_update().get(pk=attempt.campaign_id)
    if contact.status == ContactStatus.IN_PROGRESS:
        _decide(contact, campaign, outcome, now)
    _after_outcome(campaign, outcome)


def attempt_refined(call: Call) -> None:
    """calls.outbound hook: a SIP outcome corrected the call's end moments after it closed
    (busy arriving after the voice worker's plain no-answer). The attempt takes the new
    outcome; the contact's retry-or-final decision is made again if it still stands (this
    was its latest attempt and nothing happened since)."""
    attempt = ContactAttempt.objects.select_for_update().filter(call=call).first()
    outcome = outcome_for_call(call)
    if attempt is None or not attempt.outcome or attempt.outcome == outcome:
        return
    previous, attempt.outcome = attempt.outcome, outcome
    attempt.save(update_fields=["outcome"])
    contact = Contact.objects.select_for_update().get(pk=attempt.contact_id)
    campaign = Campaign.objects.select_for_update().get(pk=attempt.campaign_id)
    still_stands = (
        contact.attempts == attempt.number
        and contact.last_outcome == previous
        and contact.status in (ContactStatus.PENDING, FINAL_STATUS[previous])
    )
    if still_stands:
        _decide(contact, campaign, outcome, attempt.finished_at or timezone.now())
    _after_outcome(campaign, outcome)


def _decide(contact: Contact, campaign: Campaign, outcome: str, finished_at) -> None:
    """A retry after `delayMinutes` (outcome in `retry.on`, attempts left, campaign not
    over) or the contact's final status."""
    retry = campaign.retry or {}
    retry_it = (
        outcome in retry.get("on", [])
        and contact.attempts < retry.get("maxAttempts", 1)
        and campaign.status not in (CampaignStatus.CANCELED, CampaignStatus.COMPLETED)
    )
    if retry_it:
        contact.status = ContactStatus.PENDING
        contact.next_attempt_at = finished_at + datetime.timedelta(minutes=retry.get("delayMinutes", 60))
    else:
        contact.status, contact.next_attempt_at = FINAL_STATUS[outcome], None
    contact.last_outcome = outcome
    contact.save(update_fields=["status", "next_attempt_at", "last_outcome", "updated_at"])


def _after_outcome(campaign: Campaign, outcome: str) -> None:
    if campaign.status == CampaignStatus.RUNNING and outcome == Outcome.FAILED:
        _trip_breaker(campaign)
    if campaign.status in (CampaignStatus.RUNNING, CampaignStatus.CANCELED):
        _complete_if_done(campaign)


def _trip_breaker(campaign: Campaign) -> None:
    window = settings.CAMPAIGN_BREAKER_WINDOW
    recent = list(
        ContactAttempt.objects.filter(campaign=campaign, finished_at__isnull=False)
        .order_by("-finished_at", "-id")
        .values_list("outcome", flat=True)[:window]
    )
    failed = sum(1 for outcome in recent if outcome == Outcome.FAILED)
    if len(recent) >= window and failed / len(recent) >= settings.CAMPAIGN_BREAKER_THRESHOLD:
        _pause(
            campaign,
            f"Paused by the circuit breaker: {failed} of the last {len(recent)} attempts failed "
            "(check the SIP trunk and the carrier, then resume)",
        )


def _pause(campaign: Campaign, reason: str) -> None:
    campaign.status, campaign.status_reason = CampaignStatus.PAUSED, reason
    campaign.save(update_fields=["status", "status_reason", "updated_at"])
    logger.warning("Campaign %s: %s", campaign.pk, reason)
    emit_campaign_event(campaign, "campaign.paused")


def _complete_if_done(campaign: Campaign) -> bool:
    """Every contact final: a running campaign completes (a canceled one stays canceled)."""
    if Contact.objects.filter(campaign=campaign, status__in=OPEN_CONTACT_STATUSES).exists():
        return False
    if campaign.status != CampaignStatus.RUNNING:
        return True
    campaign.status, campaign.completed_at = CampaignStatus.COMPLETED, timezone.now()
    campaign.status_reason = ""
    campaign.save(update_fields=["status", "status_reason", "completed_at", "updated_at"])
    emit_campaign_event(campaign, "campaign.completed")
    return True
