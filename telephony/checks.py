"""`manage.py check --deploy`: tell the operator when the JSON voice webhook is refused."""

from django.conf import settings
from django.core import checks

W001 = checks.Warning(
    "Neither VOICE_WEBHOOK_ALLOWED_IPS nor VOICE_WEBHOOK_SECRET is set: the JSON form of "
    "POST /api/v1/webhooks/voice/inbound and /status is refused (403 'Webhook source not allowed').",
    hint="Set VOICE_WEBHOOK_ALLOWED_IPS to your SIP integration's addresses (CIDRs) or VOICE_WEBHOOK_SECRET "
    "for X-Morpheus-Signature; carriers signing with Twilio/Telnyx keys are not affected (docs/deploy.md).",
    id="telephony.W001",
)


@checks.register(checks.Tags.security, deploy=True)
def voice_webhook_source_check(app_configs, **kwargs):
    if settings.VOICE_WEBHOOK_ALLOWED_IPS or settings.VOICE_WEBHOOK_SECRET:
        return []
    return [W001]
