"""
The scorecard PDF of a vendor or of one contract for a span of months: each
SLA's status per period in words with its chart over the bands, credits per
month, the escalations opened and resolved in the span, the action items and
vendor warnings that were open in it, and governance health when slagov
computes it. Read in the caller's scope (a vendor user's: their vendor's); the
PDF is made by `slagov.pdf`, which fetches nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time

from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from contracts.models import Contract, ServiceLevel
from contracts.month_spans import MonthSpan
from escalations.models import Escalation
from metrics.models import PeriodStatus
from metrics.selectors import credits_for
from reviews import actions, report_sources, scorecards, vendor_warnings
from slagov import formatting
from slagov.pdf import html_to_pdf


def _moment(day: date) -> datetime:
    """The start of `day` where the site is: the span's edges are local midnights."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _sla_sections(contracts: list[Contract], span: MonthSpan) -> dict[int, list[dict]]:
    """Per contract id: its SLAs, each with its periods in the span (two queries)."""
    slas = list(
        ServiceLevel.objects.filter(contract__in=contracts)
        .select_related("health")
        .order_by("-is_active", "-kind", "code", "pk")
    )
    found: dict[int, list[PeriodStatus]] = {s.pk: [] for s in slas}
    rows = PeriodStatus.objects.filter(
        service_level_id__in=list(found), period_start__gte=span.first, period_start__lt=span.end
    ).order_by("period_start")
    for status in rows.only(
        "service_level_id", "period_start", "colour", "value", "target", "minimum"
    ):
        found[status.service_level_id].append(status)
    sections: dict[int, list[dict]] = {c.pk: [] for c in contracts}
    for sla in slas:
        statuses = found[sla.pk]
        title = f"{sla.code} {sla.name}, {span.label}, over its green, yellow and red bands"
        sections[sla.contract_id].append(
            {
                "sla": sla,
                "about": f"{sla.get_kind_display()}, {sla.get_direction_display()}, "
                f"{sla.get_period_display().lower()}",
                "chart": scorecards.trend_chart(sla, statuses, title=title),
                "rows": scorecards.status_rows(sla, statuses),
                "counts": scorecards.colour_counts(statuses),
            }
        )
    return sections


def _escalations(ids: list[int], start: datetime, end: datetime) -> list[dict]:
    opened = Q(opened_at__gte=start, opened_at__lt=end)
    resolved = Q(resolved_at__gte=start, resolved_at__lt=end)
    rows = (
        Escalation.objects.filter(contract_id__in=ids)
        .filter(opened | resolved)
        .select_related("service_level", "contract")
        .order_by("opened_at", "pk")
    )
    return [
        {
            "escalation": e,
            "opened_in_span": start <= e.opened_at < end,
            "resolved_in_span": e.resolved_at is not None and start <= e.resolved_at < end,
        }
        for e in rows
    ]


def _open_during(start: datetime, end: datetime, opened: str) -> Q:
    """Rows that were open some time in [start, end): begun before its end, not closed before it."""
    return Q(**{f"{opened}__lt": end}) & (Q(closed_at__isnull=True) | Q(closed_at__gte=start))


def scorecard_context(
    *, title: str, subject: str, contracts: list[Contract], span: MonthSpan, today: date,
    vendor=None,
) -> dict:  # fmt: skip
    """
    What the scorecard shows of `contracts` (already loaded with vendor, owner
    and organisation) in `span`: see the module's note. `title` heads the
    document; `subject` says whose scorecard it is.
    """
    start, end = _moment(span.first), _moment(span.end)
    ids = [c.pk for c in contracts]
    sections = _sla_sections(contracts, span)
    credits = credits_for(contracts)
    histories = report_sources.governance_health(contracts, today=today)
    lines = scorecards.credit_lines(contracts, credits, first=span.first, end=span.end)
    items = list(
        actions.action_items(today=today)
        .filter(_open_during(start, end, "created_at"), contract_id__in=ids)
        .order_by("due_date", "pk")
    )
    for item in items:
        item.late = (
            item.closed_at is not None
            and item.state == item.State.DONE
            and timezone.localtime(item.closed_at).date() > item.due_date
        )
    warnings = list(
        vendor_warnings.warnings_all()
        .filter(_open_during(start, end, "raised_at"), contract_id__in=ids)
        .order_by("raised_at", "pk")
    )
    return {
        "title": title,
        "subject": subject,
        "vendor": vendor,
        "span": span,
        "made": formatting.day(today),
        "contracts": [
            {
                "contract": c,
                "slas": sections[c.pk],
                "health": histories.get(c.pk) if histories else None,
            }
            for c in contracts
        ],
        "health_known": histories is not None,
        "credit_lines": lines,
        "credit_totals": scorecards.per_currency(
            (line.currency, line.entry.credited) for line in lines
        ),
        "escalations": _escalations(ids, start, end),
        "action_items": items,
        "warnings": warnings,
    }


def scorecard_html(context: dict) -> str:
    return render_to_string("scorecards/scorecard.html", context)


def scorecard_pdf(context: dict) -> bytes:
    """The scorecard as PDF bytes (PdfUnavailable where this machine can't make PDFs)."""
    return html_to_pdf(scorecard_html(context), what="The scorecard")
