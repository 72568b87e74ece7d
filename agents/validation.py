"""Limits and validators for an agent's configuration, shared by every entry point.

Services call these (the API and Django admin both go through services), so a rule
lives in exactly one place. Validators normalise what they accept and report every
problem at once through `ErrorList`, keyed by model field name with dotted paths
into the JSON documents (`functions.0.parameters`); the API's exception handler
camel-cases the leading field name (`end_call_phrases.1` -> `endCallPhrases.1`).
"""

import ipaddress
import json
import re
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from morpheus.e164 import InvalidNumber, parse_e164

# --- Limits (the serializers declare the same numbers so the OpenAPI schema shows them)
NAME_MAX = 120
DESCRIPTION_MAX = 2_000
SYSTEM_PROMPT_MAX = 20_000
FIRST_MESSAGE_MAX = 2_000
VOICE_ID_MAX = 100
MODEL_MAX = 100
LANGUAGE_MAX = 16
TEMPERATURE_MIN, TEMPERATURE_MAX = 0.0, 2.0
INTERRUPTION_MIN_DURATION_MAX = 10.0
SILENCE_TIMEOUT_MIN, SILENCE_TIMEOUT_MAX = 5, 600
MAX_DURATION_MIN, MAX_DURATION_MAX = 10, 4 * 60 * 60
END_CALL_PHRASES_MAX, END_CALL_PHRASE_MAX = 20, 200
TRANSFERS_MAX, TRANSFER_NAME_MAX, TRANSFER_TEXT_MAX, SIP_URI_MAX = 20, 64, 1_000, 255
FUNCTIONS_MAX, FUNCTION_DESCRIPTION_MAX, FUNCTION_URL_MAX = 32, 1_024, 2_048
FUNCTION_PARAMETERS_MAX_CHARS = 16_000
METADATA_MAX_CHARS = 16_000

# Tools the voice pipeline always gives the model; a custom function may not shadow them.
BUILT_IN_TOOLS = ("end_call", "transfer_call")
# The one tool-name rule (the API checks it on save, the voice worker before offering a
# tool): what OpenAI-style APIs accept as a function name, starting with a letter or _.
FUNCTION_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$")
# BCP 47-ish: "en", "en-US", "pt-BR", "zh-Hans-CN"; plus Deepgram's "multi" (code-switching).
LANGUAGE = re.compile(r"^(?:[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*|multi)$")
SIP_URI = re.compile(r"^sips?:(?:[^@\s]+@)?[A-Za-z0-9.\-]+(?::\d{1,5})?(?:;[^\s]*)?$")

TRANSFER_KEYS = ("name", "destination", "description", "message", "mode")
# cold: the caller is handed over (SIP REFER); warm: the agent first calls the destination,
# tells the person there what the call is about, and connects the caller only if they accept.
TRANSFER_MODES = ("cold", "warm")
FUNCTION_KEYS = ("name", "description", "parameters", "url")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


