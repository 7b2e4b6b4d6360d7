"""
Period statuses in Python: the embedded default's path (SQLite), and the
reference the PostgreSQL statement is tested against.

It computes what every period's row in scope should be and writes only the
rows that differ, deleting rows in scope for periods that no longer belong to
the SLA (e.g. after the contract was shortened). Running it twice changes
nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from contracts import periods, rules
from contracts.models import ServiceLevel
from metrics.engine.scope import Scope
from metrics.engine.terms import TermsTimeline, deadline, timelines_for
from metrics.models import PeriodStatus, Reading

logger = logging.getLogger(__name__)
TWO_PLACES = Decimal("0.01")
COMPARED = ("colour", "value", "target", "minimum", "reading_id", "reading_revision",
            "credit_percent", "credit_amount")  # fmt: skip


def expected_periods(sla: ServiceLevel, today: date) -> list[date]:
    """From the contract start to the last closed period (or the contract end)."""
    contract = sla.contract
    last = min(
        periods.last_closed_period(today, sla.period),
        periods.period_start(contract.end_date, sla.period),  # end_date is the last day
    )
    # A start before the product's first day (a row from before the date rules)
    # counts from that day: never tens of thousands of periods.
    first = max(contract.start_date, periods.EARLIEST)
    return list(periods.iter_periods(first, last, sla.period))


def readable(sla: ServiceLevel, start: date, today: date) -> bool:
    """Is this period inside what the engine reads? (`periods.readable_span`)"""
    first, last = periods.readable_span(sla.period, today)
    return first <= start <= last


def compute_statuses(
    sla: ServiceLevel,
    readings: dict[date, Reading],
    timeline: TermsTimeline,
    today: date,
    starts: Iterable[date],
) -> dict[date, dict]:
    """What each period's status row should hold (pure, given the loaded rows)."""
    contract = sla.contract
    per_year = periods.per_year(sla.period)
    result: dict[date, dict] = {}
    for start in starts:
        reading = readings.get(start)
        found = timeline.thresholds(start)
        thresholds, terms = found if found else (None, None)
        row = {
            "value": None,
            "target": thresholds.target if thresholds else None,
            "minimum": thresholds.minimum if thresholds else None,
            "reading_id": None,
            "reading_revision": None,
            "credit_percent": Decimal(0),
            "credit_amount": Decimal(0),
        }
        if reading is None:
            # Data is owed from the data start on; an earlier gap is never late.
            late = start >= sla.data_start and today > deadline(
                start, sla.period, contract.submission_deadline_days
            )
            row["colour"] = rules.Colour.LATE if late else rules.Colour.NO_DATA
        else:
            row["value"] = reading.value
            row["reading_id"] = reading.pk
            row["reading_revision"] = reading.revision
            if thresholds is None:
                row["colour"] = rules.Colour.NO_DATA
            else:
                row["colour"] = rules.classify(reading.value, thresholds)
                if not sla.is_kpi and terms.tiers:
                    pct = rules.credit_percent(reading.value, terms.tiers, sla.direction)
                    row["credit_percent"] = pct
                    # One division, rounded half up: the same figure the SQL path gives.
                    amount = contract.annual_value * pct / (per_year * 100)
                    row["credit_amount"] = amount.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
        result[start] = row
    return result


def _differs(existing: PeriodStatus, row: dict) -> bool:
    return any(getattr(existing, name) != row[name] for name in COMPARED)


def recompute_statuses(
    *, organization_id: int, slas: list[ServiceLevel], scope: Scope, today: date, timelines=None
) -> int:
    """Write the period statuses in scope. Returns rows inserted, updated or deleted."""
    ids = [s.pk for s in slas]
    now = timezone.now()
    if timelines is None:
        timelines = timelines_for(slas)
    first, last = periods.readable_bounds(today)
    readings = Reading.objects.filter(
        organization_id=organization_id, service_level_id__in=ids, period_start__range=(first, last)
    )
    existing = PeriodStatus.objects.filter(
        organization_id=organization_id, service_level_id__in=ids
    )
    if scope.since:
        readings = readings.filter(period_start__gte=scope.since)
        existing = existing.filter(period_start__gte=scope.since)
    if scope.periods is not None:
        days = set().union(*scope.periods.values())
        readings = readings.filter(period_start__in=days)
        existing = existing.filter(period_start__in=days)
    # Rows outside every readable period go (never loaded: one may be past year 9999).
    outside, _ = existing.exclude(period_start__range=(first, last)).delete()
    existing = existing.filter(period_start__range=(first, last))
    readings_by_sla: dict[int, dict[date, Reading]] = defaultdict(dict)
    by_pk = {s.pk: s for s in slas}
    for reading in readings.only("pk", "service_level_id", "period_start", "value", "revision"):
        if not readable(by_pk[reading.service_level_id], reading.period_start, today):
            logger.warning(
                "organisation %s: reading %s of SLA %s for %s is outside the readable "
                "periods, skipped", organization_id, reading.pk, reading.service_level_id,
                reading.period_start,
            )  # fmt: skip
            continue
        readings_by_sla[reading.service_level_id][reading.period_start] = reading
    existing_by_sla: dict[int, dict[date, PeriodStatus]] = defaultdict(dict)
    for status in existing:
        existing_by_sla[status.service_level_id][status.period_start] = status

    to_create, to_update, to_delete = [], [], []
    for sla in slas:
        wanted = set(expected_periods(sla, today)) | set(readings_by_sla[sla.pk])
        starts = sorted(p for p in wanted if scope.includes(sla.pk, p))
        rows = compute_statuses(sla, readings_by_sla[sla.pk], timelines[sla.pk], today, starts)
        current = existing_by_sla[sla.pk]
        for start, row in rows.items():
            old = current.get(start)
            if old is None:
                to_create.append(
                    PeriodStatus(organization_id=organization_id, service_level_id=sla.pk,
                                 period_start=start, computed_at=now, **row)
                )  # fmt: skip
            elif _differs(old, row):
                for name in COMPARED:
                    setattr(old, name, row[name])
                old.computed_at = now
                to_update.append(old)
        to_delete.extend(
            s.pk
            for start, s in current.items()
            if scope.includes(sla.pk, start) and start not in rows
        )
    if to_delete:
        PeriodStatus.objects.filter(pk__in=to_delete).delete()
    PeriodStatus.objects.bulk_create(to_create, batch_size=2000)
    PeriodStatus.objects.bulk_update(to_update, [*COMPARED, "computed_at"], batch_size=2000)
    return outside + len(to_create) + len(to_update) + len(to_delete)
