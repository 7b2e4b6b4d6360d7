"""
What the leadership view reads, in a fixed number of queries whatever the
size of the portfolio: the service levels red now or coming (drifting or
forecast to breach) with the money at risk, the heatmap of vendors by month,
and what is overdue. The help page (`templates/help/numbers.html`) says the
same in words.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Case, DateField, F, IntegerField, Max, Q, Value, When
from django.db.models.functions import TruncMonth
from django.utils import dateformat, timezone

from contracts import periods
from contracts.rules import SEVERITY, Colour
from contracts.selectors import worst_colour
from escalations.models import Escalation
from metrics.models import PeriodStatus, SlaHealth
from metrics.selectors import AT_RISK
from slagov.models import Organization

HEATMAP_MONTHS = 12


@dataclass(frozen=True)
class Watch:
    reds: list[SlaHealth]  # red in their latest period, by contract and code
    coming: list[SlaHealth]  # drifting or forecast to breach, not red: soonest first
    money_at_risk: dict[str, Decimal]  # currency → annual value of the contracts of either


def watch(*, organization: Organization) -> Watch:
    """
    Active service levels (SLAs and KPIs) red now, and those drifting or forecast
    to breach that are not red yet; the money at risk is the annual value of the
    contracts that have one of them, each contract once, per currency (one query).
    """
    rows = list(
        SlaHealth.objects.filter(organization=organization, service_level__is_active=True)
        .filter(Q(colour=Colour.RED) | AT_RISK)
        .select_related("service_level__contract__vendor")
        .order_by(
            F("periods_to_breach").asc(nulls_last=True),
            "service_level__contract__reference",
            "service_level__code",
        )
    )
    reds = sorted(
        (h for h in rows if h.colour == Colour.RED),
        key=lambda h: (h.service_level.contract.reference, h.service_level.code),
    )
    coming = [h for h in rows if h.colour != Colour.RED]
    contracts = {h.service_level.contract_id: h.service_level.contract for h in rows}
    money: dict[str, Decimal] = defaultdict(Decimal)
    for contract in contracts.values():
        money[contract.currency] += contract.annual_value
    return Watch(reds=reds, coming=coming, money_at_risk=dict(sorted(money.items())))


def open_escalations(*, organization: Organization) -> list[Escalation]:
    """Open escalations, highest level first, then oldest (one query)."""
    return list(
        Escalation.objects.filter(organization=organization)
        .exclude(state=Escalation.State.RESOLVED)
        .select_related("service_level", "contract__vendor")
        .order_by("-level", "opened_at")
    )


@dataclass(frozen=True)
class HeatCell:
    month: date
    colour: str  # a `Colour`, or "" when nothing was measured
    # What the cell says ("Vendor, March 2026: Red (breach)"), written once here: a
    # heatmap of hundreds of vendors is thousands of cells.
    label: str = field(default="", compare=False)


@dataclass
class HeatRow:
    vendor_id: int
    vendor: str
    cells: list[HeatCell] = field(default_factory=list)


def heatmap_months(today: date, count: int = HEATMAP_MONTHS) -> list[date]:
    """The last `count` closed months, oldest first."""
    last = periods.last_closed_period(today, periods.Period.MONTHLY)
    return [periods.add_periods(last, periods.Period.MONTHLY, -i) for i in range(count - 1, -1, -1)]


def vendor_heatmap(
    *, organization: Organization, today: date | None = None
) -> tuple[list[date], list[HeatRow]]:
    """
    Per vendor (by name) and month of the last twelve closed ones: the worst colour
    of its active service levels' periods that month (a weekly one's month is its
    worst week), as `PeriodStatus` holds them (one query). Vendors with no period
    in those months are left out.
    """
    months = heatmap_months(today or timezone.localdate())
    rank = Case(
        *[When(colour=colour, then=Value(r)) for colour, r in SEVERITY.items()],
        output_field=IntegerField(),
    )
    rows = (
        PeriodStatus.objects.filter(
            organization_id=organization.pk, service_level__is_active=True,
            period_start__gte=months[0],
            period_start__lt=periods.add_periods(months[-1], periods.Period.MONTHLY, 1),
        )
        .values(vendor_id=F("service_level__contract__vendor_id"),
                vendor=F("service_level__contract__vendor__name"),
                month=TruncMonth("period_start", output_field=DateField()))
        .annotate(worst=Max(rank))
        .order_by("vendor", "vendor_id", "month")
    )  # fmt: skip
    worst: dict[tuple[int, str], dict[date, str]] = defaultdict(dict)
    for row in rows:
        worst[row["vendor_id"], row["vendor"]][row["month"]] = worst_colour(row["worst"])
    month_names = {m: dateformat.format(m, "F Y") for m in months}
    colour_names = {"": "not measured"} | {c.value: str(c.label) for c in Colour}
    return months, [
        HeatRow(vendor_id, name, [
            HeatCell(m, colour := by_month.get(m, ""),
                     f"{name}, {month_names[m]}: {colour_names.get(colour, colour)}")
            for m in months
        ])
        for (vendor_id, name), by_month in worst.items()
    ]  # fmt: skip
