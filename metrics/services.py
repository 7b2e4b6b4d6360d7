"""Writes for readings and statuses. Keyword-only, atomic, actor and organisation explicit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts import periods
from contracts.models import ServiceLevel
from metrics import engine
from metrics.models import Reading, ReadingRevision
from slagov.models import Organization


def enqueue_recompute(*, organization_id: int, service_level_ids: list[int]) -> None:
    """Refresh statuses once the surrounding transaction has committed."""
    from metrics.tasks import recompute_statuses

    ids = sorted(set(service_level_ids))
    if ids:
        transaction.on_commit(lambda: recompute_statuses.delay(organization_id, ids))


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
    enqueue_recompute(organization_id=organization.pk, service_level_ids=[service_level.pk])
    return reading, True


def statuses_recompute(*, organization_id: int, service_level_ids: list[int]) -> int:
    return engine.recompute_service_levels(
        organization_id=organization_id, service_level_ids=service_level_ids
    )


@scopes_disabled()
def statuses_refresh_all(today: date | None = None) -> int:
    """Recompute every active SLA (new periods appear, overdue ones turn late)."""
    written = 0
    for org_id in Organization.objects.values_list("pk", flat=True):
        ids = list(
            ServiceLevel.objects.filter(organization_id=org_id, is_active=True).values_list(
                "pk", flat=True
            )
        )
        for chunk_start in range(0, len(ids), 500):
            written += engine.recompute_service_levels(
                organization_id=org_id,
                service_level_ids=ids[chunk_start : chunk_start + 500],
                today=today,
            )
    return written
