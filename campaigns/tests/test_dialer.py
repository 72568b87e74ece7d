"""The dialer: due contacts become calls through LiveKit (the Twirp double), outcomes
become retries or final statuses, the breaker pauses, the campaign completes."""

import datetime

import pytest
from google.protobuf.json_format import MessageToJson
from livekit import api

from calls import leases
from calls.models import Call, CallCapacity, CallStatus
from calls.outbound import CALLEE_IDENTITY
from calls.tests.test_livekit_webhook import post_event
from campaigns import dialer, services
from campaigns.models import CampaignStatus, Contact, ContactAttempt, ContactStatus, DoNotCall
from campaigns.tasks import dialer_tick

pytestmark = pytest.mark.django_db


def add(campaign, *phones):
    services.contacts_add_rows(campaign=campaign, rows=[{"phone": p, "variables": {"name": "N"}} for p in phones])


def running(make_campaign, *phones, **overrides):
    campaign = make_campaign(**overrides)
    add(campaign, *phones)
    return services.campaign_start(campaign=campaign)


def hang_up(client, server, call, outcome=None):
    """The SIP leg leaves the room (outcome None: after answering) and LiveKit says so."""
    if outcome is None:
        server.sip_answer(call.room_name, CALLEE_IDENTITY)
        joined = api.WebhookEvent(event="participant_joined", room=api.Room(name=call.room_name), id="E1", created_at=1)
        joined.participant.CopyFrom(server.participants[call.room_name][CALLEE_IDENTITY])
        assert post_event(client, server, MessageToJson(joined)).status_code == 200
    left = server.sip_hangup(call.room_name, CALLEE_IDENTITY, outcome)
    event = api.WebhookEvent(event="participant_left", room=api.Room(name=call.room_name), id="E2", created_at=1)
    event.participant.CopyFrom(left)
    assert post_event(client, server, MessageToJson(event)).status_code == 200


def test_a_tick_dials_due_contacts_once(make_campaign, livekit_server, commits):
    campaign = running(make_campaign, "+14155550101", "+14155550102")
    assert commits(dialer_tick.apply).get() == 2
    calls = Call.objects.order_by("id")
    assert [c.to_number for c in calls] == ["+14155550101", "+14155550102"]
    assert all(c.status == CallStatus.RINGING and c.metadata["campaignId"] == campaign.id for c in calls)
    assert len(livekit_server.messages("CreateSIPParticipant")) == 2
    assert set(Contact.objects.values_list("status", flat=True)) == {ContactStatus.IN_PROGRESS}
    # A duplicate tick finds nothing due: no contact is dialed twice.
    assert commits(dialer_tick.apply).get() == 0
    assert ContactAttempt.objects.count() == 2 and len(livekit_server.messages("CreateSIPParticipant")) == 2


def test_outcomes_retry_or_finish_and_the_campaign_completes(make_campaign, livekit_server, commits, api_client):
    campaign = running(make_campaign, "+14155550101", "+14155550102", "+14155550103")
    commits(dialer.dialer_tick)
    answered, busy, failed = Call.objects.order_by("id")
    commits(hang_up, api_client, livekit_server, answered)
    commits(hang_up, api_client, livekit_server, busy, "busy")
    commits(hang_up, api_client, livekit_server, failed, "failed")
    by_phone = {c.phone_number: c for c in Contact.objects.all()}
    assert by_phone["+14155550101"].status == ContactStatus.COMPLETED
    assert by_phone["+14155550103"].status == ContactStatus.FAILED  # failed is not in retry.on
    retry = by_phone["+14155550102"]
    assert retry.status == ContactStatus.PENDING and retry.last_outcome == "busy" and retry.attempts == 1
    assert retry.next_attempt_at > answered.started_at + datetime.timedelta(minutes=29)
    # Not due yet; then due: the second (last) attempt.
    assert commits(dialer.dialer_tick) == 0
    later = retry.next_attempt_at + datetime.timedelta(seconds=1)
    assert commits(dialer.dialer_tick, now=later) == 1
    second = Call.objects.order_by("-id").first()
    assert second.metadata["attempt"] == 2
    commits(hang_up, api_client, livekit_server, second, "no_answer")
    retry.refresh_from_db()
    assert retry.status == ContactStatus.NO_ANSWER and retry.attempts == 2
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED and campaign.completed_at is not None
    assert leases.in_use(campaign.customer_id) == 0


def test_voicemail_is_its_own_outcome(make_campaign, livekit_server, commits, api_client):
    from calls.outbound import call_record_answered_by

    running(make_campaign, "+14155550101")
    commits(dialer.dialer_tick)
    call = Call.objects.get()
    call_record_answered_by(call=call, answered_by="machine")
    commits(hang_up, api_client, livekit_server, call)
    contact = Contact.objects.get()
    assert contact.status == ContactStatus.VOICEMAIL and contact.last_outcome == "voicemail"


def test_do_not_call_numbers_are_never_dialed(make_campaign, customer_a, livekit_server, commits):
    campaign = running(make_campaign, "+14155550101", "+14155550102")
    DoNotCall.objects.create(customer=customer_a, phone_number="+14155550102")
    assert commits(dialer.dialer_tick) == 1
    skipped = Contact.objects.get(phone_number="+14155550102")
    assert skipped.status == ContactStatus.SKIPPED and skipped.last_outcome == "dnc"
    assert [m.sip_call_to for m in livekit_server.messages("CreateSIPParticipant")] == ["+14155550101"]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING  # one call still in progress


