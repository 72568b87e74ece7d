"""Writes for identity: keyword-only functions named <entity>_<action>.

Passwords are hashed (bcrypt, slow by design) before any transaction opens, so no
lock is held while hashing. Failures that must still change something (a reused
refresh token revokes its family) raise only after their transaction committed.
"""

import ipaddress
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from morpheus import outbox
from morpheus.errors import Conflict, PermissionDenied
from morpheus.services import model_update

from . import tokens
from .authentication import INACTIVE_USER_MESSAGE, issue_access_token
from .exceptions import (
    ACCOUNT_SUSPENDED_MESSAGE,
    CURRENT_PASSWORD_WRONG_MESSAGE,
    EMAIL_TAKEN_MESSAGE,
    INVALID_CREDENTIALS_MESSAGE,
    INVITATION_EXPIRED_MESSAGE,
    INVITATION_INVALID_MESSAGE,
    INVITATION_PENDING_MESSAGE,
    INVITATION_USED_MESSAGE,
    REFRESH_EXPIRED_MESSAGE,
    REFRESH_INVALID_MESSAGE,
    REFRESH_REVOKED_MESSAGE,
    RESET_EXPIRED_MESSAGE,
    RESET_INVALID_MESSAGE,
    RESET_USED_MESSAGE,
    VERIFICATION_EXPIRED_MESSAGE,
    VERIFICATION_INVALID_MESSAGE,
    InvalidLink,
    Unauthenticated,
)
from .models import RefreshToken, Role, User, UserStatus
from .selectors import (
    normalize_email,
    refresh_token_hash,
    user_email_taken,
    user_get_active_by_email,
    user_get_for_login,
)

# Refresh tokens expired longer than this are deleted by the periodic purge; until
# then a replayed one is still recognised (and answered "expired", not "invalid").
EXPIRED_TOKEN_GRACE = timedelta(days=1)


@dataclass(frozen=True)
class ClientInfo:
    """Where a session was opened from, kept on its refresh tokens for audits."""

    ip: str | None = None
    user_agent: str = ""

    @classmethod
    def build(cls, *, ip: str | None, user_agent: str | None) -> "ClientInfo":
        try:
            ip = str(ipaddress.ip_address(ip)) if ip else None
        except ValueError:
            ip = None
        return cls(ip=ip, user_agent=(user_agent or "")[:255])


@dataclass(frozen=True)
class Session:
    """A signed-in user and the token pair handed to the client (the raw refresh
    token exists only here; the database keeps its hash)."""

    user: User
    access_token: str
    refresh_token: str


# --- Sessions and refresh tokens --------------------------------------------------


def _refresh_token_create(
    *, user: User, client: ClientInfo, family: uuid.UUID | None = None
) -> tuple[str, RefreshToken]:
    raw = secrets.token_urlsafe(32)
    token = RefreshToken.objects.create(
        user=user,
        family=family or uuid.uuid4(),
        token_hash=refresh_token_hash(raw),
        expires_at=timezone.now() + timedelta(days=settings.REFRESH_TOKEN_LIFETIME_DAYS),
        ip=client.ip,
        user_agent=client.user_agent,
    )
    return raw, token


@transaction.atomic
def session_create(*, user: User, client: ClientInfo) -> Session:
    """Opens a new refresh-token family for the user and issues the token pair."""
    raw, _ = _refresh_token_create(user=user, client=client)
    return Session(user=user, access_token=issue_access_token(user), refresh_token=raw)


def _family_revoke(family: uuid.UUID) -> int:
    return RefreshToken.objects.filter(family=family, revoked_at__isnull=True).update(revoked_at=timezone.now())


