"""Writes for the agents app: the provider catalogue's checks and agent configuration.

Every rule about what makes a valid agent lives here (and in `validation`), so the
API and Django admin accept exactly the same configurations.
"""

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from morpheus import outbox
from morpheus.errors import Conflict, NotFound
from morpheus.services import model_save_changed
from tenants.credentials import platform_key_setting, provider_credential
from tenants.models import Customer

from . import validation as v
from . import voice_settings as vs
from .analysis_plan import clean_analysis_plan
from .models import Agent, AgentStatus, AgentVersion, LLMProvider, ProviderBase, STTProvider, TTSProvider
from .selectors import agent_has_open_call
from .validation import ErrorList
from .versions import BEHAVIOUR_FIELDS, agent_snapshot

# assign(field, value, differs=False): sets a field and records it as changed.
Assign = Callable[..., None]

# (kind, catalogue table, label in messages)
PROVIDER_KINDS: tuple[tuple[str, type[ProviderBase], str], ...] = (
    ("llm", LLMProvider, "LLM"),
    ("stt", STTProvider, "STT"),
    ("tts", TTSProvider, "TTS"),
)

# field -> (max length, required, strip surrounding whitespace)
TEXT_FIELDS = {
    "name": (v.NAME_MAX, True, True),
    "description": (v.DESCRIPTION_MAX, False, True),
    # Prompts are kept exactly as written: leading indentation can matter to the author.
    "system_prompt": (v.SYSTEM_PROMPT_MAX, False, False),
    "first_message": (v.FIRST_MESSAGE_MAX, False, True),
}
# field -> (minimum, maximum, whole numbers only)
NUMBER_FIELDS = {
    "llm_temperature": (v.TEMPERATURE_MIN, v.TEMPERATURE_MAX, False),
    "interruption_min_duration": (0.0, v.INTERRUPTION_MIN_DURATION_MAX, False),
    "silence_timeout_seconds": (v.SILENCE_TIMEOUT_MIN, v.SILENCE_TIMEOUT_MAX, True),
    "max_duration_seconds": (v.MAX_DURATION_MIN, v.MAX_DURATION_MAX, True),
}
# field -> cleaner(errors, raw value) -> the normalised value
JSON_FIELDS: dict[str, Callable[[ErrorList, Any], Any]] = {
    "end_call_phrases": v.clean_end_call_phrases,
    "transfers": v.clean_transfers,
    "functions": v.clean_functions,
    "metadata": v.clean_metadata,
    "analysis_plan": clean_analysis_plan,
}
# What callers may set: model field names, with the providers as `<kind>_provider_id`.
AGENT_FIELDS = frozenset(
    {
        *TEXT_FIELDS,
        *NUMBER_FIELDS,
        *JSON_FIELDS,
        "voice_id",
        "language",
        "status",
        "allow_interruptions",
        "recording_enabled",
        "voice_settings",
        "auto_run_tests",
        *(f"{kind}_provider_id" for kind, _, _ in PROVIDER_KINDS),
        *(f"{kind}_model" for kind, _, _ in PROVIDER_KINDS),
    }
)


# --- Provider catalogue ------------------------------------------------------------


def _clean_name_list(errors: ErrorList, field: str, value: Any, *, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        errors.add(field, f"Must be a list of {what} names (an empty list accepts any {what})")
        return []
    names = [item.strip() for item in value]
    if len(set(names)) != len(names):
        errors.add(field, f"Each {what} may be listed once")
    if any(len(name) > v.MODEL_MAX for name in names):
        errors.add(field, f"{what.capitalize()} names are at most {v.MODEL_MAX} characters")
    return names


def provider_validate(*, provider: ProviderBase) -> None:
    """Checks a catalogue row before Django admin saves it; normalises its lists."""
    errors = ErrorList()
    provider.available_models = _clean_name_list(errors, "available_models", provider.available_models, what="model")
    if not (provider.default_model or "").strip():
        errors.add("default_model", "Every provider needs a default model")
    elif not errors.has("available_models") and not provider.offers_model(provider.default_model):
        errors.add("default_model", "The default model must be one of the available models")
    if isinstance(provider, TTSProvider):
        provider.voices = _clean_name_list(errors, "voices", provider.voices, what="voice")
        if not (provider.default_voice or "").strip():
            errors.add("default_voice", "Every TTS provider needs a default voice")
        elif not errors.has("voices") and not provider.offers_voice(provider.default_voice):
            errors.add("default_voice", "The default voice must be one of the voices")
    errors.raise_if_any()


# --- Agents ------------------------------------------------------------------------


def _number(errors: ErrorList, field: str, value: Any, *, low: float, high: float, whole: bool) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not float(value).is_integer()):
        errors.add(field, "A valid integer is required." if whole else "A valid number is required.")
        return None
    if not low <= value <= high:
        errors.add(field, f"Must be between {low:g} and {high:g}")
        return None
    return int(value) if whole else float(value)


