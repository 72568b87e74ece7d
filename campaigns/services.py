"""Writes for campaigns, their contacts and the do-not-call list.

Every function validates everything before writing, so bad input changes nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.outbound import clean_destination, clean_variables, outbound_agent, outbound_from_number, placeholders
from morpheus.e164 import InvalidNumber
from morpheus.errors import Conflict, ValidationFailed

from . import windows
from .events import emit_campaign_event
from .models import (
    RETRYABLE_OUTCOMES,
    Campaign,
    CampaignStatus,
    Contact,
    ContactStatus,
    DoNotCall,
)

NAME_MAX = 120
MAX_FROM_NUMBERS = 50
MAX_ATTEMPTS = 10
MAX_DELAY_MINUTES = 7 * 24 * 60
MAX_CONCURRENCY = 500
MAX_CALLS_PER_MINUTE = 600
JSON_CONTACTS_MAX = 1000
CSV_ROWS_MAX = 100_000
ROW_ERRORS_SHOWN = 100
BATCH = 1000
PHONE_COLUMN = "phone"
EDITABLE_STATUSES = (CampaignStatus.DRAFT, CampaignStatus.PAUSED)


# --- Campaigns ------------------------------------------------------------------------


def _clean_retry(errors: dict[str, list[str]], value: Any) -> dict[str, Any]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        errors["retry"] = ["Must be an object with maxAttempts, delayMinutes and on"]
        return {}
    max_attempts = value.get("maxAttempts", 1)
    delay = value.get("delayMinutes", 60)
    on = value.get("on", ["busy", "no_answer"])
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or not 1 <= max_attempts <= MAX_ATTEMPTS:
        errors["retry.maxAttempts"] = [f"An integer from 1 to {MAX_ATTEMPTS}"]
    if isinstance(delay, bool) or not isinstance(delay, int) or not 1 <= delay <= MAX_DELAY_MINUTES:
        errors["retry.delayMinutes"] = [f"An integer from 1 to {MAX_DELAY_MINUTES}"]
    if not isinstance(on, list) or any(item not in RETRYABLE_OUTCOMES for item in on):
        errors["retry.on"] = [f"A list of: {', '.join(RETRYABLE_OUTCOMES)}"]
        on = []
    return {"maxAttempts": max_attempts, "delayMinutes": delay, "on": [o for o in RETRYABLE_OUTCOMES if o in on]}


def _clean_int(errors: dict[str, list[str]], name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors[name] = [f"An integer from {low} to {high}"]
        return low
    return int(value)


def _apply(
    campaign: Campaign, data: dict[str, Any], *, creating: bool
) -> tuple[dict[str, list[str]], list[Any] | None]:
    errors: dict[str, list[str]] = {}
    customer_id = campaign.customer_id
    if creating or "name" in data:
        name = (data.get("name") or "").strip()
        if not name or len(name) > NAME_MAX:
            errors["name"] = [f"Required, at most {NAME_MAX} characters"]
        campaign.name = name
    if creating or "agent_id" in data:
        agent = outbound_agent(errors, customer_id, data.get("agent_id"))
        if agent is not None and "agent_id" not in errors:
            campaign.agent = agent
    numbers = None
    if creating or "from_number_ids" in data:
        ids = data.get("from_number_ids") or []
        if not ids or len(ids) > MAX_FROM_NUMBERS:
            errors["from_number_ids"] = [f"From 1 to {MAX_FROM_NUMBERS} of your phone numbers"]
        numbers = []
        for index, number_id in enumerate(dict.fromkeys(ids)):
            number_errors: dict[str, list[str]] = {}
            number, _trunk = outbound_from_number(number_errors, customer_id, number_id, field="x")
            if number_errors:
                errors[f"from_number_ids.{index}"] = number_errors["x"]
            else:
                numbers.append(number)
    if creating or "schedule" in data:
        campaign.schedule = windows.clean_schedule(errors, data.get("schedule"))
    if creating or "retry" in data:
        campaign.retry = _clean_retry(errors, data.get("retry"))
    if creating or "max_concurrency" in data:
        campaign.max_concurrency = _clean_int(
            errors, "max_concurrency", data.get("max_concurrency", 5), 1, MAX_CONCURRENCY
        )
    if creating or "calls_per_minute" in data:
        campaign.calls_per_minute = _clean_int(
            errors, "calls_per_minute", data.get("calls_per_minute", 30), 1, MAX_CALLS_PER_MINUTE
        )
    return errors, numbers


@transaction.atomic
def campaign_create(*, actor: Any, data: dict[str, Any]) -> Campaign:
    campaign = Campaign(customer_id=actor.customer_id, created_by=actor)
    errors, numbers = _apply(campaign, data, creating=True)
    if errors:
        raise ValidationFailed(errors)
    campaign.save()
    campaign.from_numbers.set(numbers or [])
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, data: dict[str, Any]) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in EDITABLE_STATUSES:
        raise Conflict(f"Campaign with ID {campaign.pk} is {campaign.status}: pause it to change it")
    errors, numbers = _apply(campaign, data, creating=False)
    if errors:
        raise ValidationFailed(errors)
    campaign.save()
    if numbers is not None:
        campaign.from_numbers.set(numbers)
    return campaign


@transaction.atomic
def campaign_delete(*, campaign: Campaign) -> None:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status in (CampaignStatus.RUNNING, CampaignStatus.PAUSED):
        raise Conflict(f"Campaign with ID {campaign.pk} is {campaign.status}: cancel it first")
    campaign.delete()


# --- Lifecycle ------------------------------------------------------------------------


def _locked(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().get(pk=campaign.pk)


def _set_status(campaign: Campaign, status: str, reason: str = "", **fields: Any) -> None:
    campaign.status = status
    campaign.status_reason = reason
    for name, value in fields.items():
        setattr(campaign, name, value)
    campaign.save(update_fields=["status", "status_reason", *fields, "updated_at"])


@transaction.atomic
def campaign_start(*, campaign: Campaign) -> Campaign:
    campaign = _locked(campaign)
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(f"Campaign with ID {campaign.pk} is {campaign.status}, not draft")
    if not campaign.contacts.filter(status=ContactStatus.PENDING).exists():
        raise ValidationFailed({"contacts": ["The campaign has no contacts to call: add some first"]})
    if not campaign.schedule.get("windows"):
        raise ValidationFailed({"schedule.windows": ["The campaign has no calling window"]})
    errors: dict[str, list[str]] = {}
    outbound_agent(errors, campaign.customer_id, campaign.agent_id)
    if not campaign.from_numbers.exists():
        errors["from_number_ids"] = ["The campaign has no phone number to call from"]
    if errors:
        raise ValidationFailed(errors)
    _set_status(campaign, CampaignStatus.RUNNING, started_at=timezone.now())
    emit_campaign_event(campaign, "campaign.started")
    return campaign


@transaction.atomic
def campaign_pause(*, campaign: Campaign, reason: str = "Paused by a user") -> Campaign:
    campaign = _locked(campaign)
    if campaign.status != CampaignStatus.RUNNING:
        raise Conflict(f"Campaign with ID {campaign.pk} is {campaign.status}, not running")
    _set_status(campaign, CampaignStatus.PAUSED, reason)
    emit_campaign_event(campaign, "campaign.paused")
    return campaign


@transaction.atomic
def campaign_resume(*, campaign: Campaign) -> Campaign:
    campaign = _locked(campaign)
    if campaign.status != CampaignStatus.PAUSED:
        raise Conflict(f"Campaign with ID {campaign.pk} is {campaign.status}, not paused")
    _set_status(campaign, CampaignStatus.RUNNING)
    emit_campaign_event(campaign, "campaign.resumed")
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign) -> Campaign:
    """Stops dialing: pending contacts are canceled; calls already placed finish."""
    campaign = _locked(campaign)
    if campaign.status in (CampaignStatus.COMPLETED, CampaignStatus.CANCELED):
        raise Conflict(f"Campaign with ID {campaign.pk} is already {campaign.status}")
    campaign.contacts.filter(status=ContactStatus.PENDING).update(
        status=ContactStatus.CANCELED, last_outcome="canceled", updated_at=timezone.now()
    )
    _set_status(campaign, CampaignStatus.CANCELED, "Canceled by a user", completed_at=timezone.now())
    emit_campaign_event(campaign, "campaign.canceled")
    return campaign


# --- Contacts -------------------------------------------------------------------------


@dataclass
class UploadReport:
    received: int = 0
    added: int = 0
    merged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, row: int, phone: str, message: str) -> None:
        self.rejected += 1
        if len(self.errors) < ROW_ERRORS_SHOWN:
            self.errors.append({"row": row, "phone": phone, "message": message})


class _Importer:
    """Validates rows and writes them in batches; duplicates (in the upload or already in
    the campaign) are merged into one contact per number, the last row's variables winning."""

    def __init__(self, campaign: Campaign):
        self.campaign = campaign
        self.required = placeholders(campaign.agent.system_prompt, campaign.agent.first_message)
        self.report = UploadReport()
        self.pending: dict[str, Contact] = {}

    def add(self, row_number: int, phone: Any, variables: Any) -> None:
        self.report.received += 1
        shown = phone if isinstance(phone, str) else ""
        try:
            e164 = clean_destination(phone)
        except InvalidNumber as exc:
            self.report.reject(row_number, shown, str(exc))
            return
        errors: dict[str, list[str]] = {}
        cleaned = clean_variables(errors, None, variables)
        missing = [name for name in self.required if not cleaned.get(name)]
        if errors or missing:
            message = next(iter(errors.values()))[0] if errors else f"Missing variable '{missing[0]}'"
            self.report.reject(row_number, shown, message)
            return
        if e164 in self.pending:
            self.report.merged += 1
        self.pending[e164] = Contact(
            campaign=self.campaign,
            customer_id=self.campaign.customer_id,
            phone_number=e164,
            variables=cleaned,
            timezone=windows.zone_for_number(e164),
        )
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        numbers = list(self.pending)
        existing = set(
            Contact.objects.filter(campaign=self.campaign, phone_number__in=numbers).values_list(
                "phone_number", flat=True
            )
        )
        self.report.merged += len(existing)
        self.report.added += len(numbers) - len(existing)
        Contact.objects.bulk_create(
            list(self.pending.values()),
            update_conflicts=True,
            unique_fields=["campaign", "phone_number"],
            update_fields=["variables"],
            batch_size=BATCH,
        )
        self.pending = {}


