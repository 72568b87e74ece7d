"""Duplicate ticks and redelivered tasks racing on real PostgreSQL: no contact is ever
dialed twice, no capacity slot is double-held (SELECT ... FOR UPDATE SKIP LOCKED)."""

import pytest
from django.db import connection

from calls import leases
from calls.models import Call
from campaigns import dialer, services
from campaigns.models import ContactAttempt
from testsupport.threads import run_at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks (SKIP LOCKED) need PostgreSQL"),
]


def test_concurrent_ticks_never_dial_a_contact_twice(make_campaign, customer_a, livekit_server, settings):
    from calls.models import CallCapacity

    settings.CELERY_TASK_ALWAYS_EAGER = True
    CallCapacity.objects.create(customer=customer_a, concurrency_limit=100, reserved_inbound_concurrency=0)
    campaign = make_campaign(max_concurrency=40, calls_per_minute=600)
    services.contacts_add_rows(
        campaign=campaign, rows=[{"phone": f"+1415555{n:04d}", "variables": {"name": "N"}} for n in range(500, 540)]
    )
    services.campaign_start(campaign=campaign)
    placed = []

    def tick():
        for _ in range(3):
            placed.append(dialer.campaign_dial_due(campaign_id=campaign.id))

    run_at_once([tick] * 6)
    assert sum(placed) == 40
    dialed = list(Call.objects.values_list("to_number", flat=True))
    assert len(dialed) == len(set(dialed)) == 40
    assert ContactAttempt.objects.count() == 40


def test_the_attempt_row_refuses_a_second_dial_of_the_same_attempt(make_campaign, livekit_server):
    from django.db import IntegrityError, transaction

    campaign = make_campaign()
    services.contacts_add_rows(campaign=campaign, rows=[{"phone": "+14155550101", "variables": {"name": "N"}}])
    contact = campaign.contacts.get()
    ContactAttempt.objects.create(contact=contact, campaign=campaign, number=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactAttempt.objects.create(contact=contact, campaign=campaign, number=1)


def test_concurrent_lease_grabs_never_exceed_the_limit(customer_a):
    from calls.models import CallCapacity

    CallCapacity.objects.create(customer=customer_a, concurrency_limit=7, reserved_inbound_concurrency=2)
    granted = []

    def grab(worker):
        for n in range(10):
            if leases.acquire(customer_id=customer_a.pk, call_id=worker * 100 + n, direction=leases.OUTBOUND):
                granted.append(1)

    run_at_once([lambda worker=worker: grab(worker) for worker in range(8)])
    assert len(granted) == 5 and leases.in_use(customer_a.pk) == 5
