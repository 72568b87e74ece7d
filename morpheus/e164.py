"""E.164 phone numbers, the one module for them: parsing, normalising, country checks and
carrier URIs, with `phonenumbers`.

Pure functions (no models) so every app uses the same rules: the phone-number inventory,
agents' transfer destinations, outbound calls, carrier webhooks (`from_carrier`) and the
company phone (`compact`, syntax only).

"Valid" in libphonenumber means "assigned in the numbering plan"; fictional ranges
such as +1 555 (the spec's own examples) and carrier test numbers are merely
"possible" (right length for the country code). We accept possible numbers, because
BYO carriers and test setups use them, but when libphonenumber can place a number
in a specific country we hold the caller's `country` to it.
"""

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import ValidationResult

# Separators people paste from a dashboard or a carrier console; removed before the
# strict E.164 check, so "+1 (555) 999-8888" is stored as "+15559998888".
_SEPARATORS = re.compile(r"[\s().\-]")
# "+", a country code that does not start with 0, at most 15 digits in all.
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
# libphonenumber's pseudo-region for non-geographic numbers (+800, +882, ...).
_NON_GEOGRAPHIC = "001"

FORMAT_HINT = "Enter the number in E.164 format, e.g. +14155550100"

_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "Unknown country calling code",
    ValidationResult.TOO_SHORT: "Too few digits for its country calling code",
    ValidationResult.TOO_LONG: "Too many digits for its country calling code",
    ValidationResult.INVALID_LENGTH: "Wrong number of digits for its country calling code",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "Only dialable locally; include the full national number",
}


class InvalidNumber(ValueError):
    """The message is written for the person who typed the number."""


@dataclass(frozen=True)
class ParsedNumber:
    e164: str
    calling_code: int
    # ISO 3166-1 alpha-2 when libphonenumber can place the number, else "".
    region: str
    # Every country sharing the calling code (NANP: US, CA, and the Caribbean).
    regions: tuple[str, ...]


def compact(value: str, *, min_digits: int = 2) -> str:
    """The number without separators, checked for E.164 syntax only (no numbering-plan
    check): "+1 (415) 555-0100" -> "+14155550100". Raises InvalidNumber(FORMAT_HINT)."""
    number = _SEPARATORS.sub("", value.strip())
    if not _E164.match(number) or len(number) - 1 < min_digits:
        raise InvalidNumber(FORMAT_HINT)
    return number


def parse_e164(value: object) -> ParsedNumber:
    """Parses a number that must be in international form ("+" and country code)."""
    if not isinstance(value, str):
        raise InvalidNumber(FORMAT_HINT)
    compact_number = compact(value)
    try:
        number = phonenumbers.parse(compact_number, None)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise InvalidNumber(_REASONS[ValidationResult.INVALID_COUNTRY_CODE])
        raise InvalidNumber(FORMAT_HINT)
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != ValidationResult.IS_POSSIBLE:
        raise InvalidNumber(_REASONS.get(reason, FORMAT_HINT))
    regions = tuple(r for r in phonenumbers.region_codes_for_country_code(number.country_code) if r != _NON_GEOGRAPHIC)
    region = ""
    if phonenumbers.is_valid_number(number):
        region = phonenumbers.region_code_for_number(number) or ""
    if region == _NON_GEOGRAPHIC:
        region = ""
    return ParsedNumber(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        calling_code=number.country_code,
        region=region,
        regions=regions,
    )


def normalize_country(value) -> str:
    """An ISO 3166-1 alpha-2 code libphonenumber knows, upper-cased; "" stays ""."""
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or value.strip().upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidNumber("Enter a two-letter ISO 3166-1 country code, e.g. US")
    return value.strip().upper()


def country_for(parsed: ParsedNumber, country: str) -> str:
    """The country to store for the number: the caller's, checked, or the inferred one.

    A number libphonenumber places exactly must match `country`; a merely possible
    one must at least share its calling code with it (+1 555 with "CA" is fine,
    with "GB" it is not).
    """
    if not country:
        if parsed.region:
            return parsed.region
        # The calling code's main country (+1 -> US), if it is a geographic code.
        main = phonenumbers.region_code_for_country_code(parsed.calling_code)
        return "" if main in (_NON_GEOGRAPHIC, "ZZ") else main
    if parsed.region and parsed.region != country:
        raise InvalidNumber(f"{parsed.e164} is a {parsed.region} number, not {country}")
    if not parsed.region and country not in parsed.regions:
        raise InvalidNumber(f"{parsed.e164} (+{parsed.calling_code}) is not a {country} number")
    return country


def from_carrier(value: str) -> str | None:
    """A number as carriers send it: `+14155550100`, `tel:+14155550100` or
    `sip:+14155550100@host;user=phone` -> E.164, else None (anonymous, a SIP user name)."""
    value = (value or "").strip()
    lowered = value.lower()
    for scheme in ("sips:", "sip:", "tel:"):
        if lowered.startswith(scheme):
            value = value[len(scheme) :]
            break
    value = value.split("@", 1)[0].split(";", 1)[0].strip()
    if not value.startswith("+"):
        return None
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
