import re

import pytest

from morpheus.e164 import InvalidNumber, country_for, normalize_country, parse_e164


@pytest.mark.parametrize(
    ("raw", "e164", "region"),
    [
        ("+15559998888", "+15559998888", ""),  # fictional 555 range: possible, not assigned
        ("+1 (415) 555-0123", "+14155550123", "US"),
        ("+44 20 7946 0958", "+442079460958", "GB"),
        ("+33 6 12 34 56 78", "+33612345678", "FR"),
        ("+80012345678", "+80012345678", ""),  # international freephone, no country
    ],
)
def test_it_parses_and_normalises(raw, e164, region):
    parsed = parse_e164(raw)
    assert (parsed.e164, parsed.region) == (e164, region)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("4155550123", "Enter the number in E.164 format, e.g. +14155550100"),
        ("+1 415 555 0123 ext. 7", "Enter the number in E.164 format, e.g. +14155550100"),
        ("+1555", "Too few digits for its country calling code"),
        ("+1555999888812", "Too many digits for its country calling code"),
        ("+999123456789", "Unknown country calling code"),
        (None, "Enter the number in E.164 format, e.g. +14155550100"),
    ],
)
def test_it_explains_what_is_wrong(raw, message):
    with pytest.raises(InvalidNumber, match=f"^{re.escape(message)}$"):
        parse_e164(raw)


def test_countries_are_checked_against_the_number():
    assert country_for(parse_e164("+14155550123"), "US") == "US"
    assert country_for(parse_e164("+15559998888"), "CA") == "CA"  # shares +1
    assert country_for(parse_e164("+15559998888"), "") == "US"  # the calling code's main country
    assert country_for(parse_e164("+80012345678"), "") == ""
    with pytest.raises(InvalidNumber, match="is a US number, not CA"):
        country_for(parse_e164("+14155550123"), "CA")
    with pytest.raises(InvalidNumber, match=r"\(\+1\) is not a GB number"):
        country_for(parse_e164("+15559998888"), "GB")


def test_country_codes_are_iso_alpha_2():
    assert normalize_country(" us ") == "US"
    assert normalize_country("") == ""
    for bad in ("XX", "USA", 1):
        with pytest.raises(InvalidNumber):
            normalize_country(bad)
