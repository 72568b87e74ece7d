from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Register the delivery tasks in every process (the API publishes them through
        # the outbox, which runs them inline when Celery is eager).
        from . import tasks  # noqa: F401
