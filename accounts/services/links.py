"""Emailed links (sign-up, invitation, password reset): reading their signed tokens."""

import uuid
from collections.abc import Callable
from typing import TypeVar

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