class ErrorList:
    """Collects {field path: [messages]} and raises them as one ValidationError."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def has(self, field: str) -> bool:
        return field in self.by_field

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def _json_chars(value) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


TOO_LONG = "Ensure this field has no more than {max_length} characters."


def clean_text(
    errors: ErrorList,
    field: str,
    value,
    *,
    max_length: int,
    required: bool = False,
    strip: bool = True,
    too_long: str = TOO_LONG,
):
    """A string of bounded length; returns the (stripped) text or None when invalid.
    `too_long` is the message of a text over `max_length` (an API's own wording)."""
    if not isinstance(value, str):
        errors.add(field, "Must be a string")
        return None
    text = value.strip() if strip else value
    if required and not text.strip():
        errors.add(field, "This field may not be blank.")
        return None
    if len(text) > max_length:
        errors.add(field, too_long.format(max_length=max_length))
        return None
    return text


def _unknown_keys(errors: ErrorList, path: str, item: dict, allowed: tuple[str, ...]) -> None:
    for key in item:
        if key not in allowed:
            errors.add(f"{path}.{key}", f"Unknown field; allowed: {', '.join(allowed)}")


def _bounded_list(errors: ErrorList, field: str, value, *, max_items: int, of: str, counted: str) -> list:
    """The items of a JSON list of at most `max_items`; anything else is one error on the
    field ("Must be a list of {of}", "At most {max_items} {counted}") and no items."""
    if not isinstance(value, list):
        errors.add(field, f"Must be a list of {of}")
        return []
    if len(value) > max_items:
        errors.add(field, f"At most {max_items} {counted}")
        return []
    return value


def json_objects(
    errors: ErrorList,
    field: str,
    items: list,
    *,
    shape: str,
    keys: tuple[str, ...],
    report_unknown: Callable[[ErrorList, str, dict, tuple[str, ...]], None] | None = None,
) -> Iterator[tuple[str, dict]]:
    """(path, item) for each item of a list that is a JSON object (agents' transfers and
    functions, test cases' turns and mocks); an item that is not is reported as `shape`
    and skipped. Keys outside `keys` are reported by `report_unknown` (by default each on
    its own path: "Unknown field; allowed: ..."), and the item is still yielded."""
    report = report_unknown or _unknown_keys
    for index, item in enumerate(items):
        path = f"{field}.{index}"
        if not isinstance(item, dict):
            errors.add(path, shape)
            continue
        report(errors, path, item, keys)
        yield path, item


def clean_end_call_phrases(errors: ErrorList, value) -> list[str]:
    field = "end_call_phrases"
    items = _bounded_list(errors, field, value, max_items=END_CALL_PHRASES_MAX, of="phrases", counted="phrases")
    phrases = []
    for index, phrase in enumerate(items):
        text = clean_text(errors, f"{field}.{index}", phrase, max_length=END_CALL_PHRASE_MAX, required=True)
        if text is not None:
            phrases.append(text)
    return phrases


def clean_transfer_destination(value) -> str:
    """An E.164 number (normalised) or a sip:/sips: URI; raises InvalidNumber."""
    if isinstance(value, str) and value.strip().lower().startswith(("sip:", "sips:")):
        uri = value.strip()
        if len(uri) > SIP_URI_MAX or not SIP_URI.match(uri):
            raise InvalidNumber("Enter a SIP URI such as sip:desk@pbx.example.com")
        return uri
    try:
        return parse_e164(value).e164
    except InvalidNumber as exc:
        raise InvalidNumber(f"Enter an E.164 number or a SIP URI ({exc})")


def clean_transfers(errors: ErrorList, value) -> list[dict]:
    field = "transfers"
    noun = "transfer destinations"
    items = _bounded_list(errors, field, value, max_items=TRANSFERS_MAX, of=noun, counted=noun)
    cleaned, seen = [], set()
    shape = "Must be an object with name and destination"
    for path, item in json_objects(errors, field, items, shape=shape, keys=TRANSFER_KEYS):
        transfer = {}
        if "name" not in item:
            errors.add(f"{path}.name", "This field is required.")
        else:
            name = clean_text(errors, f"{path}.name", item["name"], max_length=TRANSFER_NAME_MAX, required=True)
            if name is not None and name.lower() in seen:
                errors.add(f"{path}.name", f"Duplicate transfer name '{name}'")
            elif name is not None:
                seen.add(name.lower())
                transfer["name"] = name
        if "destination" not in item:
            errors.add(f"{path}.destination", "This field is required.")
        else:
            try:
                transfer["destination"] = clean_transfer_destination(item["destination"])
            except InvalidNumber as exc:
                errors.add(f"{path}.destination", str(exc))
        for key in ("description", "message"):
            text = clean_text(errors, f"{path}.{key}", item.get(key, ""), max_length=TRANSFER_TEXT_MAX)
            if text is not None:
                transfer[key] = text
        mode = item.get("mode", "cold")
        if mode not in TRANSFER_MODES:
            errors.add(f"{path}.mode", f"Must be one of: {', '.join(TRANSFER_MODES)}")
        else:
            transfer["mode"] = mode
        cleaned.append(transfer)
    return cleaned


def _function_url_problem(url: str) -> str | None:
    """Why `url` may not be called by the voice pipeline, or None.

    HTTPS only: the request carries the caller's words. Plain http to this machine
    is allowed only when DEBUG is on, for local development and tests. IP literals
    in private, loopback or link-local ranges are refused (cloud metadata and
    internal services); names are resolved again when the pipeline calls them.
    """
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        return "Enter a valid URL, e.g. https://api.example.com/tools/lookup"
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    local_dev = settings.DEBUG and host in LOCAL_HOSTS
    if parts.scheme != "https" and not local_dev:
        return "Must be an https:// URL (http is allowed only for localhost when DEBUG is on)"
    if host in LOCAL_HOSTS and not local_dev:
        return "Must be a public address, not localhost"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not local_dev and not address.is_global:
        return "Must be a public address, not a private, loopback or link-local IP"
    return None


def _clean_parameters(errors: ErrorList, path: str, parameters) -> dict | None:
    if not isinstance(parameters, dict):
        errors.add(path, 'Must be a JSON Schema object such as {"type": "object", "properties": {...}}')
        return None
    if parameters.get("type") != "object":
        errors.add(path, 'The top-level schema must have "type": "object"')
        return None
    if _json_chars(parameters) > FUNCTION_PARAMETERS_MAX_CHARS:
        errors.add(path, f"The schema may not exceed {FUNCTION_PARAMETERS_MAX_CHARS:,} characters of JSON")
        return None
    try:
        Draft202012Validator.check_schema(parameters)
    except SchemaError as exc:
        where = ".".join(str(part) for part in exc.path)
        errors.add(path, f"Invalid JSON Schema{f' at {where}' if where else ''}: {exc.message}")
        return None
    return parameters


def clean_functions(errors: ErrorList, value) -> list[dict]:
    field = "functions"
    items = _bounded_list(errors, field, value, max_items=FUNCTIONS_MAX, of="tool definitions", counted="functions")
    cleaned, seen = [], set()
    shape = "Must be an object with name, description, parameters and url"
    for path, item in json_objects(errors, field, items, shape=shape, keys=FUNCTION_KEYS):
        function = {}
        name = item.get("name")
        if "name" not in item:
            errors.add(f"{path}.name", "This field is required.")
        elif not isinstance(name, str) or not FUNCTION_NAME.match(name):
            errors.add(
                f"{path}.name",
                "Must start with a letter or underscore and use only letters, digits, _ and - (at most 64)",
            )
        elif name in BUILT_IN_TOOLS:
            errors.add(f"{path}.name", f"'{name}' is a built-in tool; choose another name")
        elif name in seen:
            errors.add(f"{path}.name", f"Duplicate function name '{name}'")
        else:
            seen.add(name)
            function["name"] = name
        if "description" not in item:
            errors.add(f"{path}.description", "This field is required.")
        else:
            description = clean_text(
                errors, f"{path}.description", item["description"], max_length=FUNCTION_DESCRIPTION_MAX, required=True
            )
            if description is not None:
                function["description"] = description
        no_parameters = {"type": "object", "properties": {}}
        parameters = _clean_parameters(errors, f"{path}.parameters", item.get("parameters", no_parameters))
        if parameters is not None:
            function["parameters"] = parameters
        url = item.get("url")
        if "url" not in item:
            errors.add(f"{path}.url", "This field is required.")
        elif not isinstance(url, str) or len(url) > FUNCTION_URL_MAX:
            errors.add(f"{path}.url", f"Enter a URL of at most {FUNCTION_URL_MAX:,} characters")
        elif problem := _function_url_problem(url.strip()):
            errors.add(f"{path}.url", problem)
        else:
            function["url"] = url.strip()
        cleaned.append(function)
    return cleaned


def clean_metadata(errors: ErrorList, value) -> dict:
    if not isinstance(value, dict):
        errors.add("metadata", "Must be a JSON object")
        return {}
    if _json_chars(value) > METADATA_MAX_CHARS:
        errors.add("metadata", f"May not exceed {METADATA_MAX_CHARS:,} characters of JSON")
        return {}
    return value
