"""Parse and render only; every configuration rule is in services/validation.

Input serializers check JSON types and declare the same limits as `validation`
(so the OpenAPI schema shows them); the JSON documents (transfers, functions, ...)
are passed through untouched and validated by the service.
"""

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from . import validation as v
from . import voice_settings as vs
from .models import AgentStatus

# --- JSON documents: typed for the schema, validated by the service ----------------

TRANSFER_SCHEMA = {
    "type": "object",
    "required": ["name", "destination"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "maxLength": v.TRANSFER_NAME_MAX, "example": "Billing desk"},
        "destination": {
            "type": "string",
            "description": "An E.164 number or a sip:/sips: URI.",
            "example": "+14155550123",
        },
        "description": {
            "type": "string",
            "maxLength": v.TRANSFER_TEXT_MAX,
            "description": "When the agent should transfer here; shown to the model.",
            "example": "When the caller asks about an invoice or a refund",
        },
        "message": {
            "type": "string",
            "maxLength": v.TRANSFER_TEXT_MAX,
            "description": "What the agent says before transferring.",
            "example": "Let me connect you with billing.",
        },
        "mode": {
            "type": "string",
            "enum": list(v.TRANSFER_MODES),
            "default": "cold",
            "description": (
                "cold: the caller is handed over at once (SIP REFER); warm: the agent first calls the "
                "destination, tells the person a summary, and connects the caller only if they accept "
                "(otherwise the agent carries on with the caller)."
            ),
        },
    },
}

FUNCTION_SCHEMA = {
    "type": "object",
    "required": ["name", "description", "url"],
    "additionalProperties": False,
    "properties": {
        "name": {
            "type": "string",
            "pattern": v.FUNCTION_NAME.pattern,
            "description": f"Tool name; unique, and not one of the built-ins {', '.join(v.BUILT_IN_TOOLS)}.",
            "example": "lookup_order",
        },
        "description": {"type": "string", "maxLength": v.FUNCTION_DESCRIPTION_MAX, "example": "Finds an order"},
        "parameters": {
            "type": "object",
            "description": 'A JSON Schema (2020-12) with "type": "object"; defaults to no parameters.',
            "example": {
                "type": "object",
                "properties": {"orderId": {"type": "string"}},
                "required": ["orderId"],
            },
        },
        "url": {
            "type": "string",
            "format": "uri",
            "maxLength": v.FUNCTION_URL_MAX,
            "description": "HTTPS endpoint the pipeline POSTs the arguments to (http://localhost only with DEBUG).",
            "example": "https://api.example.com/tools/lookup-order",
        },
    },
}


@extend_schema_field(
    {
        "type": "array",
        "maxItems": v.END_CALL_PHRASES_MAX,
        "items": {"type": "string", "maxLength": v.END_CALL_PHRASE_MAX},
        "example": ["goodbye", "that's all"],
    }
)
class EndCallPhrasesField(serializers.JSONField):
    pass


@extend_schema_field({"type": "array", "maxItems": v.TRANSFERS_MAX, "items": TRANSFER_SCHEMA})
class TransfersField(serializers.JSONField):
    pass


@extend_schema_field({"type": "array", "maxItems": v.FUNCTIONS_MAX, "items": FUNCTION_SCHEMA})
class FunctionsField(serializers.JSONField):
    pass


@extend_schema_field({"type": "object", "additionalProperties": True, "example": {"team": "support"}})
class MetadataField(serializers.JSONField):
    pass


ANALYSIS_PLAN_SCHEMA = {
    "type": "object",
    "nullable": True,
    "description": "Post-call analysis (docs/after-the-call.md); null turns it off.",
    "additionalProperties": False,
    "properties": {
        "summaryPrompt": {"type": "string", "maxLength": 4000},
        "fields": {
            "type": "array",
            "maxItems": 30,
            "items": {
                "type": "object",
                "required": ["name", "type", "description"],
                "properties": {
                    "name": {"type": "string", "pattern": "^[a-zA-Z_][a-zA-Z0-9_]{0,63}$"},
                    "type": {"type": "string", "enum": ["string", "number", "boolean", "enum"]},
                    "description": {"type": "string"},
                    "choices": {"type": "array", "items": {"type": "string"}, "description": "enum fields only"},
                    "required": {"type": "boolean"},
                },
            },
        },
        "successRubric": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": ["pass_fail", "score_1_10"]},
                "prompt": {"type": "string"},
            },
        },
        "model": {"type": "string"},
        "minTurns": {"type": "integer", "minimum": 0, "default": 2},
        "sampleRate": {"type": "number", "minimum": 0, "maximum": 1, "default": 1},
    },
    "example": {
        "fields": [{"name": "intent", "type": "enum", "choices": ["buy", "support"], "description": "Why they called"}],
        "successRubric": {"type": "pass_fail", "prompt": "Did the caller get an answer?"},
    },
}


