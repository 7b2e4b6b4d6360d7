"""Thin, idempotent tasks: they take ids and call one service."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts.selectors import active_service_level_ids
from escalations import digests, evaluate, notify
from slagov.jobs import JobReport
from slagov.models import Organization
from slagov.tasks import TRANSIENT


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def evaluate_escalations(organization_id: int, service_level_ids: list[int]) -> dict:
    """After a status recompute: the rules for the SLAs it touched."""
    return evaluate.evaluate(organization_id=organization_id, service_level_ids=service_level_ids)


@shared_task
def sweep() -> dict:
    """
    Scheduled: the rules over every SLA of every tenant (for time-based
    conditions), fanned out to the workers in chunks; then missed due-bys.
    """
    queued = JobReport()
    with scopes_disabled():
        for organization in Organization.objects.order_by("pk").only("pk", "slug"):
            with queued.isolated(organization, "queueing the escalation rules"):
                ids = active_service_level_ids(organization.pk)
                for start in range(0, len(ids), evaluate.CHUNK):
                    evaluate_escalations.delay(organization.pk, ids[start : start + evaluate.CHUNK])
                    queued.done += 1
    missed = evaluate.sweep_missed_due()
    send_notifications.delay()
    # Each chunk's task reports its own failures (its result and the log).
    return {
        "chunks": queued.done,
        "due_missed": missed.done,
        "failed": queued.failed + missed.failed,
        "failures": queued.failures + missed.failures,
    }


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def send_notifications() -> int:
    """
    Send what the outbox holds (safe to run any number of times, in parallel).
    SMTP errors are the outbox's own business (per message, with backoff);
    only a database that is away retries the task.
    """
    return notify.send_pending()


@shared_task
def send_daily_digests() -> dict:
    return digests.send_member_digests(now=timezone.now()).as_dict()


@shared_task
def send_leadership_digests() -> dict:
    return digests.send_leadership_digests(now=timezone.now()).as_dict()


@shared_task
def send_data_reminders() -> dict:
    """Scheduled daily: deadline reminders and late-data notices, each queued once."""
    from escalations.data_reminders import reminders_send

    return reminders_send().as_dict()
