"""The Celery application. Broker and options come from Django settings (``CELERY_*``)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "file_project.settings")

app = Celery("biofm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from . import task_metrics  # noqa: E402, F401  (task counters and timings for /metrics)
