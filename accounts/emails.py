"""Auth emails, each with a plain-text and an HTML body."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def send_templated_email(*, to: str, subject: str, template: str, context: dict) -> None:
    context = {"frontend_url": settings.FRONTEND_URL, **context}
    text_body = render_to_string(f"accounts/email/{template}.txt", context)
    html_body = render_to_string(f"accounts/email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text_body, to=[to])
    message.attach_alternative(html_body, "text/html")
    message.send()
