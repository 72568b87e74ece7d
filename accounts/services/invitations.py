"""Invitations: a manager invites someone to the team; the emailed link lets them in."""

from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts import tokens
from accounts.exceptions import (
    INVITATION_EXPIRED_MESSAGE,
    INVITATION_INVALID_MESSAGE,
    INVITATION_USED_MESSAGE,
)
from accounts.models import User, UserStatus
from accounts.selectors import normalize_email
from morpheus import outbox

from .links import link_user, link_user_locked, read_link
from .passwords import validate_user_and_password
from .sessions import ClientInfo, Session, session_create


def user_invitation_send(*, user: User, actor: User | None = None) -> None:
    """Mails the invitation link once the surrounding transaction commits."""
    invited_by_id = str(actor.pk) if actor else None
    with transaction.atomic():
        outbox.enqueue("accounts.tasks.send_invitation_email", str(user.pk), invited_by_id)


def _invitation_open(user: User | None, claims: dict[str, Any]) -> bool:
    return (
        user is not None
        and user.deleted_at is None
        and user.status == UserStatus.INVITED
        and user.email == normalize_email(claims["email"])
        and tokens.fingerprint_matches(user, purpose=tokens.INVITATION, fingerprint=claims["fp"])
    )


def invitation_accept(*, token: str, password: str, name: str | None = None, client: ClientInfo) -> Session:
    """Activates an invited user with their chosen password (and name), marks the
    email verified (the link proved it) and signs them in."""
    claims = read_link(
        tokens.read_invitation_claims, token, expired=INVITATION_EXPIRED_MESSAGE, invalid=INVITATION_INVALID_MESSAGE
    )
    user = link_user(claims, still_open=_invitation_open, used=INVITATION_USED_MESSAGE)

    if name is not None and name.strip():
        user.name = name.strip()
    validate_user_and_password(user, password)
    hashed = make_password(password)
    with transaction.atomic():
        locked = link_user_locked(user, claims, still_open=_invitation_open, used=INVITATION_USED_MESSAGE)
        locked.password = hashed
        locked.name = user.name
        locked.status = UserStatus.ACTIVE
        locked.email_verified = True
        locked.last_login_at = timezone.now()
        locked.save(update_fields=["password", "name", "status", "email_verified", "last_login_at", "updated_at"])
        return session_create(user=locked, client=client)
