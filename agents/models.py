from django.conf import settings
from django.db import models

from morpheus.models import TimestampedModel

from .voice_settings import defaults as voice_settings_defaults


class Vendor(models.TextChoices):
    OPENAI = "openai", "OpenAI (or OpenAI-compatible)"
    DEEPGRAM = "deepgram", "Deepgram"
    ELEVENLABS = "elevenlabs", "ElevenLabs"


class ProviderBase(TimestampedModel):
    """One row of the provider catalogue. Platform admins manage it in Django admin."""

    id = models.AutoField(primary_key=True)
    name = models.CharField(max_length=100)
    vendor = models.CharField(max_length=20, choices=Vendor.choices)
    default_model = models.CharField(max_length=100)
    # Empty list: the vendor has no fixed list and any model name is accepted.
    available_models = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        abstract = True
        ordering = ["id"]

    def __str__(self):
        return self.name

    def offers_model(self, model: str) -> bool:
        return not self.available_models or model in self.available_models


class LLMProvider(ProviderBase):
    # Blank: the vendor's public endpoint (or OPENAI_BASE_URL). Set it to point an
    # OpenAI-compatible server (vLLM, Ollama, ...) at a catalogue row.
    base_url = models.URLField(max_length=500, blank=True, default="")

    class Meta(ProviderBase.Meta):
        verbose_name = "LLM provider"


class STTProvider(ProviderBase):
    class Meta(ProviderBase.Meta):
        verbose_name = "STT provider"


class TTSProvider(ProviderBase):
    default_voice = models.CharField(max_length=100, blank=True, default="")
    # Empty list: the vendor has no fixed list (ElevenLabs voices are per account).
    voices = models.JSONField(default=list, blank=True)

    class Meta(ProviderBase.Meta):
        verbose_name = "TTS provider"

    def offers_voice(self, voice_id: str) -> bool:
        return not self.voices or voice_id in self.voices


class AgentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"


class Agent(TimestampedModel):
    """An AI voice agent's configuration: what it says, how it sounds, which models run it."""

    customer = models.ForeignKey("tenants.Customer", on_delete=models.CASCADE, related_name="agents")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, default="")
    system_prompt = models.TextField(blank=True, default="")
    first_message = models.TextField(blank=True, default="")
    voice_id = models.CharField(max_length=100, blank=True, default="")
    language = models.CharField(max_length=16, default="en")
    llm_provider = models.ForeignKey(LLMProvider, on_delete=models.PROTECT, related_name="agents")
    llm_model = models.CharField(max_length=100, blank=True, default="")
    llm_temperature = models.FloatField(default=0.7)
    stt_provider = models.ForeignKey(STTProvider, on_delete=models.PROTECT, related_name="agents")
    stt_model = models.CharField(max_length=100, blank=True, default="")
    tts_provider = models.ForeignKey(TTSProvider, on_delete=models.PROTECT, related_name="agents")
    tts_model = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=20, choices=AgentStatus.choices, default=AgentStatus.DRAFT)
    allow_interruptions = models.BooleanField(default=True)
    # Minimum speech (seconds) from the caller before the agent stops talking.
    interruption_min_duration = models.FloatField(default=0.5)
    silence_timeout_seconds = models.PositiveIntegerField(default=30)
    max_duration_seconds = models.PositiveIntegerField(default=1800)
    end_call_phrases = models.JSONField(default=list, blank=True)
    # [{name, destination (E.164 or sip: URI), description}]
    transfers = models.JSONField(default=list, blank=True)
    # [{name, description, parameters (JSON Schema object), url (https)}]
    functions = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # Record calls: True/False, or None to follow the customer's settings.recordingEnabled.
    recording_enabled = models.BooleanField(null=True, blank=True)
    # Post-call analysis (calls/analysis_plan.py validates it); None: no analysis.
    analysis_plan = models.JSONField(null=True, blank=True)
    # Turn-taking, interruptions, no dead air and fallbacks (agents/voice_settings.py).
    voice_settings = models.JSONField(default=voice_settings_defaults, blank=True)
    # Run the agent's test suite on every new version (the verdict is kept on the version).
    auto_run_tests = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # GET /agents and its status filter, in the list's order (test_list_indexes.py).
            models.Index(fields=["customer", "-created_at", "-id"], name="agent_customer_created_idx"),
            models.Index(fields=["customer", "status", "-created_at", "-id"], name="agent_customer_status_list_idx"),
            # The simulation's "most recently updated active agent".
            models.Index(fields=["customer", "status", "-updated_at"], name="agent_customer_status_idx"),
        ]

    def __str__(self):
        return self.name

    @property
    def effective_llm_model(self) -> str:
        return self.llm_model or self.llm_provider.default_model

    @property
    def effective_stt_model(self) -> str:
        return self.stt_model or self.stt_provider.default_model

    @property
    def effective_tts_model(self) -> str:
        return self.tts_model or self.tts_provider.default_model

    @property
    def effective_voice_id(self) -> str:
        return self.voice_id or self.tts_provider.default_voice


class AgentVersion(models.Model):
    """An immutable snapshot of an agent's behaviour (agents/versions.py), numbered 1, 2, ...
    per agent. Calls and test runs point at the version they used."""

    customer = models.ForeignKey("tenants.Customer", on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when this version was made by restoring an older one.
    restored_from = models.PositiveIntegerField(null=True, blank=True)
    # The verdict of the test run started automatically for this version (auto_run_tests):
    # "" (none), "running", "passed", "failed" or "error".
    test_verdict = models.CharField(max_length=10, blank=True, default="")

    class Meta:
        ordering = ["agent", "-number"]
        constraints = [models.UniqueConstraint(fields=["agent", "number"], name="agent_version_unique_number")]

    def __str__(self):
        return f"{self.agent_id} v{self.number}"