def _choices(provider: ProviderBase, offered: list[str]) -> str:
    return f"choose one of: {', '.join(offered)}" if offered else f"{provider.name} accepts any name"


def _resolve_provider(
    errors: ErrorList, kind: str, table: type[ProviderBase], label: str, provider_id: Any
) -> ProviderBase | None:
    field = f"{kind}_provider_id"
    if provider_id is None:
        # Omitted on create: the catalogue's first active row of that kind.
        provider: ProviderBase | None = table._default_manager.filter(is_active=True).order_by("id").first()
        if provider is None:
            errors.add(field, f"No active {label} provider is available")
        return provider
    if isinstance(provider_id, bool) or not isinstance(provider_id, int):
        errors.add(field, "A valid integer is required.")
        return None
    provider = table._default_manager.filter(pk=provider_id).first()
    if provider is None:
        errors.add(field, f"{label} provider with ID {provider_id} does not exist")
    elif not provider.is_active:
        errors.add(field, f"{label} provider {provider.name} (ID {provider_id}) is not active")
        provider = None
    return provider


def agent_validate(*, agent: Agent, data: dict[str, Any]) -> set[str]:
    """Applies `data` to the in-memory `agent` and validates the whole configuration.

    `data` uses model field names, with providers as `<kind>_provider_id`; absent keys
    keep their value. Returns the names of the fields that changed. Raises Django's
    ValidationError naming every bad field (the agent must then be discarded).

    Blank models and voice mean the provider's default and are stored resolved. When a
    provider changes and no model/voice is given, the old one is kept only if the new
    provider explicitly lists it; otherwise it becomes the new provider's default
    (an OpenAI voice name means nothing to ElevenLabs).
    """
    unknown = set(data) - AGENT_FIELDS
    if unknown:
        raise TypeError(f"Not agent configuration fields: {', '.join(sorted(unknown))}")
    creating = agent._state.adding
    errors = ErrorList()
    changed: set[str] = set()
    if creating and data.get("status", AgentStatus.DRAFT) != AgentStatus.DRAFT:
        errors.add("status", "New agents start as draft; activate them with an update")
        data = {key: value for key, value in data.items() if key != "status"}

    def assign(field: str, value: Any, *, differs: bool = False) -> None:
        if differs or creating or getattr(agent, field) != value:
            setattr(agent, field, value)
            changed.add(field)

    if creating and "name" not in data:
        errors.add("name", "This field is required.")
    for field, (max_length, required, strip) in TEXT_FIELDS.items():
        if field in data:
            text = v.clean_text(errors, field, data[field], max_length=max_length, required=required, strip=strip)
            if text is not None:
                assign(field, text)
    if "language" in data:
        language = data["language"]
        if not isinstance(language, str) or len(language) > v.LANGUAGE_MAX or not v.LANGUAGE.match(language):
            errors.add("language", "Enter a language tag such as en, en-US or pt-BR (or multi)")
        else:
            assign("language", language)
    for field, (low, high, whole) in NUMBER_FIELDS.items():
        if field in data:
            number = _number(errors, field, data[field], low=low, high=high, whole=whole)
            if number is not None:
                assign(field, number)
    if "recording_enabled" in data:
        if data["recording_enabled"] is not None and not isinstance(data["recording_enabled"], bool):
            errors.add("recording_enabled", "Must be true, false or null (the organization's default)")
        else:
            assign("recording_enabled", data["recording_enabled"])
    for field in ("allow_interruptions", "auto_run_tests"):
        if field in data:
            if not isinstance(data[field], bool):
                errors.add(field, "Must be true or false")
            else:
                assign(field, data[field])
    for field, clean in JSON_FIELDS.items():
        if field in data:
            assign(field, clean(errors, data[field]))

    if "voice_settings" in data:
        settings_ = vs.clean_voice_settings(errors, data["voice_settings"], current=agent.voice_settings)
        _check_fallbacks(agent, settings_, data["voice_settings"], errors)
        assign("voice_settings", settings_)
    elif creating:
        assign("voice_settings", vs.defaults())

    providers = _apply_providers(agent, data, errors, assign, creating=creating)
    _apply_status(agent, data, errors, assign, providers, creating=creating)
    errors.raise_if_any()
    return changed


