"""Thin, idempotent tasks: they take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from metrics import services
from slagov.tasks import TRANSIENT


@shared_task
def recompute_statuses(
    organization_id: int,
    service_level_ids: list[int],
    since: str | None = None,
    pairs: list | None = None,
) -> str:
    """
    Kept for messages queued before recomputes became recorded work: the same
    step of the pipeline (slagov.pipeline), rules and e-mails after it.
    """
    from slagov import pipeline, work

    follow_ups = pipeline.recompute(
        organization_id, service_level_ids=service_level_ids, since=since, pairs=pairs
    )
    for kind, arguments in follow_ups:
        work.later(kind, organization_id=organization_id, **arguments)
    return "done"


@shared_task
def refresh_due_statuses() -> dict:
    """
    Scheduled: periods whose deadline passed turn late; new periods appear.
    Each organisation on its own: the result counts rows written and failures.
    """
    return services.statuses_refresh_all().as_dict()


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def validate_submission(submission_id: int) -> str:
    from metrics.ingest.pipeline import submission_validate

    return submission_validate(submission_id=submission_id).state


@shared_task
def recover_submissions() -> int:
    """Scheduled: submissions left waiting by a lost worker are queued again or failed."""
    from metrics.ingest.pipeline import submissions_recover_all

    return submissions_recover_all()


@shared_task
def expire_previews() -> dict:
    """Scheduled: previews not applied within Submission.PREVIEW_DAYS expire."""
    from metrics.ingest.pipeline import submissions_expire

    return submissions_expire().as_dict()


@shared_task
def credit_ledger_daily() -> dict:
    """
    Scheduled: every organisation's credit ledger synced with the engine, and
    credits past their claim window expired; each organisation on its own.
    """
    from metrics.ledger import ledger_daily_all

    return ledger_daily_all().as_dict()
