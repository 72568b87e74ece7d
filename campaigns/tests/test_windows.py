"""Calling windows in the recipient's local time, across time zones and DST changes."""

import datetime

import pytest

from campaigns import dialer, windows
from campaigns.models import Contact, ContactStatus
from campaigns.services import campaign_start, contacts_add_rows

UTC = datetime.UTC
WEEKDAYS_9_TO_17 = {
    "timezone": "America/Chicago",
    "windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}],
}


def at(*args):
    return datetime.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "moment", "expected"),
    [
        # Tuesday 2026-03-03 14:00 UTC: 09:00 in New York (EST, UTC-5), 06:00 in Los Angeles.
        ("America/New_York", at(2026, 3, 3, 14, 0), True),
        ("America/Los_Angeles", at(2026, 3, 3, 14, 0), False),
        ("America/New_York", at(2026, 3, 3, 13, 59), False),
        # 17:00 local is closed (end is exclusive).
        ("America/New_York", at(2026, 3, 3, 22, 0), False),
        # Saturday is not in the window.
        ("America/New_York", at(2026, 3, 7, 15, 0), False),
        # US DST starts Sunday 2026-03-08: on Monday 09:00 EDT is 13:00 UTC, not 14:00.
        ("America/New_York", at(2026, 3, 9, 13, 0), True),
        ("America/New_York", at(2026, 3, 9, 12, 59), False),
        # Europe changes a fortnight later (2026-03-29): on Monday 2026-03-23 London is still
        # on GMT, so 09:00 there is 09:00 UTC while New York is already on EDT.
        ("Europe/London", at(2026, 3, 23, 9, 0), True),
        ("Europe/London", at(2026, 3, 30, 8, 0), True),  # BST: 09:00 local = 08:00 UTC
        ("Europe/London", at(2026, 3, 30, 7, 59), False),
        # Fall back (US, 2026-11-01): Monday 09:00 EST is 14:00 UTC again.
        ("America/New_York", at(2026, 11, 2, 13, 30), False),
        ("America/New_York", at(2026, 11, 2, 14, 0), True),
        # Across the date line: Tuesday 09:00 in Sydney (AEDT, UTC+11) is Monday 22:00 UTC.
        ("Australia/Sydney", at(2026, 3, 2, 22, 0), True),
    ],
)
def test_is_open_in_local_wall_time(zone, moment, expected):
    assert windows.is_open(WEEKDAYS_9_TO_17, zone, moment) is expected


def test_a_window_can_end_at_midnight_so_a_whole_day_is_callable():
    """`end` may be "24:00" (the day's end): a 00:00-24:00 window is open every minute of the
    day, its last one included; 23:59 closed that minute, and nothing later was accepted."""
    errors: dict = {}
    whole_day = windows.clean_schedule(
        errors, {"timezone": "UTC", "windows": [{"days": ["mon"], "start": "00:00", "end": "24:00"}]}
    )
    assert errors == {}
    monday = datetime.date(2026, 3, 2)
    for minute in range(0, 24 * 60):
        moment = datetime.datetime.combine(monday, datetime.time(minute // 60, minute % 60), tzinfo=UTC)
        assert windows.is_open(whole_day, "UTC", moment), moment
    assert not windows.is_open(whole_day, "UTC", at(2026, 3, 3, 0, 0))  # Tuesday is not in it
    for bad in ("24:00", "24:01", "25:00"):
        refused: dict = {}
        windows.clean_schedule(
            refused, {"timezone": "UTC", "windows": [{"days": ["mon"], "start": bad, "end": "24:00"}]}
        )
        assert "schedule.windows.0.start" in refused, bad
    refused = {}
    windows.clean_schedule(
        refused, {"timezone": "UTC", "windows": [{"days": ["mon"], "start": "09:00", "end": "24:01"}]}
    )
    assert refused == {"schedule.windows.0.end": ["HH:MM, 24-hour (24:00 is the end of the day)"]}


def test_next_opening_skips_the_weekend_and_follows_dst():
    # Friday 2026-03-06 23:00 UTC (18:00 EST) -> Monday 2026-03-09 09:00 EDT = 13:00 UTC.
    assert windows.next_opening(WEEKDAYS_9_TO_17, "America/New_York", at(2026, 3, 6, 23, 0)) == at(2026, 3, 9, 13, 0)


def test_a_number_gives_its_zone_only_when_it_has_one():
    assert windows.zone_for_number("+12125550123") == "America/New_York"
    assert windows.zone_for_number("+442079460000") == "Europe/London"
    assert windows.zone_for_number("+15555550123") == ""  # no single zone: the campaign's


@pytest.mark.django_db
def test_the_dialer_calls_each_recipient_in_their_own_window(make_campaign, livekit_server, commits):
    campaign = make_campaign(schedule=WEEKDAYS_9_TO_17)
    contacts_add_rows(
        campaign=campaign,
        rows=[
            {"phone": "+12125550123", "variables": {"name": "NY"}},  # America/New_York
            {"phone": "+14155550123", "variables": {"name": "SF"}},  # America/Los_Angeles
            {"phone": "+15555550123", "variables": {"name": "?"}},  # no zone: campaign's (Chicago)
        ],
    )
    campaign_start(campaign=campaign)
    # Tuesday 14:30 UTC: 09:30 New York, 08:30 Chicago, 06:30 Los Angeles.
    assert commits(dialer.campaign_dial_due, campaign_id=campaign.id, now=at(2026, 3, 3, 14, 30)) == 1
    # 15:30 UTC: Chicago opens too; Los Angeles still asleep.
    assert commits(dialer.campaign_dial_due, campaign_id=campaign.id, now=at(2026, 3, 3, 15, 30)) == 1
    assert commits(dialer.campaign_dial_due, campaign_id=campaign.id, now=at(2026, 3, 3, 16, 59)) == 0
    # 17:00 UTC = 09:00 in Los Angeles.
    assert commits(dialer.campaign_dial_due, campaign_id=campaign.id, now=at(2026, 3, 3, 17, 0)) == 1
    order = Contact.objects.order_by("attempt_rows__created_at").values_list("phone_number", flat=True)
    assert list(order) == ["+12125550123", "+15555550123", "+14155550123"]
    assert set(Contact.objects.values_list("status", flat=True)) == {ContactStatus.IN_PROGRESS}