def _check_fallbacks(agent: Agent, cleaned: dict[str, Any], sent: Any, errors: ErrorList) -> None:
    """The fallback providers sent exist, are active, can play the role and have credentials
    (the customer's own or the platform's): a fallback that cannot run is no fallback."""
    from voice_worker.providers import SUPPORTED_VENDORS

    sent_roles = sent.get("fallbackProviders") if isinstance(sent, dict) else None
    if not isinstance(sent_roles, dict):
        return
    tables = {kind: (table, label) for kind, table, label in PROVIDER_KINDS}
    for role in vs.FALLBACK_ROLES:
        field = f"voice_settings.fallbackProviders.{role}"
        if role not in sent_roles or errors.has(field):
            continue
        table, label = tables[role]
        rows = table._default_manager.in_bulk(cleaned["fallbackProviders"][role])
        for provider_id in cleaned["fallbackProviders"][role]:
            provider = rows.get(provider_id)
            if provider is None:
                errors.add(field, f"{label} provider with ID {provider_id} does not exist")
            elif not provider.is_active:
                errors.add(field, f"{label} provider {provider.name} (ID {provider_id}) is not active")
            elif provider.vendor not in SUPPORTED_VENDORS[role]:
                errors.add(field, f"{label} provider {provider.name} ({provider.vendor}) cannot be used for {label}")
            elif provider_credential(customer_id=agent.customer_id, vendor=provider.vendor) is None:
                errors.add(
                    field,
                    f"{label} provider {provider.name} has no credentials: store a {provider.vendor} key "
                    f"or set {platform_key_setting(provider.vendor)}",
                )


def _apply_providers(
    agent: Agent, data: dict[str, Any], errors: ErrorList, assign: Assign, *, creating: bool
) -> dict[str, ProviderBase]:
    """Providers, their models and the voice. Returns {kind: provider} for rows it loaded."""
    providers: dict[str, ProviderBase] = {}
    for kind, table, label in PROVIDER_KINDS:
        id_field, model_field = f"{kind}_provider_id", f"{kind}_model"
        current_id = None if creating else getattr(agent, id_field)
        requested = data.get(id_field)
        switching = creating or (id_field in data and requested != current_id)
        if switching:
            if id_field in data and requested is None:
                errors.add(id_field, "This field may not be null.")
                continue
            provider = _resolve_provider(errors, kind, table, label, requested)
            if provider is None:
                continue
            # Compared by id above; reading the old row to compare again would cost a query.
            assign(f"{kind}_provider", provider, differs=True)
        elif model_field in data or (kind == "tts" and "voice_id" in data):
            provider = getattr(agent, f"{kind}_provider")
        else:
            continue
        providers[kind] = provider

        _apply_name(agent, errors, assign, provider, field=model_field, data=data, switching=switching)
        if kind == "tts":
            _apply_name(agent, errors, assign, provider, field="voice_id", data=data, switching=switching)
    return providers


def _apply_name(
    agent: Agent,
    errors: ErrorList,
    assign: Assign,
    provider: Any,
    *,
    field: str,
    data: dict[str, Any],
    switching: bool,
) -> None:
    """A model or the voice: checked against the provider's fixed list when it has one."""
    if field == "voice_id":
        offered, default, what, max_length = provider.voices, provider.default_voice, "Voice", v.VOICE_ID_MAX
    else:
        offered, default, what, max_length = provider.available_models, provider.default_model, "Model", v.MODEL_MAX
    if field in data:
        name = v.clean_text(errors, field, data[field], max_length=max_length)
        if name is None:
            return
        if not name:
            name = default
        elif offered and name not in offered:
            errors.add(field, f"{what} '{name}' is not offered by {provider.name}; {_choices(provider, offered)}")
            return
        elif (
            field == "voice_id"
            and provider.vendor == "elevenlabs"
            and name != getattr(agent, field)
            and (problem := _elevenlabs_voice_problem(agent, name)) is not None
        ):
            errors.add(field, problem)
            return
        assign(field, name)
    elif switching:
        # A fresh agent's current value is the model default "", which resolves to `default`.
        current = getattr(agent, field)
        assign(field, current if current and offered and current in offered else default)


def _elevenlabs_voice_problem(agent: Agent, voice_id: str) -> str | None:
    """ElevenLabs voices belong to an account: the voice must be one the customer's key (or
    the platform's) can use. Unchecked when no key is configured or ElevenLabs is down."""
    from morpheus.errors import BadRequest, ServiceUnavailable
    from tenants.provider_keys import elevenlabs_voices

    try:
        voices = elevenlabs_voices(customer_id=agent.customer_id)
    except (ServiceUnavailable, BadRequest):
        return None
    if voice_id in [voice["voiceId"] for voice in voices]:
        return None
    return f"Voice '{voice_id}' is not one of your ElevenLabs voices (GET /providers/elevenlabs/voices)"