def test_max_concurrency_and_capacity_bound_each_tick(make_campaign, customer_a, livekit_server, commits):
    running(make_campaign, *[f"+1415555{n:04d}" for n in range(200, 210)], max_concurrency=3)
    assert commits(dialer.dialer_tick) == 3
    assert commits(dialer.dialer_tick) == 0  # three in progress already
    CallCapacity.objects.create(customer=customer_a, concurrency_limit=5, reserved_inbound_concurrency=4)
    Call.objects.all().delete()
    Contact.objects.update(status=ContactStatus.PENDING)
    leases.forget_all()
    assert commits(dialer.dialer_tick) == 1  # 5 - 4 reserved for inbound


def test_calls_per_minute_paces_the_dialer(make_campaign, livekit_server, commits):
    running(make_campaign, *[f"+1415555{n:04d}" for n in range(300, 310)], calls_per_minute=2, max_concurrency=10)
    assert commits(dialer.dialer_tick) == 2
    Contact.objects.filter(status=ContactStatus.IN_PROGRESS).update(status=ContactStatus.COMPLETED)
    leases.forget_all()
    assert commits(dialer.dialer_tick) == 0


def test_the_circuit_breaker_pauses_and_says_why(make_campaign, livekit_server, commits, settings):
    settings.CAMPAIGN_BREAKER_WINDOW, settings.CAMPAIGN_BREAKER_THRESHOLD = 4, 0.75
    campaign = running(make_campaign, *[f"+1415555{n:04d}" for n in range(400, 410)], max_concurrency=4)
    livekit_server.fail_next("CreateSIPParticipant", code="unavailable", msg="trunk down", times=1000)
    commits(dialer.dialer_tick)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    assert campaign.status_reason.startswith("Paused by the circuit breaker: 4 of the last 4 attempts failed")
    assert commits(dialer.dialer_tick) == 0  # paused: nothing more is dialed
    assert Contact.objects.filter(status=ContactStatus.PENDING).count() == 6
    assert leases.in_use(campaign.customer_id) == 0


def test_the_breaker_ignores_busy_and_no_answer(make_campaign, livekit_server, commits, settings, api_client):
    settings.CAMPAIGN_BREAKER_WINDOW, settings.CAMPAIGN_BREAKER_THRESHOLD = 2, 0.5
    campaign = running(
        make_campaign, "+14155550101", "+14155550102", retry={"maxAttempts": 1, "delayMinutes": 1, "on": []}
    )
    commits(dialer.dialer_tick)
    for call in Call.objects.all():
        commits(hang_up, api_client, livekit_server, call, "busy")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED


def test_paused_and_canceled_campaigns_are_not_dialed(make_campaign, livekit_server, commits):
    campaign = running(make_campaign, "+14155550101")
    services.campaign_pause(campaign=campaign)
    assert commits(dialer.dialer_tick) == 0
    services.campaign_resume(campaign=campaign)
    services.campaign_cancel(campaign=campaign)
    assert commits(dialer.dialer_tick) == 0
    assert livekit_server.messages("CreateSIPParticipant") == []


@pytest.mark.parametrize(
    ("retry_on", "contact_status", "next_attempt"),
    [
        (["no_answer"], ContactStatus.BUSY, False),  # the worker's no-answer had scheduled a retry
        (["busy"], ContactStatus.PENDING, True),  # ... or had made the contact final
    ],
)
def test_a_busy_arriving_after_the_workers_no_answer_redecides_the_contact(
    make_campaign, livekit_server, commits, api_client, retry_on, contact_status, next_attempt
):
    from voice_worker.persistence import call_end_if_open

    retry = {"maxAttempts": 2, "delayMinutes": 30, "on": retry_on}
    campaign = running(make_campaign, "+14155550101", "+14155550102", retry=retry)
    commits(dialer.dialer_tick)
    call = Call.objects.get(to_number="+14155550101")
    commits(call_end_if_open, call_id=call.id, reason="no_answer")  # the voice worker saw the leg leave
    assert ContactAttempt.objects.get(call=call).outcome == "no_answer"
    commits(hang_up, api_client, livekit_server, call, "busy")  # then LiveKit's webhook: 486
    attempt = ContactAttempt.objects.get(call=call)
    contact = attempt.contact
    assert attempt.outcome == "busy" and contact.last_outcome == "busy"
    assert contact.status == contact_status and (contact.next_attempt_at is not None) == next_attempt
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING  # the other contact is still ringing


def test_a_ticks_calls_are_counted_in_the_analytics_rollups_as_one_by_one(make_campaign, livekit_server, commits):
    from django.forms.models import model_to_dict

    from analytics.models import CallDayRollup, CallFact, CallHourRollup, CallRollup
    from analytics.rollups import rollups_rebuild

    campaign = running(make_campaign, *[f"+1415555{n:04d}" for n in range(500, 505)], max_concurrency=10)

    def counted():
        def rows(model):
            return sorted(
                tuple(sorted((k, str(v)) for k, v in model_to_dict(r, exclude=["id"]).items()))
                for r in model.objects.all()
            )

        facts = sorted(
            tuple(sorted((k, str(v)) for k, v in model_to_dict(f, exclude=["rollup", "day_rollup"]).items()))
            for f in CallFact.objects.all()
        )
        return rows(CallRollup), rows(CallDayRollup), rows(CallHourRollup), facts

    assert dialer.campaign_dial_due(campaign_id=campaign.id) == 5  # no commit: no dial runs
    assert Call.objects.filter(status=CallStatus.QUEUED).count() == 5
    batched = counted()
    assert len(batched[3]) == 5 and batched[0] and batched[2]
    rollups_rebuild(customer_id=campaign.customer_id)  # each call counted on its own
    assert counted() == batched
