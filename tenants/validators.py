"""Normalise and validate the customer fields a tenant may set.

Each function returns the value to store or raises Django's ValidationError keyed by
model field name (the API shows them camelCase; list items and nested keys are dotted,
e.g. `allowedIps.2`, `settings.theme`).
"""

import functools
import ipaddress
import json
import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from morpheus import e164

from .ip_rules import parse_ip_rule

# At least 7 digits: nothing shorter is a dialable international number.
PHONE_MIN_DIGITS = 7

MAX_ALLOWED_IPS = 100
MAX_SETTINGS_BYTES = 16 * 1024
THEMES = ("light", "dark", "system")


def normalize_phone(value: str | None) -> str:
    """'' or None clears the phone; anything else must be E.164 once formatting is removed."""
    if value is None:
        return ""
    if str(value).strip() == "":
        return ""
    try:
        # Syntax only, as the spec's own example "+1234567890" is not in any numbering plan.
        return e164.compact(str(value), min_digits=PHONE_MIN_DIGITS)
    except e164.InvalidNumber:
        raise ValidationError(
            {"phone": "Phone must be in E.164 format: + then country code and number, 7 to 15 digits"}
        ) from None


def normalize_company_name(value: str | None) -> str:
    name = (value or "").strip()
    if not name:
        raise ValidationError({"company_name": "Company name is required"})
    return name


_AVATAR_URL = URLValidator(schemes=["http", "https"])


def normalize_avatar(value: str | None) -> str | None:
    """An http(s) image URL, or None to remove the avatar."""
    if not value:
        return None
    try:
        _AVATAR_URL(value)
    except ValidationError:
        raise ValidationError({"avatar": "Avatar must be an http or https URL"}) from None
    return value


def format_ip_rule(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    """A single address is stored without its /32 or /128, ranges as CIDR."""
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def normalize_allowed_ips(value) -> list[str] | None:
    """None or [] means no restriction; otherwise distinct canonical IPs and CIDR ranges.

    A range with host bits set (10.1.2.3/8) is refused rather than silently widened or
    narrowed: the caller says which network they meant.
    """
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValidationError({"allowed_ips": "allowedIps must be a list of IP addresses or CIDR ranges"})
    if len(value) > MAX_ALLOWED_IPS:
        raise ValidationError({"allowed_ips": f"allowedIps may hold at most {MAX_ALLOWED_IPS} entries"})
    errors = {}
    rules: list[str] = []
    for index, raw in enumerate(value):
        try:
            rule = _normalize_rule(raw)
        except ValueError as exc:
            errors[f"allowed_ips.{index}"] = str(exc)
            continue
        if rule not in rules:
            rules.append(rule)
    if errors:
        raise ValidationError(errors)
    return rules


def _normalize_rule(raw) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("Must be an IP address or CIDR range such as 203.0.113.7 or 10.0.0.0/8")
    text = raw.strip()
    try:
        return format_ip_rule(ipaddress.ip_network(text, strict=True))
    except ValueError:
        pass
    try:
        widened = parse_ip_rule(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a valid IP address or CIDR range") from None
    raise ValueError(f"'{text}' has host bits set; did you mean {widened}?")


def normalize_settings(value) -> dict:
    """A JSON object of at most 16 KiB; the keys the dashboard relies on are checked."""
    if not isinstance(value, dict):
        raise ValidationError({"settings": "Settings must be a JSON object"})
    if len(json.dumps(value, separators=(",", ":"))) > MAX_SETTINGS_BYTES:
        raise ValidationError({"settings": f"Settings may be at most {MAX_SETTINGS_BYTES} bytes as JSON"})
    errors = {}
    if "theme" in value and value["theme"] not in THEMES:
        errors["settings.theme"] = f"Theme must be one of: {', '.join(THEMES)}"
    if "timezone" in value and not _is_timezone(value["timezone"]):
        errors["settings.timezone"] = "Timezone must be an IANA time zone name such as Europe/Berlin"
    # Recordings (docs/after-the-call.md): the default for agents that say null, and retention.
    if "recordingEnabled" in value and not isinstance(value["recordingEnabled"], bool):
        errors["settings.recordingEnabled"] = "recordingEnabled must be true or false"
    retention = value.get("recordingRetentionDays")
    if "recordingRetentionDays" in value and (
        isinstance(retention, bool) or not isinstance(retention, int) or not 1 <= retention <= 3650
    ):
        errors["settings.recordingRetentionDays"] = "recordingRetentionDays must be a whole number from 1 to 3650"
    if errors:
        raise ValidationError(errors)
    return value


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _is_timezone(name) -> bool:
    return isinstance(name, str) and name in _timezones()


def merge_patch(target: dict, patch: dict) -> dict:
    """RFC 7396 JSON Merge Patch: objects merge key by key, null deletes a key."""
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            current = result.get(key)
            result[key] = merge_patch(current if isinstance(current, dict) else {}, value)
        else:
            result[key] = value
    return result
