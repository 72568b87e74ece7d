"""Calling windows: when a campaign may ring a recipient, in the recipient's local time.

A schedule is `{"timezone": "America/New_York", "windows": [{"days": ["mon", "tue"],
"start": "09:00", "end": "17:00"}]}`: a window is open on its days from `start`
(inclusive) to `end` (exclusive, "24:00" for the day's end), wall-clock time in the
zone. The zone is the recipient's when their number's region has exactly one (`phonenumbers.timezone`), else
the campaign's. Wall-clock comparison through zoneinfo makes DST transitions right: on
the day clocks spring forward a 09:00 window still opens at 09:00 local time.
"""

from __future__ import annotations

import datetime
import re
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from phonenumbers import timezone as number_timezones

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# The day's end: a window may close at 24:00, so 23:59 to midnight can be callable too
# ("HH:MM" strings compare in clock order, and every minute of the day is before it).
END_OF_DAY = "24:00"
MAX_WINDOWS = 14
UNKNOWN_ZONE = "Etc/Unknown"


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def clean_schedule(errors: dict, value, *, field: str = "schedule") -> dict:
    """Validates and normalises a schedule; problems go into `errors` (dotted fields)."""
    if not isinstance(value, dict):
        errors[field] = ["Must be an object with timezone and windows"]
        return {}
    tz = value.get("timezone")
    if not isinstance(tz, str) or tz not in _zones():
        errors[f"{field}.timezone"] = ["Must be an IANA time zone, e.g. America/New_York"]
    windows = value.get("windows")
    cleaned = []
    if not isinstance(windows, list) or not windows:
        errors[f"{field}.windows"] = ["At least one calling window is required"]
        windows = []
    elif len(windows) > MAX_WINDOWS:
        errors[f"{field}.windows"] = [f"At most {MAX_WINDOWS} windows"]
        windows = []
    for index, window in enumerate(windows):
        path = f"{field}.windows.{index}"
        if not isinstance(window, dict):
            errors[path] = ["Must be an object with days, start and end"]
            continue
        days = window.get("days")
        if not isinstance(days, list) or not days or any(d not in DAYS for d in days):
            errors[f"{path}.days"] = [f"A non-empty list of: {', '.join(DAYS)}"]
            continue
        start, end = window.get("start"), window.get("end")
        if not isinstance(start, str) or not TIME.match(start):
            errors[f"{path}.start"] = ["HH:MM, 24-hour"]
            continue
        if not isinstance(end, str) or not (TIME.match(end) or end == END_OF_DAY):
            errors[f"{path}.end"] = ["HH:MM, 24-hour (24:00 is the end of the day)"]
            continue
        if end <= start:
            errors[f"{path}.end"] = ["Must be later than start (windows do not cross midnight)"]
            continue
        cleaned.append({"days": [d for d in DAYS if d in days], "start": start, "end": end})
    return {"timezone": tz, "windows": cleaned}


def is_open(schedule: dict, zone_name: str, now: datetime.datetime) -> bool:
    """Whether `now` (aware) falls in one of the schedule's windows, in `zone_name`'s wall time."""
    local = now.astimezone(zone(zone_name))
    day = DAYS[local.weekday()]
    clock = local.strftime("%H:%M")
    return any(day in w["days"] and w["start"] <= clock < w["end"] for w in schedule.get("windows", []))


def next_opening(schedule: dict, zone_name: str, now: datetime.datetime) -> datetime.datetime | None:
    """The next moment (UTC) a window opens in `zone_name`, within two weeks; now if open."""
    if is_open(schedule, zone_name, now):
        return now
    tz = zone(zone_name)
    local_now = now.astimezone(tz)
    best = None
    for offset in range(15):
        day = (local_now + datetime.timedelta(days=offset)).date()
        for window in schedule.get("windows", []):
            if DAYS[day.weekday()] not in window["days"]:
                continue
            hour, minute = map(int, window["start"].split(":"))
            opening = datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=tz)
            if opening > local_now and (best is None or opening < best):
                best = opening
        if best is not None:
            return best.astimezone(datetime.UTC)
    return None


@lru_cache(maxsize=65536)
def zone_for_number(e164: str) -> str:
    """The recipient's zone when their number gives exactly one, else "" (the campaign's)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ""
    zones = [z for z in number_timezones.time_zones_for_number(number) if z != UNKNOWN_ZONE]
    if len(zones) != 1:
        return ""
    try:
        zone(zones[0])
    except ZoneInfoNotFoundError:
        return ""
    return zones[0]
