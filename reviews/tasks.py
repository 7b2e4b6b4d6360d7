"""Thin, idempotent tasks: they take ids and call one service."""

from __future__ import annotations

from celery import shared_task


@shared_task
def plan_reviews() -> dict:
    """Scheduled daily: every proactive contract has its next cadence review planned."""
    from reviews.services import reviews_plan_all

    return reviews_plan_all().as_dict()


@shared_task
def send_action_reminders() -> dict:
    """Scheduled daily: a reminder before an action item's due date, a notice once overdue."""
    from reviews.actions import action_reminders_send

    return action_reminders_send().as_dict()


@shared_task
def send_monthly_reports() -> dict:
    """Scheduled on the 1st: each organisation's report of the month just ended, queued once."""
    from django.utils import timezone

    from reviews.report_mail import send_monthly_reports as send

    return send(now=timezone.now()).as_dict()


@shared_task
def prune_change_marks() -> int:
    """Scheduled hourly: old change marks deleted, each organisation's newest kept."""
    from slagov.change_marks import prune_change_marks as prune

    return prune()
