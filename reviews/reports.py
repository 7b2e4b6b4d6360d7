"""
The monthly leadership report of one organisation: the same content as an
e-mail, a page and a PDF.

The report of a month has two kinds of content. What happened in the month
(escalations opened and resolved, breaches avoided, action items due, vendor
warnings raised, credits by month, outcomes by quarter) is history: the
report of any past month shows it the same way whenever it is read. What
needs attention (red now, forecast to breach, overdue escalations and action
items, money at risk, governance health, credits unclaimed) is the state of
things when the report is made: the e-mail on the 1st carries it as it was
then; the page shows it, as of today, for the latest month only.

Read in the organisation's customer-side scope (a page's, or the monthly
job's), in a number of queries that doesn't grow with the organisation.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

from django.db.models import F
from django.utils import timezone

from contracts import month_spans, periods
from contracts.models import Contract
from contracts.rules import Colour
from escalations.models import Escalation
from escalations.selectors import leadership_summary
from metrics.models import SlaHealth
from metrics.selectors import AT_RISK, credits_for
from reviews import actions, report_sources, scorecards, vendor_warnings
from reviews.models import ActionItem

CREDIT_MONTHS = 3  # the month and the two before: a month's credits come with its data
LISTED = 50  # rows of a list on the page and in the PDF (the e-mail lists ten)


def _moment(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _forecast_to_breach(organization) -> list[SlaHealth]:
    """Active SLAs not red yet, drifting or forecast to turn red, soonest first (one query)."""
    return list(
        SlaHealth.objects.filter(organization=organization, service_level__is_active=True)
        .filter(AT_RISK)
        .exclude(colour=Colour.RED)
        .select_related("service_level__contract__vendor")
        .order_by(
            F("periods_to_breach").asc(nulls_last=True), "service_level__contract__reference",
            "service_level__code",
        )
    )  # fmt: skip


def money_at_risk(healths: list[SlaHealth]) -> list[tuple[str, object]]:
    """
    The annual value of the contracts that have an SLA among `healths` (red, or
    forecast to breach), each contract counted once, per currency.
    """
    contracts = {h.service_level.contract_id: h.service_level.contract for h in healths}
    return scorecards.per_currency((c.currency, c.annual_value) for c in contracts.values())


def _action_items_due(organization, span: month_spans.MonthSpan) -> dict:
    """The items due in the month: done on or before the due day, done later, still open."""
    items = list(
        actions.action_items()
        .filter(organization=organization, due_date__gte=span.first, due_date__lt=span.end)
        .order_by("due_date", "pk")
    )
    done = [i for i in items if i.state == ActionItem.State.DONE and i.closed_at is not None]
    on_time = [i for i in done if timezone.localtime(i.closed_at).date() <= i.due_date]
    return {
        "due": len(items),
        "on_time": len(on_time),
        "late": len(done) - len(on_time),
        "open": sum(1 for i in items if i.is_open),
        "cancelled": sum(1 for i in items if i.state == ActionItem.State.CANCELLED),
    }


def _the_month(organization, span: month_spans.MonthSpan) -> dict:
    start, end = _moment(span.first), _moment(span.end)
    escalations = list(
        Escalation.objects.filter(organization=organization)
        .filter(opened_at__lt=end)
        .exclude(resolved_at__lt=start)
        .select_related("service_level", "contract__vendor")
        .order_by("opened_at", "pk")
    )
    opened = [e for e in escalations if e.opened_at >= start]
    resolved = [e for e in escalations if e.resolved_at is not None and e.resolved_at < end]
    return {
        "opened": opened,
        "resolved": resolved,
        # Resolved before the SLA turned red: a breach the early steps avoided.
        "avoided": [
            e for e in resolved if e.kind == Escalation.Kind.PERFORMANCE and not e.reached_red
        ],
        "levels": sorted(Counter(e.level for e in opened).items()),
        "actions": _action_items_due(organization, span),
        "warnings": list(
            vendor_warnings.warnings_all()
            .filter(organization=organization, raised_at__gte=start, raised_at__lt=end)
            .order_by("raised_at", "pk")
        ),
    }


def _attention(organization, today: date, contracts: list[Contract]) -> dict:
    summary = leadership_summary(organization=organization)
    forecast = _forecast_to_breach(organization)
    histories = report_sources.governance_health(contracts, today=today)
    return {
        "reds": summary.reds,
        "forecast": forecast,
        "overdue_escalations": summary.overdue,
        "open_escalations": len(summary.open),
        "overdue_actions": actions.overdue_action_items(today=today, limit=LISTED),
        "money_at_risk": money_at_risk([*summary.reds, *forecast]),
        "health": histories,
        "sliding": report_sources.sliding_back(histories),
        "unclaimed": report_sources.unclaimed_credits(organization_id=organization.pk, today=today),
    }


def monthly_report(*, organization, month: date, today: date) -> dict:
    """
    The report of `month` (the 1st of a month that has ended by `today`), as
    its e-mail, page and PDF show it; see the module's note. `latest`: the
    month just ended, the only one whose report says what needs attention.
    """
    span = month_spans.MonthSpan(month, month)
    latest = month == month_spans.last_closed_month(today)
    contracts = list(
        Contract.objects.filter(organization=organization)
        .select_related("vendor", "organization")
        .order_by("reference")
    )
    credits_from = periods.add_periods(month, "monthly", 1 - CREDIT_MONTHS)
    lines = scorecards.credit_lines(contracts, credits_for(contracts), first=credits_from,
                                    end=span.end)  # fmt: skip
    month_end = span.end - timedelta(days=1)
    return {
        "org": organization,
        "month": month,
        "month_label": month_spans.month_label(month),
        "latest": latest,
        "made": today,
        "the_month": _the_month(organization, span),
        "attention": _attention(organization, today, contracts) if latest else None,
        "outcomes": report_sources.outcomes(organization=organization, today=min(today, month_end)),
        "credit_lines": lines,
        "credit_totals": scorecards.per_currency(
            (line.currency, line.entry.credited) for line in lines
        ),
        "credits_from": credits_from,
        "listed": LISTED,
    }
