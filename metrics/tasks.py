"""Thin, idempotent tasks: they take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from metrics import services


@shared_task(
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=5,
)
def recompute_statuses(organization_id: int, service_level_ids: list[int]) -> int:
    return services.statuses_recompute(
        organization_id=organization_id, service_level_ids=service_level_ids
    )


@shared_task
def refresh_due_statuses() -> int:
    """Scheduled: periods whose deadline passed turn late; new periods appear."""
    return services.statuses_refresh_all()
