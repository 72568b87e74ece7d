"""Query inputs and output shapes of /analytics (camelCase, as the rest of the API)."""

from __future__ import annotations

import datetime
import zoneinfo

from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import serializers

from calls.models import CallDirection

from .rollups import BUCKET, bucket_of, tenant_timezone
from .selectors import INTERVALS, MAX_RANGE_DAYS, AnalyticsQuery

DEFAULT_RANGE_DAYS = 30


def parse_moment(value: str, tz: zoneinfo.ZoneInfo, *, end: bool) -> datetime.datetime:
    """A date (the local day in `tz`; as `to` it includes that whole day) or a datetime
    (UTC unless it carries an offset)."""
    text = value.strip()
    day = parse_date(text) if len(text) == 10 else None
    if day is not None:
        if end:
            day += datetime.timedelta(days=1)
        return datetime.datetime.combine(day, datetime.time(0), tzinfo=tz)
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None:
        raise serializers.ValidationError("Must be an ISO-8601 date (2026-03-01) or datetime")
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _ceil_bucket(moment: datetime.datetime) -> datetime.datetime:
    floor = bucket_of(moment)
    return floor if floor == moment else floor + BUCKET


class AnalyticsQueryInput(serializers.Serializer):
    """from/to: dates are local days in `timezone` (to inclusive); datetimes are instants
    (to exclusive). Both are widened to whole 15-minute buckets."""

    _from = serializers.CharField(required=False, help_text="Start: date or datetime; default 30 days before `to`")
    to = serializers.CharField(required=False, help_text="End: date (inclusive) or datetime (exclusive); default now")
    agentId = serializers.IntegerField(required=False, min_value=1)
    direction = serializers.ChoiceField(choices=CallDirection.choices, required=False)
    interval = serializers.ChoiceField(choices=INTERVALS, required=False, default="day")
    timezone = serializers.CharField(
        required=False, help_text="IANA time zone of the buckets; default the organization's settings.timezone, or UTC"
    )
    simulation = serializers.BooleanField(
        required=False, default=False, help_text="true: simulated calls instead of real ones"
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("_from")  # `from` is a Python keyword
        return fields

    def validate_timezone(self, value: str) -> zoneinfo.ZoneInfo:
        try:
            return zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise serializers.ValidationError("Must be an IANA time zone name such as Europe/Berlin") from None

    def validate(self, attrs):
        tz = attrs.get("timezone") or self.context["default_timezone"]
        errors = {}
        now = self.context["now"]
        end = start = None
        try:
            end = parse_moment(attrs["to"], tz, end=True) if attrs.get("to") else now
        except serializers.ValidationError as exc:
            errors["to"] = exc.detail
        try:
            if attrs.get("from"):
                start = parse_moment(attrs["from"], tz, end=False)
            elif end is not None:
                start = end - datetime.timedelta(days=DEFAULT_RANGE_DAYS)
        except serializers.ValidationError as exc:
            errors["from"] = exc.detail
        if errors:
            raise serializers.ValidationError(errors)
        if end <= start:
            raise serializers.ValidationError({"to": "Must be later than from"})
        if end - start > datetime.timedelta(days=MAX_RANGE_DAYS):
            raise serializers.ValidationError({"to": f"The range may span at most {MAX_RANGE_DAYS} days"})
        attrs["query"] = AnalyticsQuery(
            customer_id=self.context["customer_id"],
            start=bucket_of(start),
            end=_ceil_bucket(end.astimezone(datetime.UTC)),
            tz=tz,
            interval=attrs["interval"],
            agent_id=attrs.get("agentId"),
            direction=attrs.get("direction"),
            simulation=attrs["simulation"],
            tenant_tz=self.context["default_timezone"].key,
        )
        return attrs


def default_timezone(customer) -> zoneinfo.ZoneInfo:
    return tenant_timezone(customer)


# --- Outputs (for the schema) ------------------------------------------------------------


class CallFigures(serializers.Serializer):
    total = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    transferred = serializers.IntegerField(help_text="Calls that ended by a transfer")
    noAnswer = serializers.IntegerField()
    avgDurationSeconds = serializers.FloatField(allow_null=True, help_text="Mean duration of answered calls")
    totalMinutes = serializers.FloatField()
    successRate = serializers.FloatField(
        allow_null=True, help_text="Share (0-1) of analysed calls whose success evaluation passed"
    )
    cost = serializers.FloatField()


class CallSeriesItem(CallFigures):
    bucket = serializers.DateTimeField(help_text="Start of the bucket, UTC")
    localStart = serializers.CharField(help_text="Start of the bucket in the requested time zone, with its offset")


class AgentFigures(CallFigures):
    agentId = serializers.IntegerField(allow_null=True)
    agentName = serializers.CharField(allow_null=True)


class CallAnalyticsOutput(serializers.Serializer):
    series = CallSeriesItem(many=True)
    totals = CallFigures()
    byStatus = serializers.DictField(child=serializers.IntegerField(), help_text="ringing and active count as open")
    byEndReason = serializers.DictField(child=serializers.IntegerField())
    byAgent = AgentFigures(many=True)


class Percentiles(serializers.Serializer):
    p50 = serializers.FloatField(allow_null=True)
    p95 = serializers.FloatField(allow_null=True)
    count = serializers.IntegerField(help_text="Turns measured")


class LatencyFigures(serializers.Serializer):
    e2eLatencyMs = Percentiles()
    llmTtftMs = Percentiles()
    ttsTtfbMs = Percentiles()
    endOfTurnDelayMs = Percentiles()


class LatencySeriesItem(LatencyFigures):
    bucket = serializers.DateTimeField()
    localStart = serializers.CharField()


class LatencyAnalyticsOutput(serializers.Serializer):
    series = LatencySeriesItem(many=True)
    totals = LatencyFigures()
