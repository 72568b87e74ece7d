"""What makes a valid test case: checked before anything is saved, by the API and the admin.

Errors name the field the way the API spells it (`turns.0.expect.regex`), so a dashboard
can put each message next to its input. Expectations that could never be evaluated — a
regex that does not compile, an empty judge, a toolCall or mock naming a tool the agent
does not have — are refused here rather than failing every run later.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from agents.validation import ErrorList, clean_text, json_objects
from agents.variables import VARIABLE_NAME

NAME_MAX = 120
TURNS_MAX = 50
USER_TEXT_MAX = 4000
TEXT_LIST_MAX = 20
TEXT_ITEM_MAX = 500
REGEX_MAX = 500
JUDGE_MAX = 2000
MOCKS_MAX = 50
VARIABLES_MAX = 50
VARIABLE_VALUE_MAX = 2000
PERSONA_MAX = 4000
GOAL_MAX = 2000
MAX_TURNS_LIMIT = 20

END_CALL_TOOL = "end_call"
TRANSFER_TOOL = "transfer_call"
EXPECT_KEYS = {"toolCall", "contains", "notContains", "regex", "judge"}
TURN_KEYS = ("user", "expect")
MOCK_KEYS = ("tool", "match", "result")
SIMULATED_CALLER_KEYS = ("persona", "goal", "maxTurns")


def agent_tools(agent) -> tuple[set[str], set[str]]:
    """(every tool the agent offers the model, the tools a mock may replace)."""
    functions = {f["name"] for f in agent.functions or [] if isinstance(f, dict) and isinstance(f.get("name"), str)}
    mockable = set(functions)
    if agent.transfers:
        mockable.add(TRANSFER_TOOL)
    return mockable | {END_CALL_TOOL}, mockable


def _text(errors: ErrorList, field: str, value, *, max_length: int, required: bool = True) -> str | None:
    return clean_text(
        errors, field, value, max_length=max_length, required=required, too_long="At most {max_length} characters"
    )


def _texts(errors: ErrorList, field: str, value) -> list[str] | None:
    if not isinstance(value, list) or not value:
        errors.add(field, "Must be a non-empty list of strings")
        return None
    if len(value) > TEXT_LIST_MAX:
        errors.add(field, f"At most {TEXT_LIST_MAX} items")
        return None
    cleaned = []
    for index, item in enumerate(value):
        text = _text(errors, f"{field}.{index}", item, max_length=TEXT_ITEM_MAX)
        if text is not None:
            cleaned.append(text)
    return cleaned


def _report_unknown_keys(errors: ErrorList, field: str, value: dict, keys: tuple[str, ...]) -> None:
    unknown = set(value) - set(keys)
    if unknown:
        errors.add(field, f"Unknown keys: {', '.join(sorted(unknown))}")


def _objects(
    errors: ErrorList, name: str, items: list, keys: tuple[str, ...], *, most: int, noun: str
) -> Iterator[tuple[str, dict]]:
    """Each object of the list `items` with its field name (`turns.3`, the object).

    Turns and tool mocks are both lists of `{key, ...}` objects checked alike: more than
    `most` items is one error on the list, an item that is not an object is reported and
    skipped, and an object with keys other than `keys` is reported but still cleaned."""
    if len(items) > most:
        errors.add(name, f"At most {most} {noun}")
        return
    shape = f"Must be an object: {{{', '.join(keys)}}}"
    yield from json_objects(errors, name, items, shape=shape, keys=keys, report_unknown=_report_unknown_keys)


def _expect(errors: ErrorList, field: str, value, tools: set[str]) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add(field, "Must be an object")
        return {}
    unknown = set(value) - EXPECT_KEYS
    if unknown:
        errors.add(field, f"Unknown expectations: {', '.join(sorted(unknown))}; use {', '.join(sorted(EXPECT_KEYS))}")
    expect: dict = {}
    if "toolCall" in value:
        call = value["toolCall"]
        if not isinstance(call, dict) or not isinstance(call.get("name"), str) or not call["name"].strip():
            errors.add(f"{field}.toolCall", "Must be an object with the tool's name")
        else:
            name = call["name"].strip()
            arguments = call.get("arguments", {})
            if name not in tools:
                errors.add(
                    f"{field}.toolCall.name",
                    f"The agent has no tool '{name}'; its tools are: {', '.join(sorted(tools))}",
                )
            elif not isinstance(arguments, dict):
                errors.add(f"{field}.toolCall.arguments", "Must be an object (the arguments that must match)")
            else:
                expect["toolCall"] = {"name": name, "arguments": arguments}
    for key in ("contains", "notContains"):
        if key in value:
            texts = _texts(errors, f"{field}.{key}", value[key])
            if texts is not None:
                expect[key] = texts
    if "regex" in value:
        pattern = _text(errors, f"{field}.regex", value["regex"], max_length=REGEX_MAX)
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                errors.add(f"{field}.regex", f"Invalid regular expression: {exc}")
            else:
                expect["regex"] = pattern
    if "judge" in value:
        judge = value["judge"]
        if not isinstance(judge, str) or not judge.strip():
            errors.add(f"{field}.judge", "Describe what the reply must achieve for the judge to evaluate it")
        else:
            judge = _text(errors, f"{field}.judge", judge, max_length=JUDGE_MAX)
            if judge is not None:
                expect["judge"] = judge
    return expect


def clean_turns(errors: ErrorList, value, tools: set[str]) -> list[dict]:
    if not isinstance(value, list) or not value:
        errors.add("turns", "Add at least one turn: {user, expect}")
        return []
    turns = []
    for field, turn in _objects(errors, "turns", value, TURN_KEYS, most=TURNS_MAX, noun="turns"):
        user = _text(errors, f"{field}.user", turn.get("user"), max_length=USER_TEXT_MAX)
        expect = _expect(errors, f"{field}.expect", turn.get("expect"), tools)
        if user is not None:
            turns.append({"user": user, "expect": expect})
    return turns


def clean_tool_mocks(errors: ErrorList, value, mockable: set[str]) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add("toolMocks", "Must be a list of {tool, match, result}")
        return []
    mocks = []
    for field, mock in _objects(errors, "toolMocks", value, MOCK_KEYS, most=MOCKS_MAX, noun="mocks"):
        tool = mock.get("tool")
        if not isinstance(tool, str) or not tool.strip():
            errors.add(f"{field}.tool", "Name the custom function (or transfer_call) this mock replaces")
            continue
        tool = tool.strip()
        if tool not in mockable:
            offered = ", ".join(sorted(mockable)) or "none (it has no custom functions or transfers)"
            errors.add(f"{field}.tool", f"The agent has no tool '{tool}' to mock; mockable tools: {offered}")
            continue
        match = mock.get("match", {})
        if not isinstance(match, dict):
            errors.add(f"{field}.match", "Must be an object: the arguments a call must have to get this result")
            continue
        if "result" not in mock:
            errors.add(f"{field}.result", "This field is required.")
            continue
        mocks.append({"tool": tool, "match": match, "result": mock["result"]})
    return mocks


def clean_variables(errors: ErrorList, value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add("variables", "Must be an object of {name: value}")
        return {}
    if len(value) > VARIABLES_MAX:
        errors.add("variables", f"At most {VARIABLES_MAX} variables")
        return {}
    variables = {}
    for name, item in value.items():
        if not VARIABLE_NAME.match(name):
            errors.add(f"variables.{name}", "Variable names are letters, digits and _ (not starting with a digit)")
        elif not isinstance(item, (str, int, float)) or isinstance(item, bool):
            errors.add(f"variables.{name}", "Must be a string or a number")
        elif len(str(item)) > VARIABLE_VALUE_MAX:
            errors.add(f"variables.{name}", f"At most {VARIABLE_VALUE_MAX} characters")
        else:
            variables[name] = item
    return variables


def clean_simulated_caller(errors: ErrorList, value) -> dict:
    if not isinstance(value, dict):
        errors.add("simulatedCaller", "Must be an object: {persona, goal, maxTurns}")
        return {}
    _report_unknown_keys(errors, "simulatedCaller", value, SIMULATED_CALLER_KEYS)
    persona = _text(errors, "simulatedCaller.persona", value.get("persona"), max_length=PERSONA_MAX)
    goal = _text(errors, "simulatedCaller.goal", value.get("goal"), max_length=GOAL_MAX)
    max_turns = value.get("maxTurns", 6)
    if isinstance(max_turns, bool) or not isinstance(max_turns, int) or not 1 <= max_turns <= MAX_TURNS_LIMIT:
        errors.add("simulatedCaller.maxTurns", f"Must be a whole number between 1 and {MAX_TURNS_LIMIT}")
        max_turns = None
    if persona is None or goal is None or max_turns is None:
        return {}
    return {"persona": persona, "goal": goal, "max_turns": max_turns}
