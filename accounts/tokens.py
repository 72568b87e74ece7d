"""Signed, purpose-bound tokens mailed to users (stateless until used).

Each purpose has its own salt and names itself in the payload, so a token minted for
one purpose never verifies for another, and an access token (a JWT signed with
JWT_SIGNING_KEY) verifies for none. Tokens are signed with SECRET_KEY (rotatable with
SECRET_KEY_FALLBACKS) and carry their issue time; the lifetime is checked on use.

Single use comes from the state the token points at, not from a list of used tokens:
a verification token stops working once its email is registered, an invitation once
the user is no longer `invited` (or is invited again), a password-reset token once the
password changes (both carry a fingerprint of the password hash).
"""

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

EMAIL_VERIFICATION = "email_verification"
INVITATION = "invitation"
PASSWORD_RESET = "password_reset"

SALTS = {
    EMAIL_VERIFICATION: "morpheus.accounts.email-verification",
    INVITATION: "morpheus.accounts.invitation",
    PASSWORD_RESET: "morpheus.accounts.password-reset",
}

# Longer strings are not ours; refuse them before spending any work on them.
MAX_TOKEN_LENGTH = 1024


class TokenInvalid(Exception):
    """Malformed, tampered, or minted for another purpose."""


class TokenExpired(Exception):
    """Genuine, but older than its purpose's lifetime."""


def lifetime_seconds(purpose: str) -> int:
    if purpose == EMAIL_VERIFICATION:
        return settings.EMAIL_VERIFICATION_LIFETIME_HOURS * 3600
    if purpose == INVITATION:
        return settings.INVITATION_LIFETIME_DAYS * 86400
    if purpose == PASSWORD_RESET:
        return settings.PASSWORD_RESET_TIMEOUT
    raise ValueError(f"Unknown token purpose {purpose!r}")


def sign_token(purpose: str, claims: dict) -> str:
    return signing.dumps({**claims, "purpose": purpose}, salt=SALTS[purpose])


def read_token(purpose: str, token) -> dict:
    """The token's claims; raises TokenInvalid or TokenExpired."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise TokenInvalid
    try:
        claims = signing.loads(token, salt=SALTS[purpose], max_age=lifetime_seconds(purpose))
    except signing.SignatureExpired:
        raise TokenExpired from None
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise TokenInvalid from None
    if not isinstance(claims, dict) or claims.get("purpose") != purpose:
        raise TokenInvalid
    return claims


def password_fingerprint(user, *, purpose: str) -> str:
    """A short keyed digest of the user's current password hash and email.

    It changes whenever the password (or email) does, which is what makes a reset
    link single-use and lets access tokens die with the password they were issued
    under. It reveals nothing about the hash: an HMAC under SECRET_KEY, per purpose.
    """
    value = f"{user.pk}:{user.email}:{user.password}"
    return salted_hmac(f"morpheus.accounts.fingerprint.{purpose}", value, algorithm="sha256").hexdigest()[:32]


def fingerprint_matches(user, *, purpose: str, fingerprint) -> bool:
    return isinstance(fingerprint, str) and constant_time_compare(
        fingerprint, password_fingerprint(user, purpose=purpose)
    )


# --- One pair of functions per purpose -------------------------------------------


def make_email_verification_token(email: str) -> str:
    return sign_token(EMAIL_VERIFICATION, {"email": email})


def read_email_verification_token(token) -> str:
    """The verified email; raises TokenInvalid or TokenExpired."""
    email = read_token(EMAIL_VERIFICATION, token).get("email")
    if not isinstance(email, str) or not email:
        raise TokenInvalid
    return email


def make_invitation_token(user) -> str:
    # The fingerprint ties the link to this invitation: inviting a removed user again
    # gives them a new unusable password, which retires the links mailed before.
    return sign_token(
        INVITATION,
        {"uid": str(user.pk), "email": user.email, "fp": password_fingerprint(user, purpose=INVITATION)},
    )


def read_invitation_claims(token) -> dict:
    """{"uid", "email", "fp", "purpose"}; raises TokenInvalid or TokenExpired.
    Check "fp" against the user before trusting it."""
    claims = read_token(INVITATION, token)
    if not all(isinstance(claims.get(key), str) for key in ("uid", "email", "fp")):
        raise TokenInvalid
    return claims


def read_invitation_token(token) -> dict:
    """Whom the invitation is for: {"uid", "email"}; raises TokenInvalid or TokenExpired."""
    claims = read_invitation_claims(token)
    return {"uid": claims["uid"], "email": claims["email"]}


def make_password_reset_token(user) -> str:
    return sign_token(PASSWORD_RESET, {"uid": str(user.pk), "fp": password_fingerprint(user, purpose=PASSWORD_RESET)})


def read_password_reset_token(token) -> dict:
    """{"uid", "fp"}; raises TokenInvalid or TokenExpired. Check "fp" against the user."""
    claims = read_token(PASSWORD_RESET, token)
    if not isinstance(claims.get("uid"), str) or not isinstance(claims.get("fp"), str):
        raise TokenInvalid
    return claims