def _editable_for_contacts(campaign: Campaign) -> Campaign:
    campaign = Campaign.objects.select_for_update().select_related("agent").get(pk=campaign.pk)
    if campaign.status in (CampaignStatus.COMPLETED, CampaignStatus.CANCELED):
        raise Conflict(f"Campaign with ID {campaign.pk} is {campaign.status}: contacts cannot be added")
    return campaign


@transaction.atomic
def contacts_add_rows(*, campaign: Campaign, rows: Any) -> UploadReport:
    """JSON rows `[{"phone": "+1...", "variables": {...}}]` (at most 1000)."""
    if not isinstance(rows, list) or not rows:
        raise ValidationFailed({"contacts": ["A non-empty list of {phone, variables}"]})
    if len(rows) > JSON_CONTACTS_MAX:
        raise ValidationFailed({"contacts": [f"At most {JSON_CONTACTS_MAX} per request; upload a CSV for more"]})
    campaign = _editable_for_contacts(campaign)
    importer = _Importer(campaign)
    for index, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            importer.report.received += 1
            importer.report.reject(index, "", "Must be an object with phone and variables")
            continue
        importer.add(index, row.get("phone"), row.get("variables"))
    importer.flush()
    return importer.report


@transaction.atomic
def contacts_add_csv(*, campaign: Campaign, file: IO[bytes]) -> UploadReport:
    """A CSV upload: a `phone` column plus one column per variable. Read row by row (the
    upload handler spools big files to disk), written in batches of 1000, all in one
    transaction: wrong columns or too many rows change nothing."""
    campaign = _editable_for_contacts(campaign)
    text = io.TextIOWrapper(file, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationFailed({"file": ["The CSV is empty"]}) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValidationFailed({"file": [f"Not a UTF-8 CSV file: {exc}"]}) from None
    columns = [name.strip() for name in header]
    if PHONE_COLUMN not in columns:
        raise ValidationFailed({"file": [f"The first row must name the columns, one of them '{PHONE_COLUMN}'"]})
    duplicates = sorted({name for name in columns if columns.count(name) > 1 and name})
    if duplicates:
        raise ValidationFailed({"file": [f"Column '{duplicates[0]}' appears twice"]})
    bad = [name for name in columns if name != PHONE_COLUMN and not name.isidentifier()]
    if bad:
        raise ValidationFailed({"file": [f"Column '{bad[0]}' is not a valid variable name (letters, digits, _)"]})
    phone_index = columns.index(PHONE_COLUMN)
    importer = _Importer(campaign)
    try:
        for line, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            if importer.report.received >= CSV_ROWS_MAX:
                raise ValidationFailed({"file": [f"At most {CSV_ROWS_MAX} rows per upload"]})
            if len(values) != len(columns):
                importer.report.received += 1
                importer.report.reject(line, "", f"Expected {len(columns)} values, found {len(values)}")
                continue
            variables = {name: value for name, value in zip(columns, values, strict=True) if name != PHONE_COLUMN}
            importer.add(line, values[phone_index].strip(), variables)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValidationFailed({"file": [f"Not a UTF-8 CSV file: {exc}"]}) from None
    importer.flush()
    return importer.report


# --- Do-not-call ----------------------------------------------------------------------


@transaction.atomic
def dnc_add(*, customer_id: Any, phone_number: Any, reason: str = "") -> DoNotCall:
    try:
        e164 = clean_destination_or_any(phone_number)
    except InvalidNumber as exc:
        raise ValidationFailed({"phone_number": [str(exc)]}) from None
    if len(reason or "") > 200:
        raise ValidationFailed({"reason": ["At most 200 characters"]})
    try:
        with transaction.atomic():
            return DoNotCall.objects.create(customer_id=customer_id, phone_number=e164, reason=reason or "")
    except IntegrityError:
        raise Conflict(f"{e164} is already on the do-not-call list") from None


def clean_destination_or_any(value: Any) -> str:
    """A DNC entry may name any possible number (even ones we would never dial)."""
    from morpheus.e164 import parse_e164

    return parse_e164(value).e164


@transaction.atomic
def dnc_remove(*, entry: DoNotCall) -> None:
    entry.delete()
