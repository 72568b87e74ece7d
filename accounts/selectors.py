"""Reads for identity."""

from __future__ import annotations

import datetime
import hashlib
import uuid
from functools import cache
from typing import Any

from django.db.models import Field, Q, QuerySet
from django.utils import timezone

from morpheus.prepared import PreparedRead, instance_from_row

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


@cache
def _live_user_fields() -> tuple[list[Field[Any, Any]], list[Field[Any, Any]]]:
    """The user's and its customer's columns, in the order the live-user read selects them."""
    from tenants.models import Customer

    return list(User._meta.concrete_fields), list(Customer._meta.concrete_fields)


def _live_user_with_customer(pk: uuid.UUID) -> QuerySet[User]:
    user_fields, customer_fields = _live_user_fields()
    return User.objects.filter(pk=pk, deleted_at__isnull=True).values_list(
        *(field.name for field in user_fields), *(f"customer__{field.name}" for field in customer_fields)
    )


# Every authenticated request reads its user: compiled once per process (morpheus/prepared.py).
_LIVE_USER = PreparedRead(_live_user_with_customer, pk=User._meta.pk)


def user_get_live(*, user_id: uuid.UUID) -> User | None:
    """The user (with its customer) unless deleted; whatever its status, the caller decides.

    The same row `User.objects.select_related("customer").filter(pk=..., deleted_at__isnull=True)`
    reads, built from one prepared statement: authentication runs it on every request."""
    from tenants.models import Customer

    found = _LIVE_USER.rows(pk=user_id)
    if not found:
        return None
    user_fields, customer_fields = _live_user_fields()
    row = found[0]
    user = instance_from_row(User, [field.attname for field in user_fields], row[: len(user_fields)])
    # A platform admin has no customer: the LEFT JOIN's columns are all NULL.
    customer = None
    if user.customer_id:
        customer_row = row[len(user_fields) :]
        customer = instance_from_row(Customer, [field.attname for field in customer_fields], customer_row)
    User.customer.field.set_cached_value(user, customer)
    return user
