"""Thin Celery tasks: take ids, load, call the mail helpers."""

from celery import shared_task
from django.conf import settings

from .emails import send_templated_email
from .models import User, UserStatus
from .tokens import make_invitation_token


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_email(self, user_id: str, invited_by_id: str | None = None) -> None:
    user = User.objects.select_related("customer").filter(pk=user_id, status=UserStatus.INVITED).first()
    if user is None:  # accepted or removed since it was queued
        return
    inviter = User.objects.filter(pk=invited_by_id).first() if invited_by_id else None
    link = f"{settings.FRONTEND_URL}/accept-invite?token={make_invitation_token(user)}"
    send_templated_email(
        to=user.email,
        subject=f"You're invited to {user.customer.company_name} on Morpheus",
        template="invitation",
        context={
            "user": user,
            "inviter": inviter,
            "customer": user.customer,
            "link": link,
            "days": settings.INVITATION_LIFETIME_DAYS,
        },
    )
