from django.apps import AppConfig


class EvaluationsConfig(AppConfig):
    name = "evaluations"
    verbose_name = "agent-testing"
    default_auto_field = "django.db.models.BigAutoField"
