"""Bearer access tokens (simplejwt, HS256). The user is re-read on every request, so
a suspended, deleted or removed user is refused on the very next call."""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import AccessToken

from .models import User

TOKEN_EXPIRED_MESSAGE = "Token expired"
INVALID_TOKEN_MESSAGE = "Invalid token"
INACTIVE_USER_MESSAGE = "User account is not active"


class AccessTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(INVALID_TOKEN_MESSAGE)
        try:
            token = AccessToken(header[1].decode("latin-1"))
        except ExpiredTokenError:
            raise exceptions.AuthenticationFailed(TOKEN_EXPIRED_MESSAGE) from None
        except (TokenError, UnicodeDecodeError):
            raise exceptions.AuthenticationFailed(INVALID_TOKEN_MESSAGE) from None
        user = User.objects.select_related("customer").filter(pk=token.get("sub"), deleted_at__isnull=True).first()
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed(INACTIVE_USER_MESSAGE)
        return user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


def issue_access_token(user: User) -> str:
    return str(AccessToken.for_user(user))
