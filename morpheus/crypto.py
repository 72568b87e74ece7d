"""Secrets at rest: the one encryption helper (DESIGN.md, Secrets at rest).

Provider keys, trunk passwords and signing secrets are stored encrypted with
MultiFernet over `FIELD_ENCRYPTION_KEYS` (first key encrypts, every key decrypts), or
one key derived from SECRET_KEY when that is unset. Models use `EncryptedTextField`;
the API never returns these values (write-only, `last4` at most).
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

__all__ = ["EncryptedTextField", "InvalidToken", "decrypt", "encrypt", "last4", "reencrypt"]


def _derived_key(secret: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(f"morpheus-field-encryption:{secret}".encode()).digest())


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    raw = [key.encode() for key in keys] or [_derived_key(secret_key)]
    return MultiFernet([Fernet(key) for key in raw])


def fernet() -> MultiFernet:
    return _fernet(tuple(getattr(settings, "FIELD_ENCRYPTION_KEYS", []) or []), settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Raises InvalidToken when no configured key can read `token`."""
    return fernet().decrypt(token.encode()).decode()


def reencrypt(token: str) -> str:
    """The same secret under the current primary key (key rotation)."""
    return fernet().rotate(token.encode()).decode()


def last4(plaintext: str) -> str:
    return plaintext[-4:] if len(plaintext) > 4 else ""


class EncryptedTextField(models.TextField):
    """A text column stored as a Fernet token; Python code sees the plaintext."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)
