from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from calls.outbound import CALL_ENDED_HOOKS, CALL_REFINED_HOOKS

        from . import events  # noqa: F401 - registers the campaign.* webhook events
        from .dialer import attempt_finished, attempt_refined

        if attempt_finished not in CALL_ENDED_HOOKS:
            CALL_ENDED_HOOKS.append(attempt_finished)
        if attempt_refined not in CALL_REFINED_HOOKS:
            CALL_REFINED_HOOKS.append(attempt_refined)
