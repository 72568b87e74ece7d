from django.apps import AppConfig


class VoiceWorkerConfig(AppConfig):
    name = "voice_worker"
    default_auto_field = "django.db.models.BigAutoField"
