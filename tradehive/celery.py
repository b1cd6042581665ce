"""The Celery app: broker and result backend on Redis, tasks discovered in every app."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradehive.settings.dev")

app = Celery("tradehive")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
