"""Thin tasks: the durable work, the sweeper and the worker's heartbeat."""

from __future__ import annotations

import time

import kombu.exceptions
import redis.exceptions
from celery import shared_task
from django.core.cache import cache
from django.db import InterfaceError, OperationalError

from slagov import work

# What a database, broker or cache that is briefly away actually raises: worth a retry.
TRANSIENT = (
    OperationalError,
    InterfaceError,
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
HEARTBEAT_KEY = "slagov:worker-heartbeat"


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def run_work(work_id: int) -> str:
    """One piece of recorded work (slagov.work); a second run finds it done."""
    return work.run(work_id)


@shared_task
def sweep() -> dict:
    """
    Scheduled every minute: whatever was recorded but not asked for, or asked
    for and not finished within its lease, is asked for again: follow-up work,
    submissions a lost worker left waiting, and outbox e-mails.
    """
    from escalations.tasks import send_notifications
    from metrics.ingest.pipeline import submissions_recover_all

    report = work.sweep()
    recovered = submissions_recover_all()
    send_notifications.delay()
    return {"work": report.done, "submissions": recovered}


@shared_task
def heartbeat() -> float:
    """Scheduled: proves that beat, the broker and a worker all run (read by /healthz/)."""
    now = time.time()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    return now
