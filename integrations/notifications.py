"""The email to a customer's owners when one of their webhook endpoints is disabled."""

from django.conf import settings
from django.core.mail import send_mail

from accounts.models import Role, User

from .models import WebhookEndpoint


def mail_endpoint_disabled(*, endpoint_id: int) -> int:
    endpoint = WebhookEndpoint.objects.select_related("customer").filter(pk=endpoint_id).first()
    if endpoint is None:
        return 0
    recipients = list(
        User.objects.filter(customer_id=endpoint.customer_id, role=Role.OWNER, deleted_at__isnull=True).values_list(
            "email", flat=True
        )
    )
    if not recipients:
        return 0
    body = (
        f"Morpheus could not deliver events to your webhook endpoint\n\n    {endpoint.url}\n\n"
        f"since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC, so it has been disabled and no more events "
        "are sent to it. Fix the endpoint, then enable it again (PATCH /api/v1/webhook-endpoints/"
        f"{endpoint.pk} with enabled: true) and redeliver what failed from {settings.FRONTEND_URL}.\n"
    )
    return send_mail(
        subject=f"Webhook endpoint disabled: {endpoint.url}",
        message=body,
        from_email=None,
        recipient_list=recipients,
    )
