"""Thin, idempotent tasks: they take ids and call one service."""

from __future__ import annotations

import smtplib

from celery import shared_task
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts.models import ServiceLevel
from escalations import digests, evaluate, notify
from slagov.models import Organization


@shared_task(autoretry_for=(ConnectionError, TimeoutError), retry_backoff=True, max_retries=5)
def evaluate_escalations(organization_id: int, service_level_ids: list[int]) -> dict:
    """After a status recompute: the rules for the SLAs it touched."""
    return evaluate.evaluate(organization_id=organization_id, service_level_ids=service_level_ids)


@shared_task
def sweep() -> dict:
    """Scheduled: every SLA of every tenant (time-based conditions), then missed due-bys."""
    totals = {"opened": 0, "raised": 0, "resolved": 0, "due_missed": 0}
    with scopes_disabled():
        for org_id in Organization.objects.values_list("pk", flat=True):
            ids = list(
                ServiceLevel.objects.filter(organization_id=org_id, is_active=True).values_list(
                    "pk", flat=True
                )
            )
            for key, value in evaluate.evaluate(
                organization_id=org_id, service_level_ids=ids
            ).items():
                totals[key] += value
    totals["due_missed"] = evaluate.sweep_missed_due()
    send_notifications.delay()
    return totals


@shared_task(
    autoretry_for=(smtplib.SMTPException, ConnectionError),
    retry_backoff=True,
    max_retries=8,
)
def send_notifications() -> int:
    """Send what the outbox holds (safe to run any number of times, in parallel)."""
    return notify.send_pending()


@shared_task
def send_daily_digests() -> int:
    return digests.send_member_digests(now=timezone.now())


@shared_task
def send_leadership_digests() -> int:
    return digests.send_leadership_digests(now=timezone.now())
