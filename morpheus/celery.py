"""The Celery app `morpheus`: configured from Django settings (CELERY_* names)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "morpheus.settings")

app = Celery("morpheus")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
