"""The Celery app. The beat schedule lives here, in code."""

import os
from datetime import timedelta

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
    # Whatever was recorded but not done within its lease (a worker died, the broker was
    # away): follow-up work, submissions left waiting, outbox e-mails. See slagov.work.
    "sweep": {
        "task": "slagov.tasks.sweep",
        "schedule": timedelta(minutes=1),
    },
    # Proves beat, the broker and a worker all run (read by /healthz/).
    "heartbeat": {
        "task": "slagov.tasks.heartbeat",
        "schedule": timedelta(seconds=30),
    },
    # Previews not applied within Submission.PREVIEW_DAYS (7) expire and leave the pending list.
    "expire-previews": {
        "task": "metrics.tasks.expire_previews",
        "schedule": crontab(minute=50),
    },
    # Vendor contacts: a reminder before the data deadline, a notice when late.
    "send-data-reminders": {
        "task": "escalations.tasks.send_data_reminders",
        "schedule": crontab(minute=30, hour=6),
    },
    # Escalation rules over every SLA (time-based conditions, missed due-bys).
    "escalation-sweep": {
        "task": "escalations.tasks.sweep",
        "schedule": crontab(minute=20),
    },
    "escalation-digests": {
        "task": "escalations.tasks.send_daily_digests",
        "schedule": crontab(minute=0, hour=7),
    },
    # Joint reviews: the next one planned from each proactive contract's cadence.
    "plan-reviews": {
        "task": "reviews.tasks.plan_reviews",
        "schedule": crontab(minute=10, hour=5),
    },
    # Action items: a reminder before the due date, a notice once overdue.
    "action-reminders": {
        "task": "reviews.tasks.send_action_reminders",
        "schedule": crontab(minute=40, hour=6),
    },
    # The credit ledger in step with the engine; unclaimed credits past the contract's
    # claim window expire (metrics.ledger).
    "credit-ledger": {
        "task": "metrics.tasks.credit_ledger_daily",
        "schedule": crontab(minute=45, hour=5),
    },
    "leadership-digest": {
        "task": "escalations.tasks.send_leadership_digests",
        "schedule": crontab(minute=0, hour=7, day_of_week="mon"),
    },
    # The change marks that stamp cached governance health (reviews.health_cache) stay few.
    "prune-change-marks": {
        "task": "reviews.tasks.prune_change_marks",
        "schedule": crontab(minute=35),
    },
    # The monthly report of the month just ended, to the members who opted in (once a month).
    "monthly-report": {
        "task": "reviews.tasks.send_monthly_reports",
        "schedule": crontab(minute=45, hour=5, day_of_month=1),
    },
}
