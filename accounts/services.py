"""Writes for identity: keyword-only functions named <entity>_<action>."""

from django.db import transaction
from django.utils import timezone

from .models import RefreshToken, User


def user_invitation_send(*, user: User, invited_by: User | None = None) -> None:
    """Mails the invitation link once the surrounding transaction commits."""
    from .tasks import send_invitation_email

    invited_by_id = str(invited_by.pk) if invited_by else None
    transaction.on_commit(lambda: send_invitation_email.delay(str(user.pk), invited_by_id))


def user_sessions_revoke(*, user: User) -> int:
    """Revokes every refresh-token family of the user; returns how many tokens."""
    return RefreshToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
