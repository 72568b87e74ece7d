"""Signed, purpose-bound tokens mailed to users (stateless until used).

Each purpose has its own salt, so a token minted for one purpose never verifies
for another.
"""

from django.conf import settings
from django.core import signing

INVITATION_SALT = "morpheus.accounts.invitation"


def make_invitation_token(user) -> str:
    return signing.dumps({"uid": str(user.pk), "email": user.email}, salt=INVITATION_SALT)


def read_invitation_token(token: str) -> dict:
    """Raises signing.SignatureExpired / signing.BadSignature."""
    return signing.loads(token, salt=INVITATION_SALT, max_age=settings.INVITATION_LIFETIME_DAYS * 86400)
