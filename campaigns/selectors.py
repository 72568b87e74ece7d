"""Reads for campaigns: progress counted in one query, contacts with their attempts."""

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from .models import Campaign, Contact, ContactAttempt, ContactStatus

PROGRESS_KEYS = {
    "pending": ContactStatus.PENDING,
    "in_progress": ContactStatus.IN_PROGRESS,
    "completed": ContactStatus.COMPLETED,
    "voicemail": ContactStatus.VOICEMAIL,
    "no_answer": ContactStatus.NO_ANSWER,
    "busy": ContactStatus.BUSY,
    "failed": ContactStatus.FAILED,
    "skipped": ContactStatus.SKIPPED,
    "canceled": ContactStatus.CANCELED,
}


def with_progress(queryset: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """Annotates `progress_<key>` counts and `progress_total` (one grouped query)."""
    counts = {
        f"progress_{key}": Count("contacts", filter=Q(contacts__status=status)) for key, status in PROGRESS_KEYS.items()
    }
    annotated: QuerySet[Campaign] = (
        queryset.select_related("agent")
        .prefetch_related("from_numbers")
        .annotate(progress_total=Count("contacts"), **counts)
    )
    return annotated


def campaign_with_progress(customer_id: Any, campaign_id: int) -> Campaign:
    campaign: Campaign = with_progress(Campaign.objects.filter(customer_id=customer_id)).get(pk=campaign_id)
    return campaign


def progress_of(campaign: Any) -> dict[str, Any]:
    counts = {key: getattr(campaign, f"progress_{key}", 0) for key in PROGRESS_KEYS}
    reached = counts["completed"] + counts["voicemail"] + counts["no_answer"] + counts["busy"] + counts["failed"]
    answered = counts["completed"] + counts["voicemail"]
    return {
        "total": getattr(campaign, "progress_total", 0),
        "pending": counts["pending"],
        "inProgress": counts["in_progress"],
        "completed": counts["completed"],
        "failed": counts["failed"],
        "voicemail": counts["voicemail"],
        "noAnswer": counts["no_answer"],
        "busy": counts["busy"],
        "skipped": counts["skipped"],
        "canceled": counts["canceled"],
        # Contacts someone (or a machine) picked up, of the contacts whose calls are over.
        "answerRate": round(answered / reached, 4) if reached else None,
    }


def contacts_of(campaign: Campaign, status: str | None = None) -> QuerySet[Contact]:
    queryset = Contact.objects.filter(campaign=campaign).prefetch_related(
        Prefetch("attempt_rows", queryset=ContactAttempt.objects.order_by("number"))
    )
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("id")