def _apply_status(
    agent: Agent,
    data: dict[str, Any],
    errors: ErrorList,
    assign: Assign,
    providers: dict[str, ProviderBase],
    *,
    creating: bool,
) -> None:
    if "status" not in data:
        return
    status = data["status"]
    if status not in AgentStatus.values:
        errors.add("status", f"Must be one of: {', '.join(AgentStatus.values)}")
        return
    if status == AgentStatus.ACTIVE and (creating or agent.status != AgentStatus.ACTIVE):
        # Going live: the agent must be complete enough to answer a call.
        if not (agent.system_prompt or "").strip() and not errors.has("system_prompt"):
            errors.add("status", "Add a system prompt before activating the agent")
        for kind, _, label in PROVIDER_KINDS:
            if kind in providers or errors.has(f"{kind}_provider_id"):
                continue
            provider = getattr(agent, f"{kind}_provider", None)
            if provider is not None and not provider.is_active:
                errors.add(
                    f"{kind}_provider_id",
                    f"{label} provider {provider.name} is no longer active; choose another before activating",
                )
    assign("status", status)


@transaction.atomic
def agent_create(*, customer: Customer, data: dict[str, Any], actor: User | None = None) -> Agent:
    """A new agent of `customer`; agents always start as drafts (activate with an update).
    Its configuration is version 1."""
    agent = Agent(customer=customer, status=AgentStatus.DRAFT)
    agent_validate(agent=agent, data=data)
    agent.save()
    agent_version_record(agent=agent, actor=actor)
    return agent


@transaction.atomic
def agent_update(*, agent: Agent, data: dict[str, Any], actor: User | None = None) -> Agent:
    """Partial update; `updated_at` moves only when something actually changed, and a
    new version is recorded only when the agent's behaviour changed."""
    changed = agent_validate(agent=agent, data=data)
    model_save_changed(agent, changed)
    if changed & set(BEHAVIOUR_FIELDS):
        agent_version_record(agent=agent, actor=actor)
    return agent


# --- Versions ------------------------------------------------------------------------


@transaction.atomic
def agent_version_record(*, agent: Agent, actor: User | None = None, restored_from: int | None = None) -> AgentVersion:
    """Records the agent's current behaviour as its next version, unless the latest version
    already is exactly that (a restore always records one). The agent row is locked so two
    concurrent edits cannot take the same number. A new version starts the agent's test
    suite when the agent asks for it (`auto_run_tests`)."""
    Agent.objects.select_for_update().filter(pk=agent.pk).first()
    snapshot = agent_snapshot(agent)
    latest = AgentVersion.objects.filter(agent=agent).order_by("-number").first()
    if latest is not None and restored_from is None and latest.snapshot == snapshot:
        return latest
    version = AgentVersion.objects.create(
        customer_id=agent.customer_id,
        agent=agent,
        number=(latest.number + 1) if latest else 1,
        snapshot=snapshot,
        created_by=actor if getattr(actor, "pk", None) else None,
        restored_from=restored_from,
    )
    if agent.auto_run_tests:
        # evaluations owns test runs; it decides whether there is anything to run.
        outbox.enqueue("evaluations.tasks.run_tests_for_new_version", version.pk)
    return version


@transaction.atomic
def agent_version_restore(*, agent: Agent, number: int, actor: User | None = None) -> AgentVersion:
    """Makes version `number` the agent's configuration again, as a new version equal to
    it. The snapshot goes through the same validation as an edit: a provider that has
    since been disabled is a 400 naming it, and nothing changes."""
    old = AgentVersion.objects.filter(agent=agent, number=number).first()
    if old is None:
        raise NotFound(f"Version {number} of agent {agent.pk} does not exist")
    # Only what an edit may set: a snapshot field the service no longer takes is skipped.
    restorable = {k: v for k, v in old.snapshot.items() if k in AGENT_FIELDS}
    model_save_changed(agent, agent_validate(agent=agent, data=restorable))
    return agent_version_record(agent=agent, actor=actor, restored_from=number)


AGENT_ON_CALL_MESSAGE = "Agent is on an active call; end the call before deleting the agent"
AGENT_ASSIGNED_MESSAGE = (
    "Agent is assigned to phone numbers ({count}); unassign them first or delete with detachNumbers=true"
)


@transaction.atomic
def agent_delete(*, agent: Agent, detach_numbers: bool = False) -> list[int]:
    """Deletes the agent; returns the ids of the phone numbers it was detached from.

    Refused (409) while a call is ringing or in progress with it, and while phone
    numbers route to it unless `detach_numbers`. The row lock serialises this with
    phone-number assignment, so no number can be pointed at the agent meanwhile.
    """
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    if agent_has_open_call(agent):
        raise Conflict(AGENT_ON_CALL_MESSAGE)
    numbers = agent.phone_numbers.all()
    number_ids = list(numbers.order_by("id").values_list("id", flat=True))
    if number_ids and not detach_numbers:
        raise Conflict(AGENT_ASSIGNED_MESSAGE.format(count=len(number_ids)))
    if number_ids:
        numbers.update(agent=None, updated_at=timezone.now())
    agent.delete()
    return number_ids
