"""Writes for readings and statuses. Keyword-only, atomic, actor and organisation explicit."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts import bounds, periods
from contracts.models import ServiceLevel
from contracts.selectors import active_service_level_ids
from metrics import engine
from metrics.models import Reading, ReadingRevision
from slagov import work
from slagov.jobs import JobReport, organization_label, savepoint
from slagov.models import Organization
from slagov.tenancy import in_tenant_scope

logger = logging.getLogger(__name__)


def reading_period_validate(
    *, service_level: ServiceLevel, period_start: date, today: date | None = None
) -> None:
    """A reading's period has ended and lies inside the contract term (`periods.period_problem`)."""
    contract = service_level.contract
    problem = periods.period_problem(
        periods.period_start(period_start, service_level.period),
        service_level.period,
        contract_start=contract.start_date,
        contract_end=contract.end_date,
        today=today or timezone.localdate(),
    )
    if problem:
        raise ValidationError({"period": problem})


def reading_value_validate(*, service_level: ServiceLevel, value: Decimal) -> None:
    """A value in the range of the SLA's unit (`bounds.value_problem`)."""
    if problem := bounds.value_problem(value, service_level.unit):
        raise ValidationError({"value": problem})


@transaction.atomic
def reading_record(
    *,
    organization: Organization,
    actor,
    service_level: ServiceLevel,
    period_start: date,
    value: Decimal,
    source: str,
    note: str = "",
) -> tuple[Reading, bool]:
    """
    Store a value for one SLA and period. A different value for a period that
    already has one is a correction: it needs a reason (the note), and the old
    value is kept as a revision. Returns (reading, changed).
    """
    if service_level.organization_id != organization.pk:
        raise ValueError("service level of another organisation")
    reading_period_validate(service_level=service_level, period_start=period_start)
    reading_value_validate(service_level=service_level, value=value)
    value = bounds.normalise(value)
    start = periods.period_start(period_start, service_level.period)
    now = timezone.now()
    reading = (
        Reading.objects.select_for_update()
        .filter(organization=organization, service_level=service_level, period_start=start)
        .first()
    )
    if reading is None:
        reading = Reading.objects.create(
            organization=organization,
            service_level=service_level,
            period_start=start,
            value=value,
            source=source,
            note=note,
            submitted_by=actor,
            submitted_at=now,
        )
    elif reading.value == value:
        return reading, False
    else:
        if not note.strip():
            raise ValidationError(
                {"note": "Say why the value is corrected: the old value is kept with the reason."}
            )
        ReadingRevision.objects.create(
            organization=organization,
            reading=reading,
            revision=reading.revision,
            value=reading.value,
            source=reading.source,
            note=reading.note,
            submitted_by=reading.submitted_by,
            submitted_at=reading.submitted_at,
            superseded_at=now,
            superseded_by=actor,
            reason=note,
        )
        reading.value = value
        reading.source = source
        reading.note = note
        reading.submitted_by = actor
        reading.submitted_at = now
        reading.revision += 1
        reading.save()
    work.recompute_later(organization_id=organization.pk, pairs=[(service_level.pk, start)])
    return reading, True


def statuses_recompute(
    *,
    organization_id: int,
    service_level_ids: list[int],
    since: str | None = None,
    pairs: list | None = None,
) -> int:
    if pairs is not None:
        scope = engine.Scope.of_pairs(pairs)
    else:
        scope = engine.Scope(since=date.fromisoformat(since) if since else None)
    return engine.recompute(
        organization_id=organization_id, service_level_ids=service_level_ids, scope=scope
    )


def statuses_recompute_isolated(
    *,
    report: JobReport,
    organization,
    service_level_ids: list[int],
    scope: engine.Scope | None = None,
    today: date | None = None,
    force: bool = False,
) -> None:
    """
    A scheduled recompute of some SLAs of one organisation, chunk by chunk.
    A chunk that fails is run again SLA by SLA, so that one bad SLA fails
    alone; each failure is logged with its organisation and counted in `report`.
    `force`: recompute SLAs whose inputs didn't change too (`engine.recompute`).
    """
    org_id = getattr(organization, "pk", organization)
    for start in range(0, len(service_level_ids), engine.CHUNK):
        chunk = service_level_ids[start : start + engine.CHUNK]
        try:
            with savepoint():
                report.done += engine.recompute(
                    organization_id=org_id, service_level_ids=chunk, scope=scope, today=today,
                    force=force,
                )  # fmt: skip
            continue
        except Exception:
            if len(chunk) == 1:
                report.record_failure(organization, f"status recompute of SLA {chunk[0]}")
                continue
            logger.warning(
                "status recompute of %d SLAs failed for organisation %s: retrying one by one",
                len(chunk), organization_label(organization), exc_info=True,
            )  # fmt: skip
        for sla_id in chunk:
            with report.isolated(organization, f"status recompute of SLA {sla_id}"):
                report.done += engine.recompute(
                    organization_id=org_id, service_level_ids=[sla_id], scope=scope, today=today,
                    force=force,
                )  # fmt: skip


def statuses_refresh(
    *, organization, report: JobReport, today: date, since_months: int | None = 3
) -> None:
    """
    One organisation's share of the scheduled refresh, chunk by chunk, isolated.

    On PostgreSQL the engine knows when the passing of time next matters to
    each SLA (`engine.changes`): the active SLAs due then (a period closed, a
    deadline passed, never recorded) are recomputed in full, the others not
    at all. Elsewhere, every active SLA from `since_months` months ago.
    `since_months=None`: every active SLA, every period, forced.
    """
    if since_months is None:
        ids = active_service_level_ids(organization.pk)
        scope, force = engine.Scope(), True
    elif connection.vendor == "postgresql":
        ids = engine.changes.due_ids(organization.pk, today)
        scope, force = engine.Scope(), False
    else:
        since = periods.add_periods(today.replace(day=1), periods.Period.MONTHLY, -since_months)
        ids = active_service_level_ids(organization.pk)
        scope, force = engine.Scope(since=since), False
    statuses_recompute_isolated(
        report=report,
        organization=organization,
        service_level_ids=ids,
        scope=scope,
        today=today,
        force=force,
    )


@scopes_disabled()
def statuses_refresh_all(today: date | None = None, *, since_months: int | None = 3) -> JobReport:
    """
    Recompute what the passing of time changes, in-process (new periods
    appear, overdue ones turn late): see `statuses_refresh`.
    Each organisation and chunk runs in isolation: `done` counts the status
    rows written, `failed` the chunks or SLAs that failed (logged).
    """
    today = today or timezone.localdate()
    report = JobReport()
    for organization in Organization.objects.order_by("pk").only("pk", "slug"):
        with report.isolated(organization, "status refresh"):
            statuses_refresh(
                organization=organization, report=report, today=today, since_months=since_months
            )
    if report.failed:
        logger.error("status refresh: %d failure(s): %s", report.failed, report.failures)
    return report


RECOMPUTE_CHUNK = 500  # SLAs per task of a full recompute


@in_tenant_scope
def statuses_recompute_all(*, organization_id: int) -> int:
    """Fan a full recompute of an organisation out to the workers, one piece of work per chunk."""
    ids = list(
        ServiceLevel.objects.filter(organization_id=organization_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    chunks = 0
    with transaction.atomic():
        for start in range(0, len(ids), RECOMPUTE_CHUNK):
            work.recompute_later(
                organization_id=organization_id,
                service_level_ids=ids[start : start + RECOMPUTE_CHUNK],
            )
            chunks += 1
    return chunks
