"""
The monthly leadership report of one organisation: the same content as an
e-mail, a page and a PDF.

The report of a month has two kinds of content. What happened in the month
(escalations opened and resolved, action items due, vendor warnings raised,
credits by month) and the outcomes of the quarters up to it (breaches avoided
and the rest, `reviews.outcomes`) are history: the report of any past month
shows them the same way whenever it is read. What
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

from django.utils import timezone

from contracts import month_spans, periods
from contracts.models import Contract
from escalations import leadership
from escalations.models import Escalation
from metrics.selectors import credits_for
from reviews import actions, report_sources, scorecards, vendor_warnings
from reviews.health import Band
from reviews.models import ActionItem
from reviews.outcomes_trend import hours_text
from slagov import formatting

CREDIT_MONTHS = 3  # the month and the two before: a month's credits come with its data
LISTED = 50  # rows of a list on the page and in the PDF (the e-mail lists ten)


def _moment(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


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
        "levels": sorted(Counter(e.level for e in opened).items()),
        "actions": _action_items_due(organization, span),
        "warnings": list(
            vendor_warnings.warnings_all()
            .filter(organization=organization, raised_at__gte=start, raised_at__lt=end)
            .order_by("raised_at", "pk")
        ),
    }


def _attention(organization, today: date, contracts: list[Contract]) -> dict:
    """What needs attention now: the leadership view's reads (`escalations.leadership`)."""
    escalations = leadership.open_escalations(organization=organization)
    watch = leadership.watch(organization=organization)
    histories = report_sources.governance_health(contracts, today=today)
    weak = (
        sorted(
            (h for h in histories.values() if h.current and h.current.band != Band.GOOD),
            key=lambda h: (h.current.score, h.contract.reference),
        )
        if histories is not None
        else None
    )
    return {
        "reds": watch.reds,
        "forecast": watch.coming,
        "money_at_risk": list(watch.money_at_risk.items()),
        "overdue_escalations": [e for e in escalations if e.overdue],
        "open_escalations": len(escalations),
        "overdue_actions": actions.overdue_action_items(today=today, limit=LISTED),
        "health": histories,
        "weak_health": weak,  # below "good", the lowest first
        "sliding": report_sources.sliding_back(histories),
        "unclaimed": report_sources.unclaimed_credits(organization_id=organization.pk, today=today),
    }


def outcome_rows(quarters: list | None) -> list[dict] | None:
    """The outcomes of each quarter as the report writes them (hours and money in words)."""
    if quarters is None:
        return None
    return [
        {
            "label": q.label,
            "avoided": q.breaches_avoided,
            "breaches": q.breaches,
            "warned": q.breaches_warned,
            "ack": hours_text(q.median_ack_hours),
            "resolve": hours_text(q.median_resolve_hours),
            "actions": f"{q.actions_on_time} of {q.actions_due}",
            "credits": ", ".join(f"{formatting.number(v, 0)} {c}" for c, v in q.credits.items())
            or "0",
        }
        for q in quarters
    ]


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
        .select_related("vendor", "organization", "owner")
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
        "outcomes": outcome_rows(
            report_sources.outcomes(organization=organization, today=min(today, month_end))
        ),
        "credit_lines": lines,
        "credit_totals": scorecards.per_currency(
            (line.currency, line.entry.credited) for line in lines
        ),
        "credits_from": credits_from,
        "listed": LISTED,
    }
