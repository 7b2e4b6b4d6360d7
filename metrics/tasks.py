"""Thin, idempotent tasks: they take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from metrics import services


@shared_task(
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=5,
)
def recompute_statuses(
    organization_id: int,
    service_level_ids: list[int],
    since: str | None = None,
    pairs: list | None = None,
) -> int:
    written = services.statuses_recompute(
        organization_id=organization_id,
        service_level_ids=service_level_ids,
        since=since,
        pairs=pairs,
    )
    # The escalation rules look at the statuses just written.
    from escalations.tasks import evaluate_escalations

    evaluate_escalations.delay(organization_id, service_level_ids)
    return written


@shared_task
def refresh_due_statuses() -> dict:
    """
    Scheduled: periods whose deadline passed turn late; new periods appear.
    Each organisation on its own: the result counts rows written and failures.
    """
    return services.statuses_refresh_all().as_dict()


@shared_task(
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=5,
)
def validate_submission(submission_id: int) -> str:
    from metrics.ingest.pipeline import submission_validate

    return submission_validate(submission_id=submission_id).state


@shared_task
def recover_submissions() -> int:
    """Scheduled: submissions left waiting by a lost worker are queued again or failed."""
    from metrics.ingest.pipeline import submissions_recover_all

    return submissions_recover_all()


@shared_task
def send_data_reminders() -> dict:
    """Scheduled daily: deadline reminders and late-data notices, each sent once."""
    from metrics.reminders import reminders_send

    return reminders_send().as_dict()


@shared_task
def expire_previews() -> dict:
    """Scheduled: previews not applied within Submission.PREVIEW_DAYS expire."""
    from metrics.ingest.pipeline import submissions_expire

    return submissions_expire().as_dict()
