"""Rollups of calls, kept in the same transaction as the call writes (analytics/rollups.py).

A `CallRollup` row sums the calls of one tenant that *started* in one 15-minute UTC
bucket, for one agent, direction and kind (real call or simulation). Fifteen minutes
because every offset in the time zone database is a multiple of it (India +05:30,
Nepal +05:45, Chatham +12:45): any zone's hour, day and week boundaries, DST included,
fall on a bucket edge, so re-bucketing in the reader's time zone is exact.

A `CallFact` row remembers what one call contributed, so a later write of the same call
(it ended, it was priced, it was analysed) moves the difference, never counts twice.
"""

from django.db import models

# End reasons with their own column; anything else (a reason added later) counts in `reason_other`.
ROLLUP_END_REASONS = (
    "caller_hung_up",
    "agent_ended",
    "ended_by_user",
    "transferred",
    "max_duration",
    "silence",
    "no_answer",
    "busy",
    "carrier",
    "stale",
    "error",
    "declined",
    "failed",
    "voicemail",
    "capacity",
)
# Status columns: queued, ringing and active are all "open" (the voice worker moves a
# call between them without a service call, and the difference is not worth a chart).
ROLLUP_STATUSES = ("open", "completed", "failed", "no_answer", "busy", "canceled")
LATENCY_METRICS = ("e2e", "llm_ttft", "tts_ttfb", "end_of_turn")
# A latency histogram's bins are in units of 10 ms (rollups.latency_bin).
LATENCY_BIN_MS = 10
# Every summed column of a rollup row (RollupFigures), the latency histograms aside.
FIGURE_COLUMNS = (
    "calls",
    *(f"status_{s}" for s in ROLLUP_STATUSES),
    *(f"reason_{r}" for r in ROLLUP_END_REASONS),
    "reason_other",
    "answered_ended",
    "duration_seconds",
    "cost",
    "judged",
    "successful",
)


class RollupFigures(models.Model):
    """What a rollup row sums: counts per status and end reason, minutes, cost, analysis
    verdicts and latency histograms."""

    calls = models.IntegerField(default=0)
    status_open = models.IntegerField(default=0)
    status_completed = models.IntegerField(default=0)
    status_failed = models.IntegerField(default=0)
    status_no_answer = models.IntegerField(default=0)
    status_busy = models.IntegerField(default=0)
    status_canceled = models.IntegerField(default=0)
    reason_caller_hung_up = models.IntegerField(default=0)
    reason_agent_ended = models.IntegerField(default=0)
    reason_ended_by_user = models.IntegerField(default=0)
    reason_transferred = models.IntegerField(default=0)
    reason_max_duration = models.IntegerField(default=0)
    reason_silence = models.IntegerField(default=0)
    reason_no_answer = models.IntegerField(default=0)
    reason_busy = models.IntegerField(default=0)
    reason_carrier = models.IntegerField(default=0)
    reason_stale = models.IntegerField(default=0)
    reason_error = models.IntegerField(default=0)
    reason_declined = models.IntegerField(default=0)
    reason_failed = models.IntegerField(default=0)
    reason_voicemail = models.IntegerField(default=0)
    reason_capacity = models.IntegerField(default=0)
    reason_other = models.IntegerField(default=0)
    # Ended calls that were answered, and their seconds: the average duration's parts.
    answered_ended = models.IntegerField(default=0)
    duration_seconds = models.BigIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    # Post-call analysis: calls analysed with a success verdict, and how many passed.
    judged = models.IntegerField(default=0)
    successful = models.IntegerField(default=0)
    # Per-turn latency histograms for percentiles, {"e2e": {"<10 ms bin>": count, ...}, ...}
    # packed (histograms.pack): read without parsing, merged with numpy.
    latency = models.BinaryField(default=b"", blank=True)

    class Meta:
        abstract = True


class RollupRow(RollupFigures):
    """A rollup row's figures and what every rollup is kept per: the tenant, the agent, the
    direction and whether the calls were simulations. Each table adds its period (a
    15-minute bucket, a local day, a phased hour) and its unique key."""

    customer = models.ForeignKey("tenants.Customer", on_delete=models.CASCADE, related_name="+")
    # A plain id, not a foreign key: history keeps its figures when the agent is deleted.
    # 0 = no agent (not NULL, so the unique key holds on every database).
    agent_id = models.BigIntegerField(default=0)
    direction = models.CharField(max_length=10)
    is_simulation = models.BooleanField(default=False)

    class Meta:
        abstract = True


