"""Bearer access tokens (simplejwt, HS256, JWT_SIGNING_KEY, 15 minutes).

The user is re-read on every request, so a suspended, deleted or removed user is
refused on the very next call, whatever their token says. A token also carries a
fingerprint of the password it was issued under: after a password reset or change,
older access tokens stop working at once instead of living out their 15 minutes.
"""

import uuid

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import AccessToken

from .models import User
from .selectors import user_get_live
from .tokens import fingerprint_matches, password_fingerprint

TOKEN_EXPIRED_MESSAGE = "Token expired"
INVALID_TOKEN_MESSAGE = "Invalid token"
INACTIVE_USER_MESSAGE = "User account is not active"

PASSWORD_CLAIM = "pwv"
_PASSWORD_PURPOSE = "access"


class AccessTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <access token>`; no header means anonymous (and each
    view's permissions decide), anything malformed is a 401."""

    keyword = b"bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(INVALID_TOKEN_MESSAGE)
        try:
            token = AccessToken(header[1].decode("ascii"))
        except ExpiredTokenError:
            raise exceptions.AuthenticationFailed(TOKEN_EXPIRED_MESSAGE) from None
        except (TokenError, UnicodeDecodeError):
            raise exceptions.AuthenticationFailed(INVALID_TOKEN_MESSAGE) from None
        try:
            user_id = uuid.UUID(str(token.get("sub")))
        except ValueError:
            raise exceptions.AuthenticationFailed(INVALID_TOKEN_MESSAGE) from None

        user = user_get_live(user_id=user_id)
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed(INACTIVE_USER_MESSAGE)
        if not fingerprint_matches(user, purpose=_PASSWORD_PURPOSE, fingerprint=token.get(PASSWORD_CLAIM)):
            # The password changed since this token was issued. "Token expired" sends
            # the dashboard to /auth/refresh, which succeeds only if that session's
            # refresh family survived the change (a reset revokes them all).
            raise exceptions.AuthenticationFailed(TOKEN_EXPIRED_MESSAGE)
        return user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


def issue_access_token(user: User) -> str:
    token = AccessToken.for_user(user)
    token[PASSWORD_CLAIM] = password_fingerprint(user, purpose=_PASSWORD_PURPOSE)
    return str(token)
