"""
A vendor's scorecard, as its page shows it: its contracts (mode, owner, value,
worst colour, governance health), each SLA's and KPI's latest status and
trend, open escalations, open and overdue action items, the vendor's warnings
(and those that came ahead of a breach), credits per month. Read in the
request's scope, in a number of queries that doesn't grow with the contracts
or SLAs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Q

from contracts import month_spans, periods
from contracts.models import Contract, ServiceLevel, Vendor
from contracts.selectors import contracts_with_worst_colour, worst_colour
from escalations.models import Escalation
from metrics.models import PeriodStatus
from metrics.selectors import credits_for, rollup
from reviews import actions, report_sources, scorecards, vendor_warnings
from reviews.models import VendorWarning

TREND_MONTHS = 12  # the small charts: a year of periods
CREDIT_MONTHS = 12


@dataclass
class ContractCard:
    contract: Contract
    colour: str
    slas: list[dict] = field(default_factory=list)
    health: object = None  # its governance health history, when computed

    @property
    def rollup(self):
        return rollup(row["sla"] for row in self.slas if row["sla"].is_active)


def _contracts(vendor: Vendor) -> list[Contract]:
    return list(
        contracts_with_worst_colour()
        .filter(vendor=vendor)
        .select_related("owner", "organization")
        .order_by("reference")
    )


def _slas(contract_ids: list[int]) -> list[ServiceLevel]:
    return list(
        ServiceLevel.objects.filter(contract_id__in=contract_ids)
        .select_related("health")
        .order_by("-is_active", "-kind", "code", "pk")
    )


def _statuses(sla_ids: list[int], since: date) -> dict[int, list[PeriodStatus]]:
    found: dict[int, list[PeriodStatus]] = {pk: [] for pk in sla_ids}
    rows = PeriodStatus.objects.filter(
        service_level_id__in=sla_ids, period_start__gte=since
    ).order_by("period_start")
    for status in rows.only(
        "service_level_id", "period_start", "colour", "value", "target", "minimum"
    ):
        found[status.service_level_id].append(status)
    return found


def _sla_row(sla: ServiceLevel, statuses: list[PeriodStatus]) -> dict:
    title = f"Trend of {sla.code} {sla.name} over its green, yellow and red bands"
    return {
        "sla": sla,
        "health": getattr(sla, "health", None),
        "chart": scorecards.trend_chart(sla, statuses, title=title),
        "rows": scorecards.status_rows(sla, statuses),
    }


def _warnings(contract_ids: list[int]) -> tuple[list[VendorWarning], list[VendorWarning]]:
    """(open or acknowledged, those a breach followed) of these contracts, newest first."""
    rows = list(
        vendor_warnings.warnings_all()
        .filter(contract_id__in=contract_ids)
        .filter(Q(state__in=vendor_warnings.OPEN_STATES) | Q(breached_period__isnull=False))
        .order_by("-raised_at", "-pk")
    )
    return (
        [w for w in rows if w.is_open],
        [w for w in rows if w.breached_period is not None],
    )


def vendor_scorecard(vendor: Vendor, *, today: date) -> dict:
    """The page's context: see the module's note. Queries: one each, whatever the size."""
    contracts = _contracts(vendor)
    ids = [c.pk for c in contracts]
    slas = _slas(ids)
    since = periods.add_periods(month_spans.last_closed_month(today), "monthly", 1 - TREND_MONTHS)
    statuses = _statuses([s.pk for s in slas], since)
    histories = report_sources.governance_health(contracts, today=today)
    cards = {
        c.pk: ContractCard(
            contract=c,
            colour=worst_colour(c.worst_rank),
            health=histories.get(c.pk) if histories else None,
        )
        for c in contracts
    }
    for sla in slas:
        cards[sla.contract_id].slas.append(_sla_row(sla, statuses[sla.pk]))
    credits = credits_for(contracts)
    credit_since = periods.add_periods(
        month_spans.last_closed_month(today), "monthly", 1 - CREDIT_MONTHS
    )
    lines = scorecards.credit_lines(contracts, credits, first=credit_since)
    open_warnings, ahead = _warnings(ids)
    items = list(
        actions.action_items(today=today)
        .filter(contract_id__in=ids, state__in=actions.OPEN_STATES)
        .order_by("due_date", "pk")
    )
    return {
        "vendor": vendor,
        "cards": list(cards.values()),
        "health_known": histories is not None,
        "escalations": list(
            Escalation.objects.filter(contract_id__in=ids)
            .exclude(state=Escalation.State.RESOLVED)
            .select_related("service_level", "contract")
            .order_by("-level", "opened_at")
        ),
        "action_items": items,
        "overdue_count": sum(1 for item in items if item.overdue),
        "open_warnings": open_warnings,
        "warned_ahead": ahead,
        "credit_lines": lines,
        "credit_totals": scorecards.per_currency(
            (line.currency, line.entry.credited) for line in lines
        ),
        "credit_since": credit_since,
        "trend_months": TREND_MONTHS,
    }