@extend_schema_field(ANALYSIS_PLAN_SCHEMA)
class AnalysisPlanField(serializers.JSONField):
    pass


VOICE_SETTINGS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "description": "Turn-taking, interruptions, no dead air and fallbacks; send only the keys to change.",
    "properties": {
        "turnDetection": {"type": "string", "enum": list(vs.TURN_DETECTION_MODES)},
        "endpointingMinDelay": {"type": "number", "minimum": 0, "maximum": 10},
        "endpointingMaxDelay": {"type": "number", "minimum": 0, "maximum": 30},
        "interruptionMinWords": {"type": "integer", "minimum": 0, "maximum": 20},
        "falseInterruptionTimeout": {"type": "number", "nullable": True, "minimum": 0, "maximum": 10},
        "resumeFalseInterruption": {"type": "boolean"},
        "preemptiveGeneration": {"type": "boolean"},
        "providerTimeoutSeconds": {"type": "number", "minimum": 0.5, "maximum": 30},
        "fallbackProviders": {
            "type": "object",
            "properties": {
                role: {"type": "array", "items": {"type": "integer"}, "maxItems": vs.FALLBACKS_MAX}
                for role in vs.FALLBACK_ROLES
            },
        },
        "thinkingSound": {"type": "string", "nullable": True, "enum": [*vs.THINKING_SOUNDS, None]},
        "fillerAfterSeconds": {"type": "number", "nullable": True, "minimum": 0, "maximum": 30},
        "silenceReprompts": {"type": "integer", "minimum": 0, "maximum": 3},
        "voicemail": {
            "type": "object",
            "description": "Outbound calls a machine answers: hang up, or leave the message.",
            "properties": {
                "action": {"type": "string", "enum": list(vs.VOICEMAIL_ACTIONS)},
                "message": {"type": "string", "maxLength": vs.VOICEMAIL_MESSAGE_MAX},
            },
        },
    },
    "example": vs.DEFAULTS,
}


@extend_schema_field(VOICE_SETTINGS_SCHEMA)
class VoiceSettingsField(serializers.JSONField):
    pass


# --- Providers -----------------------------------------------------------------------


class ProviderOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    vendor = serializers.CharField()
    defaultModel = serializers.CharField(source="default_model")
    models = serializers.ListField(
        child=serializers.CharField(),
        source="available_models",
        help_text="The models an agent may choose; empty means any model name is accepted.",
    )


class TTSProviderOutput(ProviderOutput):
    defaultVoice = serializers.CharField(source="default_voice")
    voices = serializers.ListField(
        child=serializers.CharField(),
        help_text="The voice ids an agent may choose; empty means any voice id (e.g. per-account voices).",
    )


class ProviderCatalogueOutput(serializers.Serializer):
    llm = ProviderOutput(many=True)
    stt = ProviderOutput(many=True)
    tts = TTSProviderOutput(many=True)


# --- Agents ----------------------------------------------------------------------------


class AgentListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=AgentStatus.choices, required=False, help_text="Only this status.")
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="Case-insensitive match on the name."
    )


