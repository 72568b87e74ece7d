"""Phone numbers as carriers send them: E.164, `tel:` or `sip:` URIs."""

import phonenumbers


def e164(value: str) -> str | None:
    """`+14155550100`, `tel:+14155550100`, `sip:+14155550100@host;user=phone` → E.164, else None."""
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
