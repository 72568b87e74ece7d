"""Thin Celery tasks: take ids (or the address being verified), load, call a helper.

Mail tasks retry on network errors (SMTP errors are OSErrors) with backoff; each
attempt mints a fresh token, so a late retry still mails a link with its full life.
"""

from celery import shared_task

from .emails import mail_email_verification, mail_invitation, mail_password_reset
from .models import User, UserStatus
from .services.sessions import refresh_tokens_purge_expired

# Backoff capped well below the broker's visibility timeout (CELERY_VISIBILITY_TIMEOUT_SECONDS).
MAIL_RETRY = {"autoretry_for": (OSError,), "retry_backoff": True, "retry_backoff_max": 300, "max_retries": 5}


@shared_task(**MAIL_RETRY)
def send_verification_email(email: str) -> None:
    mail_email_verification(email=email)


@shared_task(**MAIL_RETRY)
def send_invitation_email(user_id: str, invited_by_id: str | None = None) -> None:
    user = (
        User.objects.select_related("customer")
        .filter(pk=user_id, status=UserStatus.INVITED, deleted_at__isnull=True)
        .first()
    )
    if user is None or user.customer is None:  # accepted or removed since it was queued
        return
    inviter = User.objects.filter(pk=invited_by_id).first() if invited_by_id else None
    mail_invitation(user=user, inviter=inviter)


@shared_task(**MAIL_RETRY)
def send_password_reset_email(user_id: str) -> None:
    user = User.objects.filter(pk=user_id, status=UserStatus.ACTIVE, deleted_at__isnull=True).first()
    if user is None:  # suspended or removed since it was queued
        return
    mail_password_reset(user=user)


@shared_task
def purge_expired_tokens() -> int:
    """Beat, hourly: deletes refresh tokens expired for more than a day."""
    return refresh_tokens_purge_expired()
