"""An agent's voice settings: turn-taking, interruptions, no dead air, fallbacks.

One JSON document on the agent (`voice_settings`, `voiceSettings` in the API), stored
complete: every key with its value, defaults filled in, so what the API shows is what the
voice worker runs. Updates are partial: the keys sent replace the stored ones.
"""

from __future__ import annotations

from typing import Any

from .validation import ErrorList

TURN_DETECTION_MODES = ("vad", "stt", "model")
THINKING_SOUNDS = (
    "keyboard-typing",
    "keyboard-typing2",
    "office-ambience",
    "city-ambience",
    "forest-ambience",
    "crowded-room",
    "hold-music",
)
FALLBACK_ROLES = ("llm", "stt", "tts")
FALLBACKS_MAX = 3

DEFAULTS: dict[str, Any] = {
    # How the end of the caller's turn is detected: "model" (LiveKit's self-hosted
    # end-of-turn model, falling back to "vad" when its weights are missing), "vad"
    # (silence only) or "stt" (the speech-to-text's own end-of-speech).
    "turnDetection": "model",
    # Seconds of silence after the caller's speech before the turn may end (min) and
    # before it must end although the model thinks the caller is not done (max).
    "endpointingMinDelay": 0.5,
    "endpointingMaxDelay": 3.0,
    # Words the caller must say (as transcribed) before the agent stops talking; 0: any speech.
    "interruptionMinWords": 0,
    # Seconds without a transcript after an interruption before it counts as a false one
    # (a cough, "mm-hm"); then the agent resumes where it stopped if `resumeFalseInterruption`.
    "falseInterruptionTimeout": 2.0,
    "resumeFalseInterruption": True,
    # Start the reply on the interim transcript, before the turn is known to be over.
    "preemptiveGeneration": True,
    # The stall budget: a provider that has not answered within this many seconds is
    # abandoned for the next in `fallbackProviders`.
    "providerTimeoutSeconds": 2.5,
    # Ordered provider ids tried after the agent's own provider of that role.
    "fallbackProviders": {"llm": [], "stt": [], "tts": []},
    # A sound played while the agent thinks (one of THINKING_SOUNDS), or null.
    "thinkingSound": None,
    # A custom function or transfer slower than this says the filler line; null: never.
    "fillerAfterSeconds": 1.5,
    # On silence: how many "are you still there?" before hanging up.
    "silenceReprompts": 1,
    # Outbound calls answered by a machine (answering-machine detection): hang up, or
    # leave `message` when the mailbox takes one (docs/outbound.md).
    "voicemail": {"action": "hangup", "message": ""},
}
VOICEMAIL_ACTIONS = ("hangup", "leave_message")
VOICEMAIL_MESSAGE_MAX = 1000

# key -> (minimum, maximum, nullable)
NUMBERS = {
    "endpointingMinDelay": (0.0, 10.0, False),
    "endpointingMaxDelay": (0.0, 30.0, False),
    "falseInterruptionTimeout": (0.0, 10.0, True),
    "providerTimeoutSeconds": (0.5, 30.0, False),
    "fillerAfterSeconds": (0.0, 30.0, True),
}
# key -> (minimum, maximum)
INTEGERS = {"interruptionMinWords": (0, 20), "silenceReprompts": (0, 3)}
BOOLEANS = ("resumeFalseInterruption", "preemptiveGeneration")


def defaults() -> dict[str, Any]:
    return {
        **DEFAULTS,
        "fallbackProviders": {role: [] for role in FALLBACK_ROLES},
        "voicemail": dict(DEFAULTS["voicemail"]),
    }


def complete(value) -> dict[str, Any]:
    """The stored document with any key it lacks (an older row) at its default."""
    stored = value if isinstance(value, dict) else {}
    merged = {**defaults(), **{k: v for k, v in stored.items() if k in DEFAULTS}}
    fallbacks = merged.get("fallbackProviders")
    merged["fallbackProviders"] = {
        role: list((fallbacks or {}).get(role) or []) if isinstance(fallbacks, dict) else [] for role in FALLBACK_ROLES
    }
    return merged


