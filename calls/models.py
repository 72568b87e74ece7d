from django.conf import settings
from django.db import models
from django.utils import timezone

from morpheus.models import TimestampedModel


class CallDirection(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"
    WEB = "web", "Web"


class CallStatus(models.TextChoices):
    # Outbound: waiting for its scheduled time or for a free capacity slot.
    QUEUED = "queued", "Queued"
    RINGING = "ringing", "Ringing"
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    NO_ANSWER = "no_answer", "No answer"
    BUSY = "busy", "Busy"
    CANCELED = "canceled", "Canceled"


OPEN_CALL_STATUSES = (CallStatus.QUEUED, CallStatus.RINGING, CallStatus.ACTIVE)


class CallMode(models.TextChoices):
    VOICE = "voice", "Voice (a LiveKit room)"
    # A simulation without LiveKit: text turns over the API only, no room to tear down.
    TEXT = "text", "Text only"


class EndReason(models.TextChoices):
    CALLER_HUNG_UP = "caller_hung_up", "Caller hung up"
    AGENT_ENDED = "agent_ended", "Agent ended the call"
    ENDED_BY_USER = "ended_by_user", "Ended from the dashboard"
    TRANSFERRED = "transferred", "Transferred"
    MAX_DURATION = "max_duration", "Maximum duration reached"
    SILENCE = "silence", "Silence timeout"
    NO_ANSWER = "no_answer", "No answer"
    BUSY = "busy", "Busy"
    CARRIER = "carrier", "Ended by the carrier"
    STALE = "stale", "Closed as stale"
    ERROR = "error", "Error"
    # Outbound: the callee's side, as the SIP response or LiveKit's disconnect reason says.
    DECLINED = "declined", "Declined"
    FAILED = "failed", "Dial failed"
    VOICEMAIL = "voicemail", "Answered by voicemail"
    CAPACITY = "capacity", "No capacity"


class AnsweredBy(models.TextChoices):
    HUMAN = "human", "Human"
    MACHINE = "machine", "Machine"
    UNKNOWN = "unknown", "Unknown"


class RecordingStatus(models.TextChoices):
    RECORDING = "recording", "Recording"
    # Egress finished but the file is not confirmed in storage yet (storage was down): retried.
    PENDING = "pending", "Pending upload check"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    DELETED = "deleted", "Deleted"


class Call(TimestampedModel):
    customer = models.ForeignKey("tenants.Customer", on_delete=models.CASCADE, related_name="calls")
    # Calls outlive the configuration that handled them: history keeps its row.
    agent = models.ForeignKey("agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    # The agent's configuration when the call started (its latest version then).
    agent_version = models.ForeignKey(
        "agents.AgentVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    mode = models.CharField(max_length=5, choices=CallMode.choices, default=CallMode.VOICE)
    phone_number = models.ForeignKey(
        "telephony.PhoneNumber", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    direction = models.CharField(max_length=10, choices=CallDirection.choices)
    from_number = models.CharField(max_length=64, blank=True, default="")
    to_number = models.CharField(max_length=64, blank=True, default="")
    carrier = models.CharField(max_length=10, blank=True, default="")
    carrier_call_id = models.CharField(max_length=128, blank=True, default="")
    room_name = models.CharField(max_length=128, unique=True)
    is_simulation = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=CallStatus.choices, default=CallStatus.RINGING)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    started_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration = models.PositiveIntegerField(null=True, blank=True, help_text="Whole seconds")
    recording_url = models.URLField(max_length=500, null=True, blank=True)
    cost = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    cost_currency = models.CharField(max_length=3, default="USD")
    # {total, currency, breakdown{llm, tts, stt, telephony}, usage{...}}: calls/cost.py.
    cost_breakdown = models.JSONField(null=True, blank=True)
    # {status, summary, successful, score, sentiment, data, model, usage, error}: calls/analysis.py.
    analysis = models.JSONField(null=True, blank=True)
    # Recording through LiveKit Egress into S3-compatible storage (calls/recordings.py).
    recording_status = models.CharField(max_length=10, choices=RecordingStatus.choices, blank=True, default="")
    recording_egress_id = models.CharField(max_length=64, blank=True, default="")
    recording_key = models.CharField(max_length=300, blank=True, default="")
    recording_duration = models.FloatField(null=True, blank=True, help_text="Seconds")
    recording_size = models.BigIntegerField(null=True, blank=True, help_text="Bytes")
    recording_error = models.TextField(blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    # Outbound: who answered, per answering-machine detection (human, machine, unknown).
    answered_by = models.CharField(max_length=8, choices=AnsweredBy.choices, blank=True, default="")
    # Who started it from the dashboard (simulations); null for carrier calls.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            # The history and each filter of GET /calls, tenant first and in the list's order
            # (newest first, id to break ties), so a page reads 20 index entries, not the
            # tenant's history; docs/calls.md. Tested with EXPLAIN in test_list_indexes.py.
            models.Index(fields=["customer", "-started_at", "-id"], name="call_customer_started_idx"),
            models.Index(fields=["customer", "agent", "-started_at", "-id"], name="call_customer_agent_idx"),
            models.Index(fields=["customer", "status", "-started_at", "-id"], name="call_customer_status_idx"),
            models.Index(fields=["customer", "direction", "-started_at", "-id"], name="call_customer_direction_idx"),
            models.Index(fields=["customer", "phone_number", "-started_at", "-id"], name="call_customer_number_idx"),
            models.Index(fields=["customer", "is_simulation", "-started_at", "-id"], name="call_customer_sim_idx"),
            # The stale sweep, across tenants: open calls only, so a tenant's status filter
            # never prefers it over the tenant's own index.
            models.Index(
                fields=["started_at"],
                name="call_open_started_idx",
                condition=models.Q(status__in=["queued", "ringing", "active"]),
            ),
            # The retention purge: ready recordings by age.
            models.Index(
                fields=["recording_status", "ended_at"],
                name="call_recording_status_idx",
                condition=~models.Q(recording_status=""),
            ),
        ]
        constraints = [
            # Carrier webhooks retry: one call row per carrier call id.
            models.UniqueConstraint(
                fields=["carrier", "carrier_call_id"],
                condition=~models.Q(carrier_call_id=""),
                name="call_unique_carrier_call_id",
            ),
        ]

    def __str__(self):
        return f"Call {self.pk} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_CALL_STATUSES

    @property
    def has_room(self) -> bool:
        return self.mode != CallMode.TEXT


class TurnRole(models.TextChoices):
    USER = "user", "User"
    ASSISTANT = "assistant", "Assistant"
    SYSTEM = "system", "System"
    TOOL = "tool", "Tool"


class TranscriptTurn(models.Model):
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="turns")
    role = models.CharField(max_length=10, choices=TurnRole.choices)
    content = models.TextField(blank=True, default="")
    # Tool turns: the tool's name, arguments and result.
    tool_name = models.CharField(max_length=100, blank=True, default="")
    tool_payload = models.JSONField(null=True, blank=True)
    # An assistant turn the caller talked over; `content` is what was said before it stopped.
    interrupted = models.BooleanField(default=False)
    # When the turn happened (voice_worker.turns.TurnRecord stamps it as the conversation
    # produces it), not when its exchange was stored: a greeting, the caller's message and
    # the reply stored together each keep their own time.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Per-turn latency (milliseconds) of the pipeline, as measured by the voice worker.
    end_of_turn_delay_ms = models.FloatField(null=True, blank=True)
    llm_ttft_ms = models.FloatField(null=True, blank=True)
    tts_ttfb_ms = models.FloatField(null=True, blank=True)
    e2e_latency_ms = models.FloatField(null=True, blank=True)
    # Usage, for cost accounting.
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    tts_characters = models.PositiveIntegerField(null=True, blank=True)
    audio_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["call", "id"], name="turn_call_id_idx")]

    def __str__(self):
        return f"{self.role}: {self.content[:40]}"