def refresh_token_rotate(*, raw_token: str, client: ClientInfo) -> Session:
    """Trades a live refresh token for a new pair in the same family.

    A token already used or revoked means a copy is in someone else's hands (or a
    logged-out session is being replayed): the whole family is revoked, so neither
    the thief nor the victim can go on, and the victim logs in again (OAuth 2.0
    Security BCP, refresh token reuse detection).
    """
    failure = None
    with transaction.atomic():
        # The row lock serialises two presentations of one token: the second one
        # sees it used and is treated as reuse.
        token = (
            RefreshToken.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(token_hash=refresh_token_hash(raw_token))
            .first()
        )
        now = timezone.now()
        if token is None:
            failure = REFRESH_INVALID_MESSAGE
        elif token.used_at is not None or token.revoked_at is not None:
            _family_revoke(token.family)
            failure = REFRESH_REVOKED_MESSAGE
        elif token.expires_at <= now:
            failure = REFRESH_EXPIRED_MESSAGE
        elif not token.user.is_active:
            _family_revoke(token.family)
            failure = INACTIVE_USER_MESSAGE
        else:
            user = token.user
            raw, successor = _refresh_token_create(user=user, client=client, family=token.family)
            token.used_at = now
            token.replaced_by = successor
            token.save(update_fields=["used_at", "replaced_by"])
            session = Session(user=user, access_token=issue_access_token(user), refresh_token=raw)
    if failure is not None:
        # Raised outside the transaction so a family revocation above is kept.
        raise Unauthenticated(failure)
    return session


def refresh_token_family_revoke(*, raw_token: str) -> None:
    """Logout: revokes every token of the presented token's family, whatever its
    state (logging out twice is fine). An unknown token is a 401."""
    token = RefreshToken.objects.filter(token_hash=refresh_token_hash(raw_token)).only("family").first()
    if token is None:
        raise Unauthenticated(REFRESH_INVALID_MESSAGE)
    _family_revoke(token.family)


def user_sessions_revoke(*, user: User) -> int:
    """Revokes every refresh-token family of the user; returns how many tokens."""
    return RefreshToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def refresh_tokens_purge_expired(*, grace: timedelta = EXPIRED_TOKEN_GRACE, batch_size: int = 1000) -> int:
    """Deletes refresh tokens expired for longer than `grace`; returns how many.

    In batches, so a large backlog never loads into memory or locks the table long.
    """
    cutoff = timezone.now() - grace
    purged = 0
    while True:
        batch = list(RefreshToken.objects.filter(expires_at__lt=cutoff).values_list("pk", flat=True)[:batch_size])
        if not batch:
            return purged
        with transaction.atomic():
            # A used token points at the one that replaced it; unlink rows pointing into the batch.
            RefreshToken.objects.filter(replaced_by__in=batch).update(replaced_by=None)
            purged += RefreshToken.objects.filter(pk__in=batch).delete()[0]


# --- Passwords --------------------------------------------------------------------


def _password_matches(user: User | None, password: str) -> bool:
    if user is None or not user.has_usable_password():
        # Hash anyway: an unknown email must cost what a wrong password costs, or
        # response times would tell which addresses have accounts.
        make_password(password)
        return False
    return user.check_password(password)


def _validate_user(user: User, password: str, *, report_as: str = "password") -> None:
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


# --- Registration -----------------------------------------------------------------


def email_verification_request(*, email: str) -> str:
    """Mails a sign-up link for an address not registered yet; returns the address."""
    email = normalize_email(email)
    if user_email_taken(email=email):
        raise Conflict(EMAIL_TAKEN_MESSAGE)
    with transaction.atomic():
        outbox.enqueue("accounts.tasks.send_verification_email", email)
    return email


