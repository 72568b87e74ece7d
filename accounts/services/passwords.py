"""Passwords: the rules a new one must meet, reset by emailed link, change."""

from typing import Any

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import tokens
from accounts.exceptions import (
    CURRENT_PASSWORD_WRONG_MESSAGE,
    RESET_EXPIRED_MESSAGE,
    RESET_INVALID_MESSAGE,
    RESET_USED_MESSAGE,
)
from accounts.models import User, UserStatus
from accounts.selectors import user_get_active_by_email
from morpheus import outbox

from .links import link_user, link_user_locked, read_link
from .sessions import ClientInfo, Session, session_create, user_sessions_revoke


def validate_user_and_password(user: User, password: str, *, report_as: str = "password") -> None:
    """The user's own fields and the password (Django's validators, which also compare
    it with the user's name and email); every problem at once."""
    errors = {}
    try:
        user.full_clean(exclude=["password", "customer"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        errors[report_as] = exc.messages
    if errors:
        raise ValidationError(errors)


def password_reset_request(*, email: str) -> None:
    """Mails a reset link when an active user has this address; silent otherwise, so
    the answer never tells whether an account exists."""
    user = user_get_active_by_email(email=email)
    if user is not None:
        user_id = str(user.pk)
        with transaction.atomic():
            outbox.enqueue("accounts.tasks.send_password_reset_email", user_id)


def _reset_open(user: User | None, claims: dict[str, Any]) -> bool:
    return (
        user is not None
        and user.deleted_at is None
        and user.status == UserStatus.ACTIVE
        and tokens.fingerprint_matches(user, purpose=tokens.PASSWORD_RESET, fingerprint=claims["fp"])
    )


def password_reset_complete(*, token: str, password: str) -> User:
    """Sets a new password from a reset link (single use: the link is bound to the
    old password) and signs the user out everywhere."""
    claims = read_link(
        tokens.read_password_reset_token, token, expired=RESET_EXPIRED_MESSAGE, invalid=RESET_INVALID_MESSAGE
    )
    user = link_user(claims, still_open=_reset_open, used=RESET_USED_MESSAGE)

    validate_user_and_password(user, password)
    hashed = make_password(password)
    with transaction.atomic():
        locked = link_user_locked(user, claims, still_open=_reset_open, used=RESET_USED_MESSAGE)
        locked.password = hashed
        # The link reached the inbox, which is what verification proves.
        locked.email_verified = True
        locked.save(update_fields=["password", "email_verified", "updated_at"])
        user_sessions_revoke(user=locked)
    return locked


def user_password_change(*, user: User, current_password: str, new_password: str, client: ClientInfo) -> Session:
    """A signed-in user changes their password: every other session ends, this one
    continues with a fresh token pair."""
    if not user.check_password(current_password):
        raise ValidationError({"current_password": [CURRENT_PASSWORD_WRONG_MESSAGE]})
    validate_user_and_password(user, new_password, report_as="new_password")
    hashed = make_password(new_password)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.password = hashed
        locked.save(update_fields=["password", "updated_at"])
        user_sessions_revoke(user=locked)
        return session_create(user=locked, client=client)
