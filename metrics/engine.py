"""
The status engine: readings → period statuses → SLA health.

`recompute_service_levels` is idempotent: it computes what every period's
row should be and writes only the rows that differ, deleting rows for periods
that no longer belong to the SLA (e.g. after the contract was shortened).
Running it twice changes nothing.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts import periods, rules
from contracts.models import ServiceLevel, ServiceLevelTerms
from metrics.models import PeriodStatus, Reading, SlaHealth

TWO_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class TermsInForce:
    effective_from: date
    spec: rules.Terms
    tiers: list[rules.CreditTier]


class TermsTimeline:
    """The terms of one SLA ordered by effective date; the first also covers earlier periods."""

    def __init__(self, terms: Iterable[ServiceLevelTerms], contract_start: date):
        self.items = sorted(
            (TermsInForce(t.effective_from, t.spec(), t.credit_spec()) for t in terms),
            key=lambda t: t.effective_from,
        )
        self.dates = [t.effective_from for t in self.items]
        self.contract_start = contract_start

    def __bool__(self) -> bool:
        return bool(self.items)

    def at(self, day: date) -> TermsInForce | None:
        if not self.items:
            return None
        index = bisect.bisect_right(self.dates, day) - 1
        return self.items[max(index, 0)]

    def thresholds(self, day: date) -> tuple[rules.Thresholds, TermsInForce] | None:
        """Thresholds in force on `day`, after the improvement ratchet."""
        terms = self.at(day)
        if terms is None:
            return None
        base = max(terms.effective_from, self.contract_start)
        steps = periods.contract_year(self.contract_start, day) - periods.contract_year(
            self.contract_start, base
        )
        return rules.thresholds_in_force(terms.spec, max(steps, 0)), terms


def period_charge(annual_value: Decimal, kind: str) -> Decimal:
    """The contract's charge for one period: credits are a percent of it."""
    per_year = 52 if kind == periods.Period.WEEKLY else 12
    return annual_value / per_year


def deadline(period_start: date, kind: str, deadline_days: int) -> date:
    """The last day on which data for the period is on time."""
    return periods.period_end(period_start, kind) + timedelta(days=deadline_days - 1)


def _status_periods(sla: ServiceLevel, reading_periods: Iterable[date], today: date) -> list[date]:
    contract = sla.contract
    kind = sla.period
    last = periods.last_closed_period(today, kind)
    contract_last = periods.period_start(contract.end_date, kind)  # end_date is the last day
    last = min(last, contract_last)
    expected = set(periods.iter_periods(contract.start_date, last, kind)) if last else set()
    return sorted(expected | set(reading_periods))


def compute_statuses(
    sla: ServiceLevel, readings: dict[date, Reading], timeline: TermsTimeline, today: date
) -> dict[date, dict]:
    """What every period's status row should hold (pure, given the loaded rows)."""
    contract = sla.contract
    charge = period_charge(contract.annual_value, sla.period)
    result: dict[date, dict] = {}
    for start in _status_periods(sla, readings.keys(), today):
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
            late = today > deadline(start, sla.period, contract.submission_deadline_days)
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
                    row["credit_amount"] = (charge * pct / 100).quantize(TWO_PLACES)
        result[start] = row
    return result


def _latest(rows: dict[date, dict]) -> tuple[date, dict] | None:
    """The period a dashboard shows: the newest with data or already late."""
    for start in sorted(rows, reverse=True):
        if rows[start]["colour"] != rules.Colour.NO_DATA or rows[start]["value"] is not None:
            return start, rows[start]
    return None


_COMPARED = ("colour", "value", "target", "minimum", "reading_id", "reading_revision",
             "credit_percent", "credit_amount")  # fmt: skip


def _differs(existing: PeriodStatus, row: dict) -> bool:
    return any(getattr(existing, name) != row[name] for name in _COMPARED)


@scopes_disabled()
def recompute_service_levels(
    *, organization_id: int, service_level_ids: Iterable[int], today: date | None = None
) -> int:
    """
    Recompute statuses and health of the given SLAs of one organisation.
    Returns the number of status rows written or deleted.
    """
    today = today or timezone.localdate()
    ids = sorted(set(service_level_ids))
    if not ids:
        return 0
    now = timezone.now()
    slas = list(
        ServiceLevel.objects.filter(organization_id=organization_id, pk__in=ids).select_related(
            "contract"
        )
    )
    terms_by_sla: dict[int, list[ServiceLevelTerms]] = defaultdict(list)
    for terms in ServiceLevelTerms.objects.filter(
        organization_id=organization_id, service_level_id__in=ids
    ).prefetch_related("credit_tiers"):
        terms_by_sla[terms.service_level_id].append(terms)
    readings_by_sla: dict[int, dict[date, Reading]] = defaultdict(dict)
    for reading in Reading.objects.filter(
        organization_id=organization_id, service_level_id__in=ids
    ).only("pk", "service_level_id", "period_start", "value", "revision"):
        readings_by_sla[reading.service_level_id][reading.period_start] = reading
    existing: dict[int, dict[date, PeriodStatus]] = defaultdict(dict)
    for status in PeriodStatus.objects.filter(
        organization_id=organization_id, service_level_id__in=ids
    ):
        existing[status.service_level_id][status.period_start] = status
    healths = {
        h.service_level_id: h
        for h in SlaHealth.objects.filter(organization_id=organization_id, service_level_id__in=ids)
    }

    to_create: list[PeriodStatus] = []
    to_update: list[PeriodStatus] = []
    to_delete: list[int] = []
    health_rows: list[SlaHealth] = []
    for sla in slas:
        timeline = TermsTimeline(terms_by_sla[sla.pk], sla.contract.start_date)
        rows = compute_statuses(sla, readings_by_sla[sla.pk], timeline, today)
        current = existing[sla.pk]
        for start, row in rows.items():
            old = current.get(start)
            if old is None:
                to_create.append(
                    PeriodStatus(
                        organization_id=organization_id,
                        service_level_id=sla.pk,
                        period_start=start,
                        computed_at=now,
                        **row,
                    )
                )
            elif _differs(old, row):
                for name in _COMPARED:
                    setattr(old, name, row[name])
                old.computed_at = now
                to_update.append(old)
        to_delete.extend(s.pk for start, s in current.items() if start not in rows)

        latest = _latest(rows)
        health = healths.get(sla.pk) or SlaHealth(
            organization_id=organization_id, service_level_id=sla.pk, computed_at=now
        )
        wanted = {
            "latest_period": latest[0] if latest else None,
            "colour": latest[1]["colour"] if latest else rules.Colour.NO_DATA,
            "value": latest[1]["value"] if latest else None,
            "target": latest[1]["target"] if latest else None,
            "minimum": latest[1]["minimum"] if latest else None,
        }
        if health.pk is None or any(getattr(health, k) != v for k, v in wanted.items()):
            for key, value in wanted.items():
                setattr(health, key, value)
            health.computed_at = now
            health_rows.append(health)

    with transaction.atomic():
        if to_delete:
            PeriodStatus.objects.filter(pk__in=to_delete).delete()
        PeriodStatus.objects.bulk_create(to_create, batch_size=2000)
        PeriodStatus.objects.bulk_update(to_update, [*_COMPARED, "computed_at"], batch_size=2000)
        SlaHealth.objects.bulk_create(
            health_rows,
            update_conflicts=True,
            unique_fields=["service_level"],
            update_fields=["latest_period", "colour", "value", "target", "minimum", "computed_at"],
            batch_size=2000,
        )
    return len(to_create) + len(to_update) + len(to_delete)