def user_register(*, token: str, name: str, password: str, client: ClientInfo) -> Session:
    """Creates an active, verified member without a customer (onboarding comes next)
    from a verification token, and signs them in."""
    try:
        email = normalize_email(tokens.read_email_verification_token(token))
    except tokens.TokenExpired:
        raise InvalidLink(VERIFICATION_EXPIRED_MESSAGE) from None
    except tokens.TokenInvalid:
        raise InvalidLink(VERIFICATION_INVALID_MESSAGE) from None
    if user_email_taken(email=email):
        raise Conflict(EMAIL_TAKEN_MESSAGE)

    user = User(
        email=email,
        name=name.strip(),
        role=Role.MEMBER,
        status=UserStatus.ACTIVE,
        provider="local",
        email_verified=True,
    )
    _validate_user(user, password)
    user.set_password(password)
    with transaction.atomic():
        try:
            with transaction.atomic():
                user.save(force_insert=True)
        except IntegrityError:
            # A parallel registration of the same address got there first: the unique
            # index made this insert wait for it to commit, then refused it.
            raise Conflict(EMAIL_TAKEN_MESSAGE) from None
        return session_create(user=user, client=client)


# --- Login ------------------------------------------------------------------------


def user_login(*, email: str, password: str, client: ClientInfo) -> Session:
    """Email + password. Unknown and removed users get the same answer as a wrong
    password; the account's state is disclosed only to someone who knows it."""
    user = user_get_for_login(email=email)
    if not _password_matches(user, password) or user is None:
        raise Unauthenticated(INVALID_CREDENTIALS_MESSAGE)
    if user.status == UserStatus.SUSPENDED:
        raise PermissionDenied(ACCOUNT_SUSPENDED_MESSAGE)
    if user.status != UserStatus.ACTIVE:
        raise PermissionDenied(INVITATION_PENDING_MESSAGE)
    now = timezone.now()
    with transaction.atomic():
        # A direct update: logging in is not an edit of the user, so updatedAt stays.
        User.objects.filter(pk=user.pk).update(last_login_at=now)
        user.last_login_at = now
        return session_create(user=user, client=client)


# --- Invitations ------------------------------------------------------------------


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


def _user_by_token_uid(uid: str) -> User | None:
    try:
        return User.objects.filter(pk=uuid.UUID(uid)).first()
    except ValueError:
        return None


def invitation_accept(*, token: str, password: str, name: str | None = None, client: ClientInfo) -> Session:
    """Activates an invited user with their chosen password (and name), marks the
    email verified (the link proved it) and signs them in."""
    try:
        claims = tokens.read_invitation_claims(token)
    except tokens.TokenExpired:
        raise InvalidLink(INVITATION_EXPIRED_MESSAGE) from None
    except tokens.TokenInvalid:
        raise InvalidLink(INVITATION_INVALID_MESSAGE) from None
    user = _user_by_token_uid(claims["uid"])
    if user is None or not _invitation_open(user, claims):
        raise InvalidLink(INVITATION_USED_MESSAGE)

    if name is not None and name.strip():
        user.name = name.strip()
    _validate_user(user, password)
    hashed = make_password(password)
    with transaction.atomic():
        locked = User.objects.select_for_update().filter(pk=user.pk).first()
        # Re-checked under the lock: two clicks on one link activate once.
        if locked is None or not _invitation_open(locked, claims):
            raise InvalidLink(INVITATION_USED_MESSAGE)
        locked.password = hashed
        locked.name = user.name
        locked.status = UserStatus.ACTIVE
        locked.email_verified = True
        locked.last_login_at = timezone.now()
        locked.save(update_fields=["password", "name", "status", "email_verified", "last_login_at", "updated_at"])
        return session_create(user=locked, client=client)


# --- Password reset and change ----------------------------------------------------


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
    try:
        claims = tokens.read_password_reset_token(token)
    except tokens.TokenExpired:
        raise InvalidLink(RESET_EXPIRED_MESSAGE) from None
    except tokens.TokenInvalid:
        raise InvalidLink(RESET_INVALID_MESSAGE) from None
    user = _user_by_token_uid(claims["uid"])
    if user is None or not _reset_open(user, claims):
        raise InvalidLink(RESET_USED_MESSAGE)

    _validate_user(user, password)
    hashed = make_password(password)
    with transaction.atomic():
        locked = User.objects.select_for_update().filter(pk=user.pk).first()
        if locked is None or not _reset_open(locked, claims):
            raise InvalidLink(RESET_USED_MESSAGE)
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
    _validate_user(user, new_password, report_as="new_password")
    hashed = make_password(new_password)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.password = hashed
        locked.save(update_fields=["password", "updated_at"])
        user_sessions_revoke(user=locked)
        return session_create(user=locked, client=client)


