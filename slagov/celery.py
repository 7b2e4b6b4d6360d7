"""The Celery app. The beat schedule lives here, in code."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "slagov.settings")

app = Celery("slagov")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Periods whose submission deadline has passed without data turn "late".
    "mark-late-data": {
        "task": "metrics.tasks.refresh_due_statuses",
        "schedule": crontab(minute=15, hour="*/1"),
    },
}
