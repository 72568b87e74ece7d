"""The one spelling of an email address: storage, lookup and throttle keys all use it.

NFKC folds compatibility characters (full-width `ａ` → `a`, Kelvin sign `K` → `K`), then
casefold lower-cases the Unicode way (`ſ` → `s`, `K` → `k`), then NFKC again so the
result is stable. Two spellings that PostgreSQL's case-insensitive comparison (or a
mail server) would treat as one address are one address here, so they share one
account and one throttle counter.
"""

import unicodedata


def normalize_email(email: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", email.strip()).casefold())
