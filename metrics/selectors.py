"""Reads for statuses and readings: their lists, credits per contract, roll-ups, the watch list."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, Q, QuerySet

from contracts import periods
from contracts.models import Contract, ServiceLevel
from contracts.rules import SEVERITY, Colour
from contracts.selectors import vendors_with_counts  # noqa: F401 (pages read it here too)
from metrics.models import PeriodStatus, Reading, SlaHealth

# Points per colour in the weighted health score (no data and late don't score).
SCORE_POINTS = {Colour.GREEN: 100, Colour.YELLOW: 50, Colour.RED: 0}
# Drifting, or forecast to turn red: the watch list.
AT_RISK = Q(drifting=True) | Q(periods_to_breach__gt=0)


def period_statuses() -> QuerySet[PeriodStatus]:
    """Period statuses in the scope, by contract, SLA and period (the API's list, the exports)."""
    return PeriodStatus.objects.select_related("service_level__contract").order_by(*STATUS_ORDER)


STATUS_ORDER = ("service_level__contract__reference", "service_level__code", "period_start")


def period_statuses_slice(
    statuses: QuerySet[PeriodStatus], offset: int, limit: int, *, filtered: bool = True
) -> list[PeriodStatus]:
    """
    `list(statuses[offset:offset + limit])` in the list's order (contract reference,
    SLA code, period) without sorting every status of the tenant: the SLAs are
    walked in that order, their statuses counted a batch of SLAs at a time (an
    index lookup), and only the statuses of the SLAs the slice covers are read
    and sorted. `filtered`: the statuses are a filtered subset (the walk then
    goes over the SLAs that have one only).
    """
    slas = ServiceLevel.objects.order_by("contract__reference", "code")
    if filtered:
        slas = slas.filter(pk__in=statuses.order_by().values("service_level_id"))
    order = list(slas.values_list("pk", flat=True))
    seen, covered, skip = 0, [], None
    batch, start = 50, 0
    while start < len(order) and seen < offset + limit:
        ids = order[start : start + batch]
        counts = dict(
            statuses.filter(service_level_id__in=ids)
            .order_by()
            .values_list("service_level_id")
            .annotate(n=Count("pk"))
        )
        for pk in ids:
            n = counts.get(pk, 0)
            if n and seen + n > offset and seen < offset + limit:
                if skip is None:
                    skip = offset - seen  # rows of the first covered SLA before the slice
                covered.append(pk)
            seen += n
        start, batch = start + batch, batch * 2
    if not covered:
        return []
    rows = statuses.filter(service_level_id__in=covered).order_by(*STATUS_ORDER)
    return list(rows[skip : skip + limit])


def readings() -> QuerySet[Reading]:
    """Readings in the scope, by SLA and period (the API's list, the exports)."""
    return Reading.objects.select_related("service_level", "submitted_by").order_by(
        "service_level_id", "period_start"
    )


@dataclass
class Rollup:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Colour, 0))
    weight: int = 0
    points: int = 0

    @property
    def worst(self) -> str:
        present = [c for c, n in self.counts.items() if n]
        return max(present, key=lambda c: SEVERITY[c]) if present else Colour.NO_DATA

    @property
    def score(self) -> int | None:
        """Weighted share of the best possible (green everywhere), 0 to 100."""
        return round(self.points / self.weight) if self.weight else None

    def add(self, colour: str, weight: int = 1) -> None:
        self.counts[colour] += 1
        if colour in SCORE_POINTS:
            self.weight += weight
            self.points += SCORE_POINTS[colour] * weight


def rollup(slas: Iterable) -> Rollup:
    """Roll up SLAs that carry their `health` (already loaded): no query."""
    result = Rollup()
    for sla in slas:
        health = getattr(sla, "health", None)
        result.add(health.colour if health else Colour.NO_DATA, sla.weight)
    return result


def colour_counts(contracts: QuerySet) -> dict[str, int]:
    """
    The active SLAs of `contracts` counted by latest colour, in one query: the
    sum of their `rollup(...).counts`, without loading the SLAs.
    """
    counts = dict.fromkeys(Colour, 0)
    rows = (
        ServiceLevel.objects.filter(is_active=True, contract__in=contracts.values("pk"))
        .values_list("health__colour")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for colour, n in rows:
        counts[colour or Colour.NO_DATA] += n
    return counts


def watch_list(limit: int = 10) -> QuerySet[SlaHealth]:
    """Drifting SLAs and those forecast to breach, soonest first (one query)."""
    return (
        SlaHealth.objects.filter(service_level__is_active=True)
        .filter(AT_RISK)
        .select_related("service_level__contract__vendor")
        .order_by(
            F("periods_to_breach").asc(nulls_last=True), "service_level__contract__reference"
        )[:limit]
    )


@dataclass
class CreditMonth:
    month: date
    assessed: Decimal  # sum over the SLAs, before the cap
    cap: Decimal
    by_sla: dict[str, Decimal]

    @property
    def credited(self) -> Decimal:
        return min(self.assessed, self.cap)

    @property
    def capped(self) -> bool:
        return self.assessed > self.cap


@dataclass
class CreditYear:
    year: int
    start: date
    assessed: Decimal = Decimal(0)
    credited: Decimal = Decimal(0)


def credit_cap(contract: Contract) -> Decimal:
    """The most a contract's credits for one month can come to: its at-risk amount."""
    return (contract.monthly_charge * contract.at_risk_percent / 100).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


def credits_for(
    contracts: Iterable[Contract], *, since: date | None = None
) -> dict[int, tuple[list[CreditMonth], list[CreditYear]]]:
    """
    Service credits per month (weekly SLAs' credits fall in the month their
    week starts), capped by each contract's at-risk amount, and totals per
    contract year. One query for all the contracts. With `since` (the first
    day of a month), only the months from then on, and the years' totals of
    those months alone.
    """
    contracts = {c.pk: c for c in contracts}
    months: dict[int, dict[date, CreditMonth]] = {pk: {} for pk in contracts}
    rows = PeriodStatus.objects.filter(
        service_level__contract__in=list(contracts), credit_amount__gt=0
    )
    if since is not None:
        rows = rows.filter(period_start__gte=since.replace(day=1))
    rows = rows.values_list(
        "service_level__contract_id", "period_start", "service_level__code", "credit_amount"
    ).order_by("period_start")
    caps: dict[int, Decimal] = {}
    for contract_id, start, code, amount in rows:
        month = start.replace(day=1)
        entry = months[contract_id].get(month)
        if entry is None:
            cap = caps.get(contract_id)
            if cap is None:
                cap = caps[contract_id] = credit_cap(contracts[contract_id])
            entry = months[contract_id][month] = CreditMonth(month, Decimal(0), cap,
                                                             defaultdict(Decimal))  # fmt: skip
        entry.assessed += amount
        entry.by_sla[code] += amount
    result = {}
    for pk, contract in contracts.items():
        years: dict[int, CreditYear] = {}
        for entry in months[pk].values():
            entry.by_sla = dict(entry.by_sla)  # templates must not create keys on lookup
            number = periods.contract_year(contract.start_date, entry.month)
            year = years.get(number)
            if year is None:
                first = periods.contract_year_first_month(contract.start_date, number)
                year = years[number] = CreditYear(number, first)
            year.assessed += entry.assessed
            year.credited += entry.credited
        result[pk] = (
            sorted(months[pk].values(), key=lambda m: m.month),
            sorted(years.values(), key=lambda y: y.year),
        )
    return result


def contract_credits(contract: Contract) -> tuple[list[CreditMonth], list[CreditYear]]:
    return credits_for([contract])[contract.pk]
