"""Reads for identity."""

import datetime
import hashlib

from django.db.models import Q
from django.utils import timezone

from .models import User, UserStatus
from .normalization import normalize_email

__all__ = ["normalize_email"]  # re-exported: views, services and throttles import it from here


def refresh_token_hash(raw_token: str) -> str:
    # Refresh tokens are 256 random bits, so a plain SHA-256 is enough: there is
    # nothing to brute-force, and the lookup must be an exact index match.
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


def user_email_taken(*, email: str) -> bool:
    """Any row with the address counts, removed users included: the address stays
    reserved by the unique constraint."""
    return User.objects.filter(email=normalize_email(email)).exists()


def user_get_for_login(*, email: str) -> User | None:
    """The not-deleted user with this email, whatever their status."""
    return User.objects.filter(email=normalize_email(email), deleted_at__isnull=True).first()


def user_get_active_by_email(*, email: str) -> User | None:
    return User.objects.filter(email=normalize_email(email), deleted_at__isnull=True, status=UserStatus.ACTIVE).first()


def refresh_token_live_q(*, now: datetime.datetime | None = None, prefix: str = "") -> Q:
    """The one definition of a live refresh token (an open session): neither used, revoked
    nor expired. `prefix` reaches it through a relation (e.g. "refresh_tokens__")."""
    return Q(
        **{
            f"{prefix}used_at__isnull": True,
            f"{prefix}revoked_at__isnull": True,
            f"{prefix}expires_at__gt": now or timezone.now(),
        }
    )
