"""The Celery application: background work for the consumers (`celery -A project worker`).

Configured from Django's settings (the ``CELERY_`` names in project/settings.py, which also set
the TLS options a ``rediss://`` broker needs).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
