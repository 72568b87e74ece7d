"""Auth emails, each with a plain-text and an HTML body, linking to the dashboard.

The links carry signed tokens (accounts.tokens); the dashboard page reads `token`
from the query string and posts it back to the API.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from .tokens import make_email_verification_token, make_invitation_token, make_password_reset_token

VERIFY_EMAIL_PATH = "/verify-email"
ACCEPT_INVITE_PATH = "/accept-invite"
RESET_PASSWORD_PATH = "/reset-password"


def frontend_link(path: str, token: str) -> str:
    # Signed tokens are URL-safe base64 joined by ":", which a query string may carry
    # as is; left unescaped, the token reads the same in the link as in the API call.
    return f"{settings.FRONTEND_URL}{path}?token={token}"


def send_templated_email(*, to: str, subject: str, template: str, context: dict) -> None:
    context = {"frontend_url": settings.FRONTEND_URL, **context}
    text_body = render_to_string(f"accounts/email/{template}.txt", context)
    html_body = render_to_string(f"accounts/email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text_body, to=[to])
    message.attach_alternative(html_body, "text/html")
    message.send()


def mail_email_verification(*, email: str) -> None:
    send_templated_email(
        to=email,
        subject="Verify your email to finish signing up for Morpheus",
        template="verification",
        context={
            "email": email,
            "link": frontend_link(VERIFY_EMAIL_PATH, make_email_verification_token(email)),
            "hours": settings.EMAIL_VERIFICATION_LIFETIME_HOURS,
        },
    )


def mail_invitation(*, user, inviter=None) -> None:
    send_templated_email(
        to=user.email,
        subject=f"You're invited to {user.customer.company_name} on Morpheus",
        template="invitation",
        context={
            "user": user,
            "inviter": inviter,
            "customer": user.customer,
            "link": frontend_link(ACCEPT_INVITE_PATH, make_invitation_token(user)),
            "days": settings.INVITATION_LIFETIME_DAYS,
        },
    )


def mail_password_reset(*, user) -> None:
    send_templated_email(
        to=user.email,
        subject="Reset your Morpheus password",
        template="password_reset",
        context={
            "user": user,
            "link": frontend_link(RESET_PASSWORD_PATH, make_password_reset_token(user)),
            "minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
        },
    )