class CallRollup(RollupRow):
    bucket = models.DateTimeField(help_text="Start of the 15-minute UTC bucket the calls started in")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "bucket", "agent_id", "direction", "is_simulation"],
                name="rollup_unique_key",
            )
        ]
        indexes = [models.Index(fields=["customer", "bucket"], name="rollup_customer_bucket_idx")]

    def __str__(self):
        return f"{self.customer_id} {self.bucket:%Y-%m-%d %H:%M} agent {self.agent_id}"


class CallDayRollup(RollupRow):
    """The same sums per local day in the tenant's time zone (its settings.timezone when
    the call was written): what day and week queries in that zone read, so 90 days is at
    most 90 rows per agent and direction however many calls there were. Queries in any
    other zone, by the hour, or with ranges that are not whole local days use the
    15-minute rows."""

    day = models.DateField()
    timezone = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "timezone", "day", "agent_id", "direction", "is_simulation"],
                name="day_rollup_unique_key",
            )
        ]
        indexes = [models.Index(fields=["customer", "day"], name="day_rollup_customer_day_idx")]

    def __str__(self):
        return f"{self.customer_id} {self.day} ({self.timezone}) agent {self.agent_id}"


# The agent and direction of the rows that sum every agent and direction (hour rollups).
ALL_AGENTS = -1
ALL_DIRECTIONS = "*"
# Minutes past the UTC hour an hour rollup starts at: every zone's local hours start at one of them.
HOUR_PHASES = (0, 15, 30, 45)


class CallHourRollup(RollupRow):
    """The same sums per hour, kept four times: hours starting at :00, :15, :30 and :45 UTC
    (`phase`). A zone's local hours, days and weeks start at one phase (UTC and New York at
    :00, Kolkata at :30, Kathmandu at :15): a query in any zone reads the hours of its phase,
    at most 24 rows per day whatever the number of calls, and the 15-minute rows only for
    the edges that are not on a whole hour of that phase (a range given to the minute, Lord
    Howe's 30-minute DST shift).

    Each hour has one row per agent and direction, and one more with agent ALL_AGENTS and
    direction ALL_DIRECTIONS summing them: an unfiltered query reads one row per hour, and
    so merges one latency histogram per hour."""

    phase = models.PositiveSmallIntegerField(help_text="Minutes past the UTC hour the hour starts at: 0, 15, 30, 45")
    hour = models.DateTimeField(help_text="Start of the hour (UTC), at `phase` minutes past")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                # Hour last: an unfiltered query (ALL_AGENTS) or one agent and direction is one range.
                fields=["customer", "phase", "is_simulation", "agent_id", "direction", "hour"],
                name="hour_rollup_unique_key",
            )
        ]
        # The rows of every agent in a range (byAgent, a direction filter).
        indexes = [models.Index(fields=["customer", "phase", "hour"], name="hour_rollup_range_idx")]

    def __str__(self):
        return f"{self.customer_id} {self.hour:%Y-%m-%d %H:%M} agent {self.agent_id} {self.direction}"


class CallFact(models.Model):
    """What one call currently contributes to its rollup row."""

    # No database constraint: a bulk rebuild writes facts while holding the tenant's rebuild
    # lock, and a constraint check would wait for the row lock of a call being ended, whose
    # writer waits for the rebuild lock (a deadlock). Deleting a call still deletes its fact
    # (Django's cascade).
    call = models.OneToOneField(
        "calls.Call", primary_key=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    rollup = models.ForeignKey(CallRollup, on_delete=models.CASCADE, related_name="+")
    day_rollup = models.ForeignKey(CallDayRollup, null=True, on_delete=models.CASCADE, related_name="+")
    # Counted in its CallHourRollup rows (facts older than them are not, until rebuild_rollups).
    in_hour_rollups = models.BooleanField(default=False)
    status = models.CharField(max_length=12)
    end_reason = models.CharField(max_length=20, blank=True, default="")
    answered_ended = models.BooleanField(default=False)
    duration_seconds = models.IntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    judged = models.BooleanField(default=False)
    successful = models.BooleanField(default=False)
    latency = models.JSONField(default=dict, blank=True)

    def __str__(self):
        return f"fact of call {self.call_id}"
