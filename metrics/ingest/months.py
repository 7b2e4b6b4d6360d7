"""
The months a vendor reports: those holding at least one period owed (ended,
from its SLA's data start, inside the contract term) of one of the vendor's
SLAs. The template and the Data page offer exactly these, and say why any
other month has no template.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from contracts import periods
from contracts.models import ServiceLevel, Vendor
from slagov.tenancy import tenant_scope

MONTHLY = periods.Period.MONTHLY
NOTHING_OWED = "No data is owed yet: no SLA has a period that has ended since its data start."


class MonthRefusedError(ValueError):
    """A month asked for that has no template: the message says why."""


@dataclass(frozen=True)
class Month:
    start: date
    so_far: bool = False  # the current month: only the weeks that have ended

    @property
    def label(self) -> str:
        return periods.period_label(self.start, MONTHLY)

    @property
    def name(self) -> str:
        return f"{self.start:%b %Y}" + (" (so far)" if self.so_far else "")


def vendor_service_levels(vendor: Vendor) -> list[ServiceLevel]:
    """Every SLA on the vendor's contracts, as the template lists them."""
    with tenant_scope(vendor.organization_id):
        return list(
            ServiceLevel.objects.filter(
                organization_id=vendor.organization_id, contract__vendor_id=vendor.pk
            )
            .select_related("contract")
            .order_by("contract__reference", "-kind", "code")
        )


def owed_months(slas: list[ServiceLevel], today: date) -> list[Month]:
    """The months holding a period owed by `today`, newest first."""
    starts: set[date] = set()
    for sla in slas:
        span = sla.owed_span(today)
        if span is None:
            continue
        # Every month from the first owed period's to the last's holds one:
        # a month has at least four Mondays.
        first, last = (periods.period_start(day, MONTHLY) for day in span)
        starts.update(periods.iter_periods(first, last, MONTHLY))
    current = periods.period_start(today, MONTHLY)
    return [Month(start, so_far=start == current) for start in sorted(starts, reverse=True)]


def default_month(months: list[Month], today: date) -> Month | None:
    """The month just ended if it is owed, else the latest owed one."""
    last = periods.last_closed_period(today, MONTHLY)
    for month in months:
        if month.start <= last:
            return month
    return months[0] if months else None


def month_chosen(text: str, months: list[Month], today: date) -> Month:
    """
    The owed month `text` names (none: `default_month`); MonthRefusedError
    says why it names none.
    """
    if not text.strip():
        month = default_month(months, today)
        if month is None:
            raise MonthRefusedError(NOTHING_OWED)
        return month
    try:
        start = periods.parse_month(text)
    except ValueError as exc:
        raise MonthRefusedError(str(exc)) from None
    for month in months:
        if month.start == start:
            return month
    raise MonthRefusedError(_not_owed(start, months, today))


def _not_owed(start: date, months: list[Month], today: date) -> str:
    label = periods.period_label(start, MONTHLY)
    current = periods.period_start(today, MONTHLY)
    if start > current:
        return f"{label} is still to come: a template holds only periods that have ended."
    if start == current:
        return f"No period of {label} has ended yet."
    if not months:
        return NOTHING_OWED
    first = months[-1]
    if start < first.start:
        return (
            f"Data is owed from {first.label} on: {label} is before it (an earlier period can "
            "still be sent in a file of your own)."
        )
    return f"No data is owed for {label}: no SLA is measured then."
