"""`{{variable}}` placeholders in an agent's prompt and first message.

The one substitution function: outbound calls (issue 17) and agent test cases (issue 19)
both fill placeholders through `render_variables`, so a prompt behaves the same in a test
as on a call. A placeholder without a value is left as written, so a missing variable is
visible in the transcript instead of silently becoming an empty string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def render_variables(text: str, variables: Mapping[str, object] | None) -> str:
    if not variables or not text:
        return text

    def value(match: re.Match) -> str:
        name = match.group(1)
        return str(variables[name]) if name in variables else match.group(0)

    return PLACEHOLDER.sub(value, text)