# --- Profile ----------------------------------------------------------------------


@transaction.atomic
def user_profile_update(*, user: User, name: str | None = None) -> User:
    """The user's own editable fields (only the name: email, role and status change
    through their own flows). Nothing given, nothing written."""
    if name is None:
        return user
    user, _ = model_update(instance=user, fields=["name"], data={"name": name.strip()})
    return user


# --- Platform admin actions ---------------------------------------------------------
# What a platform admin does to one account from the Django admin. Each refuses, with a
# message naming the account and without changing anything, what makes no sense: a
# removed account, suspending twice, suspending oneself.

USER_REMOVED_MESSAGE = "User {email} has been removed"
USER_ALREADY_SUSPENDED_MESSAGE = "User {email} is already suspended"
USER_NOT_SUSPENDED_MESSAGE = "User {email} is not suspended"
USER_SELF_SUSPEND_MESSAGE = "You cannot suspend your own account"
USER_NO_PENDING_INVITATION_MESSAGE = "User {email} has no pending invitation"


def platform_admin_require(*, actor: User) -> None:
    """The actor as stored now must be an active platform admin (fail-closed for any caller)."""
    current = User.objects.filter(pk=actor.pk, deleted_at__isnull=True).first()
    if current is None or not (current.is_active and current.is_platform_admin):
        raise PermissionDenied()


def _lock_live_user(user: User) -> User:
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.deleted_at is not None:
        raise Conflict(USER_REMOVED_MESSAGE.format(email=locked.email))
    return locked


@transaction.atomic
def user_suspend(*, user: User, actor: User) -> User:
    """Suspends the account and ends every session: refresh tokens are revoked now, and
    access tokens stop on the next request (authentication re-reads the user)."""
    platform_admin_require(actor=actor)
    locked = _lock_live_user(user)
    if locked.pk == actor.pk:
        raise PermissionDenied(USER_SELF_SUSPEND_MESSAGE)
    if locked.status == UserStatus.SUSPENDED:
        raise Conflict(USER_ALREADY_SUSPENDED_MESSAGE.format(email=locked.email))
    locked.status = UserStatus.SUSPENDED
    locked.save(update_fields=["status", "updated_at"])
    user_sessions_revoke(user=locked)
    return locked


@transaction.atomic
def user_reactivate(*, user: User, actor: User) -> User:
    """Lifts a suspension. Someone suspended before accepting their invitation (no usable
    password yet) goes back to `invited`, so the invitation link works again."""
    platform_admin_require(actor=actor)
    locked = _lock_live_user(user)
    if locked.status != UserStatus.SUSPENDED:
        raise Conflict(USER_NOT_SUSPENDED_MESSAGE.format(email=locked.email))
    locked.status = UserStatus.ACTIVE if locked.has_usable_password() else UserStatus.INVITED
    locked.save(update_fields=["status", "updated_at"])
    return locked


@transaction.atomic
def user_invitation_resend(*, user: User, actor: User) -> User:
    """Mails a fresh invitation link (on commit) to a user who has not accepted yet."""
    platform_admin_require(actor=actor)
    locked = _lock_live_user(user)
    if locked.status != UserStatus.INVITED or locked.customer_id is None:
        raise Conflict(USER_NO_PENDING_INVITATION_MESSAGE.format(email=locked.email))
    # No inviter named: the mail comes from the organization, not from a platform admin.
    user_invitation_send(user=locked, actor=None)
    return locked