class CallCounter(models.Model):
    """How many calls a tenant has per (agent, status, direction, kind): what GET /calls
    answers `pagination.total` from without counting a million rows.

    Kept by database triggers on calls_call (migration 0008), so every write path counts:
    the services, the admin, QuerySet.update(), the SET NULL of a deleted agent, cascades
    and raw SQL alike, in the writer's own transaction (a rollback rolls the count back).
    `manage.py rebuild_call_counters` recounts after a manual fix that bypassed them
    (a restore, a table rewrite). Plain ids, not foreign keys: the triggers write rows
    while a tenant's rows are being deleted, and a constraint would refuse them.
    """

    customer_id = models.UUIDField()
    agent_id = models.BigIntegerField(default=0, help_text="0: no agent")
    status = models.CharField(max_length=12)
    direction = models.CharField(max_length=10)
    is_simulation = models.BooleanField(default=False)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer_id", "agent_id", "status", "direction", "is_simulation"],
                name="call_counter_unique_key",
            )
        ]

    def __str__(self):
        return f"{self.customer_id} agent {self.agent_id} {self.status} {self.direction}: {self.count}"


class CallCapacity(models.Model):
    """A customer's own concurrency limits (calls/leases.py); a missing row or a null
    field means the platform default from settings. Platform admins edit it."""

    customer = models.OneToOneField("tenants.Customer", on_delete=models.CASCADE, related_name="call_capacity")
    concurrency_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Simultaneous calls; blank = CALL_CONCURRENCY_LIMIT"
    )
    reserved_inbound_concurrency = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Slots only inbound calls may use; blank = CALL_RESERVED_INBOUND_CONCURRENCY",
    )

    class Meta:
        verbose_name = "call capacity"
        verbose_name_plural = "call capacities"

    def __str__(self):
        return f"Capacity of {self.customer_id}"


class PriceItem(models.TextChoices):
    """What a unit price is for; the values are the keys of calls.cost.DEFAULT_PRICES."""

    LLM_PROMPT = "llmPromptPerMillionTokens", "LLM prompt (input), per million tokens"
    LLM_COMPLETION = "llmCompletionPerMillionTokens", "LLM completion (output), per million tokens"
    TTS = "ttsPerThousandCharacters", "TTS, per thousand characters"
    STT = "sttPerMinute", "STT, per minute of audio"
    TELEPHONY = "telephonyPerMinute", "Telephony (carrier), per minute"
    PLATFORM = "platformPerMinute", "Platform, per minute"


class UnitPrice(TimestampedModel):
    """One line of the platform price table (calls/cost.py), edited in the platform admin.
    Blank vendor or model = any; the most specific line wins; an item with no line at all
    costs what settings say (PRICE_TABLE, then calls.cost.DEFAULT_PRICES)."""

    item = models.CharField(max_length=40, choices=PriceItem.choices)
    vendor = models.CharField(
        max_length=20, blank=True, default="", help_text="openai, deepgram, elevenlabs, twilio, telnyx…; blank = any"
    )
    model = models.CharField(max_length=100, blank=True, default="", help_text="Blank = any model of the vendor")
    price = models.DecimalField(max_digits=14, decimal_places=6, help_text="In the platform currency (PRICE_TABLE)")

    class Meta:
        ordering = ["item", "vendor", "model"]
        constraints = [models.UniqueConstraint(fields=["item", "vendor", "model"], name="unit_price_unique_line")]

    def __str__(self):
        return f"{self.item} {self.vendor or '*'}/{self.model or '*'} = {self.price}"