def clean_voice_settings(errors: ErrorList, value, *, current) -> dict[str, Any]:
    """`value` (the keys to change) applied over `current`; every problem reported as
    `voice_settings.<key>`. Provider ids are checked by the service (they need the catalogue)."""
    result = complete(current)
    if not isinstance(value, dict):
        errors.add("voice_settings", "Must be a JSON object")
        return result
    for key in sorted(set(value) - set(DEFAULTS)):
        errors.add(f"voice_settings.{key}", f"Unknown setting; known settings: {', '.join(DEFAULTS)}")
    for key, item in value.items():
        field = f"voice_settings.{key}"
        if key == "turnDetection":
            if item not in TURN_DETECTION_MODES:
                errors.add(field, f"Must be one of: {', '.join(TURN_DETECTION_MODES)}")
                continue
        elif key in NUMBERS:
            low, high, nullable = NUMBERS[key]
            if item is None and nullable:
                pass
            elif isinstance(item, bool) or not isinstance(item, (int, float)) or not low <= item <= high:
                errors.add(field, f"Must be a number between {low:g} and {high:g}" + (" or null" if nullable else ""))
                continue
            else:
                item = float(item)
        elif key in INTEGERS:
            low, high = INTEGERS[key]
            if isinstance(item, bool) or not isinstance(item, int) or not low <= item <= high:
                errors.add(field, f"Must be a whole number between {low} and {high}")
                continue
        elif key in BOOLEANS:
            if not isinstance(item, bool):
                errors.add(field, "Must be true or false")
                continue
        elif key == "thinkingSound":
            if item is not None and item not in THINKING_SOUNDS:
                errors.add(field, f"Must be null or one of: {', '.join(THINKING_SOUNDS)}")
                continue
        elif key == "fallbackProviders":
            item = _clean_fallbacks(errors, item, current=result["fallbackProviders"])
        elif key == "voicemail":
            item = _clean_voicemail(errors, item)
            if item is None:
                continue
        else:
            continue
        result[key] = item
    if result["endpointingMaxDelay"] < result["endpointingMinDelay"]:
        errors.add("voice_settings.endpointingMaxDelay", "Must be at least endpointingMinDelay")
    return result


def _clean_fallbacks(errors: ErrorList, value, *, current: dict) -> dict:
    if not isinstance(value, dict):
        errors.add("voice_settings.fallbackProviders", 'Must be an object such as {"llm": [2], "tts": []}')
        return current
    result = dict(current)
    for role, ids in value.items():
        field = f"voice_settings.fallbackProviders.{role}"
        if role not in FALLBACK_ROLES:
            errors.add(field, f"Must be one of: {', '.join(FALLBACK_ROLES)}")
        elif not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            errors.add(field, "Must be a list of provider ids")
        elif len(ids) > FALLBACKS_MAX:
            errors.add(field, f"At most {FALLBACKS_MAX} fallback providers")
        elif len(set(ids)) != len(ids):
            errors.add(field, "Each provider may be listed once")
        else:
            result[role] = list(ids)
    return result


def _clean_voicemail(errors: ErrorList, value) -> dict | None:
    field = "voice_settings.voicemail"
    if not isinstance(value, dict) or set(value) - {"action", "message"}:
        errors.add(field, 'Must be an object such as {"action": "leave_message", "message": "..."}')
        return None
    action = value.get("action", "hangup")
    message = value.get("message", "")
    if action not in VOICEMAIL_ACTIONS:
        errors.add(f"{field}.action", f"Must be one of: {', '.join(VOICEMAIL_ACTIONS)}")
        return None
    if not isinstance(message, str) or len(message) > VOICEMAIL_MESSAGE_MAX:
        errors.add(f"{field}.message", f"Must be text of at most {VOICEMAIL_MESSAGE_MAX} characters")
        return None
    if action == "leave_message" and not message.strip():
        errors.add(f"{field}.message", "Required to leave a message")
        return None
    return {"action": action, "message": message.strip()}
