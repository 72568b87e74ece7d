"""The one JSON parser of the API: bounded nesting, and no string the database refuses.

- Nesting deeper than MAX_JSON_DEPTH is refused before `json.loads` sees it (400
  "Malformed JSON in request body"): deep nesting otherwise ends in a RecursionError
  (500) in the decoder, the serializers or the jsonb adapter.
- Every string (values and keys, at any depth, JSON fields included) is checked for
  NUL and lone UTF-16 surrogates, which PostgreSQL text and jsonb reject and which
  cannot be encoded as UTF-8: one field error per offending path ("Validation failed").
"""

import io
import re
from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

MAX_JSON_DEPTH = 64
NUL_MESSAGE = "Null characters are not allowed."
SURROGATE_MESSAGE = "Unpaired surrogate characters are not allowed."

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def json_depth(raw: bytes) -> int:
    """Deepest [/{ nesting of a JSON document, ignoring brackets inside strings."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def string_problem(value: str) -> str | None:
    if "\x00" in value:
        return NUL_MESSAGE
    if _SURROGATE.search(value):
        return SURROGATE_MESSAGE
    return None


def unsafe_strings(data: Any, path: str = "") -> dict[str, list[str]]:
    """{dotted path: [message]} for every string the database could not store."""
    problems: dict[str, list[str]] = {}
    stack = [(path, data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            message = string_problem(value)
            if message:
                problems[where or "nonFieldErrors"] = [message]
        elif isinstance(value, dict):
            for key, item in value.items():
                key_problem = string_problem(key)
                name = _SURROGATE.sub("?", key.replace("\x00", "?"))
                child = f"{where}.{name}" if where else name
                if key_problem:
                    problems[child] = [key_problem]
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend((f"{where}.{index}" if where else str(index), item) for index, item in enumerate(value))
    return problems


class JSONParser(parsers.JSONParser):
    def parse(
        self, stream: IO[Any] | None, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        raw = stream.read() if stream is not None else b""
        if json_depth(raw) > MAX_JSON_DEPTH:
            raise ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        data = super().parse(io.BytesIO(raw), media_type, parser_context)
        problems = unsafe_strings(data)
        if problems:
            raise ValidationError(problems)
        return data


class FormParser(parsers.FormParser):
    def parse(
        self, stream: IO[Any] | None, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        data = super().parse(stream or io.BytesIO(), media_type, parser_context)
        problems = {key: [msg] for key in data for value in data.getlist(key) if (msg := string_problem(value))}
        if problems:
            raise ValidationError(problems)
        return data
