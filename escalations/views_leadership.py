"""
The leadership view, read in a minute: figures first (red now, coming,
overdue, money at risk, and this quarter's outcomes against the last), a
heatmap of vendors by month, then the short lists. Customer side only.
"""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from escalations import leadership as reads
from metrics.ledger import unclaimed_summary
from reviews import actions, health_cache, vendor_warnings
from reviews.outcomes import QuarterOutcomes
from reviews.outcomes_data import outcomes_by_quarter
from reviews.outcomes_trend import hours_text, trend
from slagov import change_marks, formatting
from slagov.web import IdUrl

LIST_ROWS = 10  # each list shows this many; a link leads to the rest
WARNINGS = 20


def _credits(credits: dict[str, Decimal]) -> str:
    if not credits:
        return "0"
    return ", ".join(f"{formatting.number(v, 0)} {c}" for c, v in credits.items())


def outcome_figures(current: QuarterOutcomes, previous: QuarterOutcomes | None) -> list[dict]:
    """This quarter's outcomes as the page shows them: number, words, help anchor, trend."""
    moved = trend(current, previous)
    avoided = "breach avoided" if current.breaches_avoided == 1 else "breaches avoided"
    breaches = "breach" if current.breaches == 1 else "breaches"
    return [
        {"number": formatting.number(current.breaches_avoided, 0), "words": avoided,
         "anchor": "breaches-avoided", "trend": moved["breaches_avoided"]},
        {"number": formatting.number(current.breaches, 0),
         "words": f"{breaches} ({current.breaches_warned} warned ahead)",
         "anchor": "breaches", "trend": moved["breaches"]},
        {"number": hours_text(current.median_ack_hours), "words": "median time to acknowledge",
         "anchor": "time-to-acknowledge", "trend": moved["median_ack_hours"]},
        {"number": hours_text(current.median_resolve_hours), "words": "median time to resolve",
         "anchor": "time-to-resolve", "trend": moved["median_resolve_hours"]},
        {"number": f"{current.actions_on_time} of {current.actions_due}",
         "words": "action items done on time", "anchor": "actions-on-time",
         "trend": moved["actions_on_time"]},
        {"number": _credits(current.credits), "words": "service credits",
         "anchor": "credits", "trend": moved["credits"]},
    ]  # fmt: skip


def leadership(request: HttpRequest, org_slug: str) -> HttpResponse:
    """What needs leadership attention now, and what governance returned this quarter."""
    request.tenant.require_customer_side()
    organization = request.tenant.organization
    today = timezone.localdate()
    escalations = reads.open_escalations(organization=organization)
    overdue = [e for e in escalations if e.overdue]
    watch = reads.watch(organization=organization)
    overdue_actions = actions.overdue_action_items(today=today, limit=None)
    # The quarters' outcomes and the heatmap read a quarter and a year of every SLA's
    # statuses: worked out once until the organisation's data changes.
    (previous, current), (months, heat_rows) = change_marks.cached(
        "leadership:v1", organization.pk, today,
        lambda: (outcomes_by_quarter(organization=organization, today=today, quarters=2),
                 reads.vendor_heatmap(organization=organization, today=today)),
    )  # fmt: skip
    context = {
        "high": [e for e in escalations if e.level >= 2],
        "overdue": overdue,
        "others": [e for e in escalations if e.level < 2 and not e.overdue],
        "watch": watch,
        "overdue_actions": overdue_actions[:LIST_ROWS],
        "overdue_action_count": len(overdue_actions),
        "vendor_warnings": vendor_warnings.open_warnings(limit=WARNINGS),
        "quarter": current,
        "outcomes": outcome_figures(current, previous),
        "months": months,
        "heat_rows": heat_rows,
        "vendor_url": IdUrl("contracts:vendor", "vendor_id", org_slug=org_slug),
        "rows": LIST_ROWS,
        "unclaimed": unclaimed_summary(organization_id=organization.pk, today=today),
    }
    sliding = health_cache.health_table(organization_id=organization.pk, today=today).sliding_back()
    context["sliding_back"] = sliding[:LIST_ROWS]
    context["sliding_back_more"] = max(len(sliding) - LIST_ROWS, 0)
    return render(request, "escalations/leadership.html", context)
