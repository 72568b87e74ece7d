"""Emailed links (sign-up, invitation, password reset): reading their signed tokens."""

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from accounts import tokens
from accounts.exceptions import InvalidLink
from accounts.models import User

T = TypeVar("T")


def read_link(read: Callable[[str], T], token: str, *, expired: str, invalid: str) -> T:
    """The claims of a link's token; an expired or forged one is the link's own 400."""
    try:
        return read(token)
    except tokens.TokenExpired:
        raise InvalidLink(expired) from None
    except tokens.TokenInvalid:
        raise InvalidLink(invalid) from None


def user_by_token_uid(uid: str) -> User | None:
    try:
        return User.objects.filter(pk=uuid.UUID(uid)).first()
    except ValueError:
        return None


def link_user(claims: dict[str, Any], *, still_open: Callable[[User | None, dict[str, Any]], bool], used: str) -> User:
    """The user a link's claims name, if the link still works for them (`still_open`);
    otherwise the link's "already used" 400."""
    user = user_by_token_uid(claims["uid"])
    if user is None or not still_open(user, claims):
        raise InvalidLink(used)
    return user


def link_user_locked(
    user: User, claims: dict[str, Any], *, still_open: Callable[[User | None, dict[str, Any]], bool], used: str
) -> User:
    """The user locked for the update a link makes, the link checked again under the lock:
    two clicks on one link act once. Call it inside the transaction that writes the user."""
    locked = User.objects.select_for_update().filter(pk=user.pk).first()
    if locked is None or not still_open(locked, claims):
        raise InvalidLink(used)
    return locked
