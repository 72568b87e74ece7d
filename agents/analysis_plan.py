"""An agent's post-call analysis plan: validation, and the JSON schema the model must fill.

    {
      "summaryPrompt": "Summarise for the sales team",         # optional
      "fields": [{"name": "orderId", "type": "string", "description": "...", "required": true},
                 {"name": "intent", "type": "enum", "choices": ["buy", "support"], "description": "..."}],
      "successRubric": {"type": "pass_fail" | "score_1_10", "prompt": "Did the caller book?"},  # optional
      "model": "gpt-4o-mini",                                  # optional: ANALYSIS_DEFAULT_MODEL
      "minTurns": 2,                                           # fewer caller+agent turns: skipped
      "sampleRate": 1.0                                        # share of calls analysed (0-1)
    }

calls/analysis.py runs it after a call; agents/services.py validates it on write.
"""

from __future__ import annotations

import re

FIELD_TYPES = ("string", "number", "boolean", "enum")
RUBRIC_TYPES = ("pass_fail", "score_1_10")
SENTIMENTS = ("positive", "neutral", "negative")
FIELD_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,63}$")
FIELDS_MAX, CHOICES_MAX = 30, 50
PROMPT_MAX, DESCRIPTION_MAX, CHOICE_MAX, MODEL_MAX = 4_000, 1_000, 100, 100
MIN_TURNS_MAX = 1_000
PLAN_KEYS = ("summaryPrompt", "fields", "successRubric", "model", "minTurns", "sampleRate")
FIELD_KEYS = ("name", "type", "description", "choices", "required")
DEFAULTS = {"fields": [], "minTurns": 2, "sampleRate": 1.0}


def _text(errors, path: str, value, max_length: int, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        errors.add(path, "Must be a non-empty string" if required else "Must be a string")
        return None
    if len(value) > max_length:
        errors.add(path, f"Must be at most {max_length} characters")
        return None
    return value.strip()


def _is_object(errors, path: str, value, *, keys: tuple[str, ...], shape: str) -> bool:
    """Whether `value` is a JSON object (else the error `shape`); keys outside `keys` are
    one error on the object itself, for the plan and each of its fields alike."""
    if not isinstance(value, dict):
        errors.add(path, shape)
        return False
    unknown = sorted(set(value) - set(keys))
    if unknown:
        errors.add(path, f"Unknown keys: {', '.join(unknown)}")
    return True


def _field(errors, path: str, raw, seen: set[str]) -> dict | None:
    if not _is_object(errors, path, raw, keys=FIELD_KEYS, shape="Must be an object with name, type and description"):
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not FIELD_NAME.match(name):
        errors.add(f"{path}.name", "Must start with a letter or _ and use only letters, digits and _ (max 64)")
    elif name in seen:
        errors.add(f"{path}.name", f"Duplicate field name '{name}'")
    else:
        seen.add(name)
    kind = raw.get("type")
    if kind not in FIELD_TYPES:
        errors.add(f"{path}.type", f"Must be one of: {', '.join(FIELD_TYPES)}")
    description = _text(errors, f"{path}.description", raw.get("description"), DESCRIPTION_MAX, required=True)
    required = raw.get("required", False)
    if not isinstance(required, bool):
        errors.add(f"{path}.required", "Must be true or false")
    field = {"name": name, "type": kind, "description": description, "required": required}
    choices = raw.get("choices")
    if kind == "enum":
        if (
            not isinstance(choices, list)
            or not 1 <= len(choices) <= CHOICES_MAX
            or not all(isinstance(c, str) and c.strip() and len(c) <= CHOICE_MAX for c in choices)
            or len(set(choices)) != len(choices)
        ):
            errors.add(f"{path}.choices", f"An enum needs 1 to {CHOICES_MAX} distinct non-empty strings")
        else:
            field["choices"] = choices
    elif choices is not None:
        errors.add(f"{path}.choices", "Only enum fields have choices")
    return field


def clean_analysis_plan(errors, value, field: str = "analysis_plan") -> dict | None:
    """The normalised plan (defaults filled in), or None to turn analysis off."""
    if value is None:
        return None
    if not _is_object(errors, field, value, keys=PLAN_KEYS, shape="Must be an object, or null for no analysis"):
        return None
    plan: dict = {**DEFAULTS}
    summary = _text(errors, f"{field}.summaryPrompt", value.get("summaryPrompt"), PROMPT_MAX, required=False)
    if summary:
        plan["summaryPrompt"] = summary
    fields = value.get("fields", [])
    if not isinstance(fields, list) or len(fields) > FIELDS_MAX:
        errors.add(f"{field}.fields", f"Must be a list of at most {FIELDS_MAX} fields")
    else:
        seen: set[str] = set()
        plan["fields"] = [_field(errors, f"{field}.fields.{i}", raw, seen) for i, raw in enumerate(fields)]
    rubric = value.get("successRubric")
    if rubric is not None:
        if not isinstance(rubric, dict) or rubric.get("type") not in RUBRIC_TYPES:
            errors.add(f"{field}.successRubric.type", f"Must be one of: {', '.join(RUBRIC_TYPES)}")
        else:
            prompt = _text(errors, f"{field}.successRubric.prompt", rubric.get("prompt"), PROMPT_MAX, required=True)
            plan["successRubric"] = {"type": rubric["type"], "prompt": prompt}
    model = _text(errors, f"{field}.model", value.get("model"), MODEL_MAX, required=False)
    if model:
        plan["model"] = model
    min_turns = value.get("minTurns", DEFAULTS["minTurns"])
    if isinstance(min_turns, bool) or not isinstance(min_turns, int) or not 0 <= min_turns <= MIN_TURNS_MAX:
        errors.add(f"{field}.minTurns", f"Must be a whole number from 0 to {MIN_TURNS_MAX}")
    else:
        plan["minTurns"] = min_turns
    rate = value.get("sampleRate", DEFAULTS["sampleRate"])
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        errors.add(f"{field}.sampleRate", "Must be a number from 0 to 1")
    else:
        plan["sampleRate"] = float(rate)
    return plan


def _value_schema(field: dict) -> dict:
    kinds = {"string": {"type": "string"}, "number": {"type": "number"}, "boolean": {"type": "boolean"}}
    schema = {"type": "string", "enum": field["choices"]} if field["type"] == "enum" else dict(kinds[field["type"]])
    if not field.get("required"):
        # Strict structured output wants every key present: optional ones may be null.
        schema = {"anyOf": [schema, {"type": "null"}]}
    schema["description"] = field["description"]
    return schema


def result_schema(plan: dict) -> dict:
    """The JSON schema of the model's answer (OpenAI strict structured output compatible:
    every property required, no additional properties)."""
    data = {
        "type": "object",
        "properties": {f["name"]: _value_schema(f) for f in plan.get("fields", [])},
        "required": [f["name"] for f in plan.get("fields", [])],
        "additionalProperties": False,
    }
    properties: dict = {
        "summary": {"type": "string", "description": "A short summary of the call"},
        "sentiment": {"type": "string", "enum": list(SENTIMENTS), "description": "The caller's overall sentiment"},
        "data": data,
    }
    rubric = plan.get("successRubric")
    if rubric and rubric["type"] == "pass_fail":
        properties["successful"] = {"type": "boolean", "description": rubric["prompt"]}
    elif rubric:
        properties["score"] = {"type": "integer", "minimum": 1, "maximum": 10, "description": rubric["prompt"]}
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
