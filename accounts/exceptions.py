"""Identity's errors and the messages the dashboard shows for them."""

from morpheus.errors import BadRequest, Unauthorized

EMAIL_TAKEN_MESSAGE = "Email already registered"
INVALID_CREDENTIALS_MESSAGE = "Invalid email or password"
ACCOUNT_SUSPENDED_MESSAGE = "Your account has been suspended"
INVITATION_PENDING_MESSAGE = "Please accept your invitation first; the link is in your invitation email"
CURRENT_PASSWORD_WRONG_MESSAGE = "Current password is incorrect"

VERIFICATION_INVALID_MESSAGE = "Invalid verification token"
VERIFICATION_EXPIRED_MESSAGE = "Verification token has expired. Please request a new one."
INVITATION_INVALID_MESSAGE = "Invalid invitation token"
INVITATION_EXPIRED_MESSAGE = "Invitation has expired. Ask your team admin to send a new one."
INVITATION_USED_MESSAGE = "This invitation is no longer valid"
RESET_INVALID_MESSAGE = "Invalid password reset token"
RESET_EXPIRED_MESSAGE = "Password reset token has expired. Please request a new one."
RESET_USED_MESSAGE = "This password reset link has already been used or is no longer valid"

REFRESH_INVALID_MESSAGE = "Invalid refresh token"
REFRESH_EXPIRED_MESSAGE = "Refresh token expired"
REFRESH_REVOKED_MESSAGE = "Refresh token has been revoked. Please log in again."


class InvalidLink(BadRequest):
    """A mailed token (verification, invitation, password reset) that cannot be used."""

    default_message = "This link is invalid"


class Unauthenticated(Unauthorized):
    """401 from the public auth endpoints (bad credentials, unusable refresh token).

    Not DRF's AuthenticationFailed: on a view without authentication classes DRF
    turns that into a 403, and these endpoints deliberately have none, so a stale
    access token sent along never gets in the way of logging in or refreshing.
    """

    default_message = INVALID_CREDENTIALS_MESSAGE
