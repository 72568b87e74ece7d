"""The /auth endpoints: parse, call a service, render. Envelopes come from the renderer.

Public endpoints run without authentication classes, so a stale or expired access
token a client sends along never blocks logging in, refreshing or logging out.
"""

from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from morpheus.api.parsing import validated
from morpheus.api.request_info import client_ip
from morpheus.api.responses import created, ok
from morpheus.api.viewsets import SignedInAPIView

from . import schema, serializers
from .selectors import normalize_email
from .services import invitations, passwords, registration, sessions
from .throttles import LoginEmailThrottle, LoginIpThrottle, MailEmailThrottle, MailIpThrottle
from .tokens import EMAIL_VERIFICATION, PASSWORD_RESET, lifetime_seconds


def _client(request) -> sessions.ClientInfo:
    return sessions.ClientInfo.build(ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT"))


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def _duration(seconds: int) -> str:
    """24 * 3600 -> "24 hours", 3600 -> "1 hour", 1800 -> "30 minutes"."""
    if seconds % 3600 == 0:
        return _plural(seconds // 3600, "hour")
    return _plural(max(1, seconds // 60), "minute")


def _link_mailed(email: str, purpose: str) -> dict:
    """What an endpoint that mails a link answers: the address and how long the link lasts."""
    return {"email": email, "expiresIn": _duration(lifetime_seconds(purpose))}


class PublicView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]


class RegisterRequestVerificationView(PublicView):
    success_messages = {"post": "Verification email sent. Please check your inbox."}
    throttle_classes = [MailIpThrottle, MailEmailThrottle]

    @schema.request_verification
    def post(self, request):
        data = validated(serializers.EmailInput, request.data)
        email = registration.email_verification_request(email=data["email"])
        return ok(serializers.VerificationSentOutput({"verification": _link_mailed(email, EMAIL_VERIFICATION)}).data)


class RegisterCompleteView(PublicView):
    success_messages = {"post": "Registration completed successfully"}

    @schema.register_complete
    def post(self, request):
        data = validated(serializers.RegisterCompleteInput, request.data)
        session = registration.user_register(
            token=data["token"], name=data["name"], password=data["password"], client=_client(request)
        )
        body = serializers.RegistrationOutput({"user": session.user}, context={"session": session}).data
        return created(body)


class LoginView(PublicView):
    success_messages = {"post": "Login successful"}
    throttle_classes = [LoginIpThrottle, LoginEmailThrottle]

    @schema.login
    def post(self, request):
        data = validated(serializers.LoginInput, request.data)
        session = sessions.user_login(email=data["email"], password=data["password"], client=_client(request))
        return ok(serializers.AuthOutput(session).data)


class RefreshView(PublicView):
    success_messages = {"post": "Token refreshed successfully"}

    @schema.refresh
    def post(self, request):
        data = validated(serializers.RefreshInput, request.data)
        session = sessions.refresh_token_rotate(raw_token=data["refreshToken"], client=_client(request))
        return ok(serializers.TokensOutput(session).data)


class LogoutView(PublicView):
    success_messages = {"post": "Logged out successfully"}

    @schema.logout
    def post(self, request):
        data = validated(serializers.RefreshInput, request.data)
        sessions.refresh_token_family_revoke(raw_token=data["refreshToken"])
        return ok(None)


class LogoutAllView(SignedInAPIView):
    success_messages = {"post": "Logged out of all sessions"}

    @schema.logout_all
    def post(self, request):
        sessions.user_sessions_revoke(user=request.user)
        return ok(None)


class ProfileView(SignedInAPIView):
    success_messages = {
        "get": "Profile retrieved successfully",
        "patch": "Profile updated successfully",
    }

    @schema.profile
    def get(self, request):
        return ok(serializers.ProfileOutput(request.user).data)

    @schema.profile_update
    def patch(self, request):
        data = validated(serializers.ProfileUpdateInput, request.data)
        user = registration.user_profile_update(user=request.user, **data)
        return ok(serializers.ProfileOutput(user).data)


class InviteAcceptView(PublicView):
    success_messages = {"post": "Invitation accepted successfully"}

    @schema.invite_accept
    def post(self, request):
        data = validated(serializers.InviteAcceptInput, request.data)
        session = invitations.invitation_accept(
            token=data["token"], password=data["password"], name=data.get("name"), client=_client(request)
        )
        return ok(serializers.AuthOutput(session).data)


class PasswordForgotView(PublicView):
    success_messages = {"post": "If an account exists for this email, a password reset link has been sent."}
    throttle_classes = [MailIpThrottle, MailEmailThrottle]

    @schema.password_forgot
    def post(self, request):
        data = validated(serializers.EmailInput, request.data)
        passwords.password_reset_request(email=data["email"])
        payload = {"passwordReset": _link_mailed(normalize_email(data["email"]), PASSWORD_RESET)}
        return ok(serializers.PasswordResetRequestedOutput(payload).data)


class PasswordResetView(PublicView):
    success_messages = {"post": "Password has been reset successfully. Please log in with your new password."}

    @schema.password_reset
    def post(self, request):
        data = validated(serializers.PasswordResetInput, request.data)
        passwords.password_reset_complete(token=data["token"], password=data["password"])
        return ok(None)


class PasswordChangeView(SignedInAPIView):
    success_messages = {"post": "Password changed successfully"}
    throttle_classes = [LoginIpThrottle, LoginEmailThrottle]

    @schema.password_change
    def post(self, request):
        data = validated(serializers.PasswordChangeInput, request.data)
        session = passwords.user_password_change(
            user=request.user,
            current_password=data["currentPassword"],
            new_password=data["newPassword"],
            client=_client(request),
        )
        return ok(serializers.TokensOutput(session).data)