class AgentCreateInput(serializers.Serializer):
    """Everything but `name` is optional: providers default to the catalogue's first
    active row of each kind, models and voice to the provider's defaults."""

    name = serializers.CharField(max_length=v.NAME_MAX)
    description = serializers.CharField(max_length=v.DESCRIPTION_MAX, allow_blank=True, required=False)
    systemPrompt = serializers.CharField(
        source="system_prompt", max_length=v.SYSTEM_PROMPT_MAX, allow_blank=True, required=False, trim_whitespace=False
    )
    firstMessage = serializers.CharField(
        source="first_message",
        max_length=v.FIRST_MESSAGE_MAX,
        allow_blank=True,
        required=False,
        help_text="What the agent says when the call connects; blank waits for the caller.",
    )
    voiceId = serializers.CharField(
        source="voice_id",
        max_length=v.VOICE_ID_MAX,
        allow_blank=True,
        required=False,
        help_text="One of the TTS provider's voices (when it has a fixed list); blank means its default.",
    )
    language = serializers.CharField(max_length=v.LANGUAGE_MAX, required=False, help_text="BCP 47 tag, e.g. en-US.")
    llmProviderId = serializers.IntegerField(source="llm_provider_id", required=False)
    llmModel = serializers.CharField(source="llm_model", max_length=v.MODEL_MAX, allow_blank=True, required=False)
    llmTemperature = serializers.FloatField(
        source="llm_temperature", min_value=v.TEMPERATURE_MIN, max_value=v.TEMPERATURE_MAX, required=False
    )
    sttProviderId = serializers.IntegerField(source="stt_provider_id", required=False)
    sttModel = serializers.CharField(source="stt_model", max_length=v.MODEL_MAX, allow_blank=True, required=False)
    ttsProviderId = serializers.IntegerField(source="tts_provider_id", required=False)
    ttsModel = serializers.CharField(source="tts_model", max_length=v.MODEL_MAX, allow_blank=True, required=False)
    status = serializers.ChoiceField(
        choices=AgentStatus.choices, required=False, help_text="New agents are always draft."
    )
    allowInterruptions = serializers.BooleanField(source="allow_interruptions", required=False)
    interruptionMinDuration = serializers.FloatField(
        source="interruption_min_duration",
        min_value=0,
        max_value=v.INTERRUPTION_MIN_DURATION_MAX,
        required=False,
        help_text="Seconds of caller speech before the agent stops talking.",
    )
    silenceTimeoutSeconds = serializers.IntegerField(
        source="silence_timeout_seconds",
        min_value=v.SILENCE_TIMEOUT_MIN,
        max_value=v.SILENCE_TIMEOUT_MAX,
        required=False,
        help_text="Seconds of silence after which the agent ends the call.",
    )
    maxDurationSeconds = serializers.IntegerField(
        source="max_duration_seconds", min_value=v.MAX_DURATION_MIN, max_value=v.MAX_DURATION_MAX, required=False
    )
    endCallPhrases = EndCallPhrasesField(source="end_call_phrases", required=False)
    transfers = TransfersField(required=False)
    functions = FunctionsField(required=False)
    metadata = MetadataField(required=False)
    recordingEnabled = serializers.BooleanField(
        source="recording_enabled",
        required=False,
        allow_null=True,
        help_text="Record this agent's calls; null follows the organization's settings.recordingEnabled.",
    )
    analysisPlan = AnalysisPlanField(source="analysis_plan", required=False, allow_null=True)
    voiceSettings = VoiceSettingsField(source="voice_settings", required=False)
    autoRunTests = serializers.BooleanField(
        source="auto_run_tests",
        required=False,
        help_text="Run the agent's test cases whenever a new version is saved; the verdict is kept on the version.",
    )


class AgentUpdateInput(AgentCreateInput):
    """Partial: only the fields sent change. Changing a provider without a model or
    voice resets them to the new provider's defaults unless it also offers the old ones."""

    name = serializers.CharField(max_length=v.NAME_MAX, required=False)
    status = serializers.ChoiceField(
        choices=AgentStatus.choices,
        required=False,
        help_text="Activating needs a system prompt and active providers.",
    )


