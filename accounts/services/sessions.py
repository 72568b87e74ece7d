"""Sessions: a signed-in user's token pairs. Login opens one, refresh rotates it
(with reuse detection), logout and security events revoke it."""

import ipaddress
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts.authentication import INACTIVE_USER_MESSAGE, issue_access_token
from accounts.exceptions import (
    ACCOUNT_SUSPENDED_MESSAGE,
    INVALID_CREDENTIALS_MESSAGE,
    INVITATION_PENDING_MESSAGE,
    REFRESH_EXPIRED_MESSAGE,
    REFRESH_INVALID_MESSAGE,
    REFRESH_REVOKED_MESSAGE,
    Unauthenticated,
)
from accounts.models import RefreshToken, User, UserStatus
from accounts.selectors import refresh_token_hash, user_get_for_login
from morpheus.errors import PermissionDenied

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


def password_matches(user: User | None, password: str) -> bool:
    """Whether `password` is the user's, in the same time whether or not the user exists."""
    if user is None or not user.has_usable_password():
        # Hash anyway: an unknown email must cost what a wrong password costs, or
        # response times would tell which addresses have accounts.
        make_password(password)
        return False
    return user.check_password(password)


def user_login(*, email: str, password: str, client: ClientInfo) -> Session:
    """Email + password. Unknown and removed users get the same answer as a wrong
    password; the account's state is disclosed only to someone who knows it."""
    user = user_get_for_login(email=email)
    if not password_matches(user, password) or user is None:
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