class AgentListItemOutput(serializers.Serializer):
    """A row of the agents list: the configuration summary, without the long texts."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    voiceId = serializers.CharField(source="voice_id")
    language = serializers.CharField()
    status = serializers.ChoiceField(choices=AgentStatus.choices)
    llmProviderId = serializers.IntegerField(source="llm_provider_id")
    llmProviderName = serializers.CharField(source="llm_provider.name")
    llmModel = serializers.CharField(source="llm_model")
    sttProviderId = serializers.IntegerField(source="stt_provider_id")
    sttProviderName = serializers.CharField(source="stt_provider.name")
    sttModel = serializers.CharField(source="stt_model")
    ttsProviderId = serializers.IntegerField(source="tts_provider_id")
    ttsProviderName = serializers.CharField(source="tts_provider.name")
    ttsModel = serializers.CharField(source="tts_model")
    customerId = serializers.UUIDField(source="customer_id")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class PaginationOutput(serializers.Serializer):
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    total = serializers.IntegerField()
    totalPages = serializers.IntegerField()


# Declared as one object (not "many") so the schema shows the real page and the example
# (a whole envelope) is used as written instead of being re-paginated by drf-spectacular.
@extend_schema_serializer(many=False)
class AgentPageOutput(serializers.Serializer):
    agents = AgentListItemOutput(many=True)
    pagination = PaginationOutput()


class AgentOutput(AgentListItemOutput):
    """The whole configuration."""

    systemPrompt = serializers.CharField(source="system_prompt")
    firstMessage = serializers.CharField(source="first_message")
    llmTemperature = serializers.FloatField(source="llm_temperature")
    allowInterruptions = serializers.BooleanField(source="allow_interruptions")
    interruptionMinDuration = serializers.FloatField(source="interruption_min_duration")
    silenceTimeoutSeconds = serializers.IntegerField(source="silence_timeout_seconds")
    maxDurationSeconds = serializers.IntegerField(source="max_duration_seconds")
    endCallPhrases = EndCallPhrasesField(source="end_call_phrases")
    transfers = TransfersField()
    functions = FunctionsField()
    metadata = MetadataField()
    recordingEnabled = serializers.BooleanField(source="recording_enabled", allow_null=True)
    analysisPlan = AnalysisPlanField(source="analysis_plan", allow_null=True)
    voiceSettings = VoiceSettingsField(source="voice_settings")
    autoRunTests = serializers.BooleanField(source="auto_run_tests")


class AgentDeleteQuery(serializers.Serializer):
    detachNumbers = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Unassign the agent from its phone numbers and delete it (owners and admins only).",
    )


class AgentDeleteOutput(serializers.Serializer):
    id = serializers.IntegerField()
    detachedPhoneNumberIds = serializers.ListField(child=serializers.IntegerField())


# --- Versions ---------------------------------------------------------------------------

# The snapshot's service field names as the API spells them.
SNAPSHOT_API_NAMES = {
    "system_prompt": "systemPrompt",
    "first_message": "firstMessage",
    "language": "language",
    "voice_id": "voiceId",
    "llm_provider_id": "llmProviderId",
    "llm_model": "llmModel",
    "llm_temperature": "llmTemperature",
    "stt_provider_id": "sttProviderId",
    "stt_model": "sttModel",
    "tts_provider_id": "ttsProviderId",
    "tts_model": "ttsModel",
    "allow_interruptions": "allowInterruptions",
    "interruption_min_duration": "interruptionMinDuration",
    "silence_timeout_seconds": "silenceTimeoutSeconds",
    "max_duration_seconds": "maxDurationSeconds",
    "end_call_phrases": "endCallPhrases",
    "transfers": "transfers",
    "functions": "functions",
    "metadata": "metadata",
    "voice_settings": "voiceSettings",
}


class VersionAuthorOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    email = serializers.EmailField()


class AgentVersionListItemOutput(serializers.Serializer):
    number = serializers.IntegerField()
    agentId = serializers.IntegerField(source="agent_id")
    createdAt = serializers.DateTimeField(source="created_at")
    createdBy = VersionAuthorOutput(source="created_by", allow_null=True, help_text="Null for admin or system edits.")
    restoredFrom = serializers.IntegerField(source="restored_from", allow_null=True)
    testVerdict = serializers.CharField(
        source="test_verdict",
        help_text="The automatic test run's verdict for this version: '', running, passed, failed or error.",
    )


class AgentVersionOutput(AgentVersionListItemOutput):
    snapshot = serializers.SerializerMethodField(
        help_text="The agent's behaviour at this version, as in GET /agents/{id}."
    )

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_snapshot(self, version) -> dict:
        return {SNAPSHOT_API_NAMES.get(key, key): value for key, value in version.snapshot.items()}


@extend_schema_serializer(many=False)
class AgentVersionPageOutput(serializers.Serializer):
    versions = AgentVersionListItemOutput(many=True)
    pagination = PaginationOutput()
