"""
A review's agenda, drafted from the data (PRODUCT.md, "Joint review"):

1. performance since the last review: each SLA/KPI with its values, colours,
   the target in force and a small trend;
2. upcoming risks: yellow, drifting, forecast to breach, unusual values, open
   escalations, warnings the vendor raised;
3. open and overdue action items;
4. improvement-clause progress: this contract year's thresholds against the
   next year's, and what it takes to meet them;
5. service credits assessed since the last review: the backstop, not the
   headline;
6. data timeliness.

`draft(review)` returns the drafted items as plain values (no rows are
written here): the figures both sides will see, kept in `AgendaItem.data`.
A fixed number of queries, whatever the number of SLAs.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from django.utils import timezone

from contracts import periods
from contracts.models import Contract, ServiceLevel
from contracts.rules import Colour, Improvement
from escalations.models import Escalation
from metrics import forecast, trends
from metrics.engine.terms import deadline, timelines_for
from metrics.models import PeriodStatus, Reading, SlaHealth
from reviews import actions, vendor_warnings
from reviews.models import AgendaItem, Review
from slagov import formatting

Section = AgendaItem.Section
TREND_PERIODS = 12


@dataclass
class Drafted:
    section: str
    title: str
    details: str = ""
    data: dict = field(default_factory=dict)


def covers_from(contract: Contract, before: Review | None, today: date) -> date:
    """
    The first period (start of a month) the review looks back on: the month after the
    last one the previous review could have seen, else the cadence's length back.
    """
    if before is not None and before.held_at is not None:
        seen = periods.last_closed_period(timezone.localdate(before.held_at), "monthly")
        return periods.add_periods(seen, "monthly", 1)
    months = 3 if contract.review_cadence == Contract.Cadence.QUARTERLY else 1
    last = periods.last_closed_period(today, "monthly")
    return max(
        periods.add_periods(last, "monthly", 1 - months),
        periods.period_start(contract.start_date, "monthly"),
    )


def _s(value) -> str | None:
    return None if value is None else format(Decimal(value).normalize(), "f")


def draft(review: Review, today: date | None = None) -> list[Drafted]:
    """The drafted items of a review's agenda, in order."""
    today = today or timezone.localdate()
    contract = review.contract
    since = review.covers_from or covers_from(contract, None, today)
    slas = list(
        ServiceLevel.objects.filter(contract=contract, is_active=True).order_by("-kind", "code")
    )
    for sla in slas:  # their contract is this one: not a query per SLA
        sla.contract = contract
    ids = [s.pk for s in slas]
    statuses = defaultdict(list)
    for status in PeriodStatus.objects.filter(service_level_id__in=ids).order_by("period_start"):
        statuses[status.service_level_id].append(status)
    healths = {h.service_level_id: h for h in SlaHealth.objects.filter(service_level_id__in=ids)}
    escalations = list(
        Escalation.objects.filter(contract=contract)
        .exclude(state=Escalation.State.RESOLVED)
        .select_related("service_level")
        .order_by("-level", "opened_at", "pk")  # opened together: in order
    )
    warnings = list(reversed(vendor_warnings.open_warnings(contract=contract)))
    items = actions.open_action_items(contract=contract, today=today)
    submitted = _submitted(ids, since)
    return [
        _performance(slas, statuses, since),
        _risks(slas, healths, escalations, warnings),
        _actions(items, today),
        _improvement(contract, slas, statuses, today, timelines_for(slas)),
        _credits(contract, slas, statuses, since),
        _timeliness(contract, slas, statuses, since, today, submitted),
    ]


def drafts(reviews: list[Review], today: date | None = None) -> dict[int, list[Drafted]]:
    """
    `draft` of many reviews (review id → items), reading what they show once for
    all of their contracts: a fixed number of queries however many reviews.
    """
    today = today or timezone.localdate()
    contracts = {r.contract_id: r.contract for r in reviews}
    since = {r.pk: r.covers_from or covers_from(r.contract, None, today) for r in reviews}
    slas = defaultdict(list)
    for sla in ServiceLevel.objects.filter(
        contract_id__in=list(contracts), is_active=True
    ).order_by("-kind", "code"):
        sla.contract = contracts[sla.contract_id]
        slas[sla.contract_id].append(sla)
    ids = [s.pk for listed in slas.values() for s in listed]
    statuses = defaultdict(list)  # tuples: a sweep's meetings read 100,000s of statuses
    for row in (
        PeriodStatus.objects.filter(service_level_id__in=ids)
        .order_by("period_start")
        .values_list(*_Status._fields)
    ):
        statuses[row[0]].append(_Status(*row))
    healths = {h.service_level_id: h for h in SlaHealth.objects.filter(service_level_id__in=ids)}
    escalations = defaultdict(list)
    for escalation in (
        Escalation.objects.filter(contract_id__in=list(contracts))
        .exclude(state=Escalation.State.RESOLVED)
        .select_related("service_level")
        .order_by("-level", "opened_at", "pk")  # opened together: in order
    ):
        escalations[escalation.contract_id].append(escalation)
    warnings = defaultdict(list)
    for warning in reversed(vendor_warnings.open_warnings(contract_ids=list(contracts))):
        warnings[warning.contract_id].append(warning)
    items = defaultdict(list)
    for item in (
        actions.action_items(today=today)
        .filter(contract_id__in=list(contracts), state__in=actions.OPEN_STATES)
        .order_by("due_date", "pk")
    ):
        items[item.contract_id].append(item)
    submitted = _submitted(ids, min(since.values(), default=today))
    timelines = timelines_for(sla for listed in slas.values() for sla in listed)
    drafted = {}
    for review in reviews:
        contract, first, listed = review.contract, since[review.pk], slas[review.contract_id]
        drafted[review.pk] = [
            _performance(listed, statuses, first),
            _risks(listed, healths, escalations[contract.pk], warnings[contract.pk]),
            _actions(items[contract.pk], today),
            _improvement(contract, listed, statuses, today, timelines),
            _credits(contract, listed, statuses, first),
            _timeliness(contract, listed, statuses, first, today, submitted),
        ]
    return drafted


class _Status(NamedTuple):
    """What the agenda reads of a period's status."""

    service_level_id: int
    period_start: date
    colour: str
    value: Decimal | None
    target: Decimal | None
    minimum: Decimal | None
    credit_percent: Decimal | None
    credit_amount: Decimal | None


def _submitted(ids: list[int], since: date) -> dict[tuple[int, date], date]:
    """(SLA, period) → the day its reading came in, from `since` on."""
    return {
        (r.service_level_id, r.period_start): timezone.localdate(r.submitted_at)
        for r in Reading.objects.filter(service_level_id__in=ids, period_start__gte=since).only(
            "service_level_id", "period_start", "submitted_at"
        )
    }


def _performance(slas, statuses, since: date) -> Drafted:
    rows = []
    for sla in slas:
        history = statuses[sla.pk]
        recent = [s for s in history if s.period_start >= since]
        valued = [s for s in history if s.value is not None][-TREND_PERIODS:]
        rows.append(
            {
                "id": sla.pk, "code": sla.code, "name": sla.name, "unit": sla.display_unit,
                "direction": sla.direction, "period": sla.period, "kind": sla.kind,
                "rows": [
                    {"period": formatting.period(s.period_start, sla.period),
                     "start": s.period_start.isoformat(), "value": _s(s.value),
                     "colour": s.colour, "target": _s(s.target), "minimum": _s(s.minimum)}
                    for s in recent
                ],
                "trend": [
                    {"start": s.period_start.isoformat(), "value": float(s.value),
                     "target": float(s.target) if s.target is not None else None,
                     "minimum": float(s.minimum) if s.minimum is not None else None,
                     "colour": s.colour}
                    for s in valued
                ],
            }
        )  # fmt: skip
    counts = defaultdict(int)
    for sla in rows:
        for row in sla["rows"]:
            counts[row["colour"]] += 1
    summary = ", ".join(
        f"{counts[c]} {Colour(c).label.split(' ')[0].lower()}"
        for c in (Colour.GREEN, Colour.YELLOW, Colour.RED, Colour.LATE)
        if counts[c]
    )
    first = formatting.period(since, "monthly")
    details = f"From {first}: {summary or 'no periods closed yet'}."
    return Drafted(Section.PERFORMANCE, Section.PERFORMANCE.label, details, {"slas": rows,
                   "since": since.isoformat()})  # fmt: skip


def _risks(slas, healths, escalations, warnings) -> Drafted:
    rows = []

    def add(code: str, kind: str, text: str) -> None:
        rows.append({"sla": code, "kind": kind, "text": text})

    for sla in slas:
        health = healths.get(sla.pk)
        if health is None:
            continue
        value = formatting.with_unit(health.value, sla.display_unit)
        if health.colour == Colour.YELLOW:
            target = formatting.with_unit(health.target, sla.display_unit)
            add(sla.code, "yellow", f"{sla.name} is yellow: {value} against a target of {target}.")
        if health.colour != Colour.RED and forecast.warns(health.risk, 3):
            outlook = trends.outlook(health, sla.period, sla.display_unit)
            add(sla.code, "forecast",
                f"{sla.name}: {outlook} {trends.risk_words(health.risk, sla.period)}")  # fmt: skip
        if health.drifting:
            add(sla.code, "drifting", f"{sla.name} is drifting: {health.drift_note}.")
        if health.anomaly:
            add(sla.code, "anomaly", f"{sla.name}: the latest value is {health.anomaly_note}.")
    for escalation in escalations:
        state = escalation.get_state_display().lower()
        add(escalation.service_level.code, "escalation",
            f"Escalation #{escalation.pk}, level {escalation.level} ({state}): "
            f"{escalation.reason}.")  # fmt: skip
    for warning in warnings:
        add(warning.service_level.code, "warning",
            f"Raised by the vendor on {formatting.day(warning.raised_at)}: {warning.title}. "
            f"{warning.impact}".strip())  # fmt: skip
    details = (
        f"{formatting.plural(len(rows), 'risk')} to talk about."
        if rows
        else "Nothing yellow, drifting or forecast to breach, and nothing raised."
    )
    return Drafted(Section.RISKS, Section.RISKS.label, details, {"rows": rows})


def _actions(items, today: date) -> Drafted:
    rows = []
    for item in items:
        owner = item.owner.get_full_name() or item.owner.username if item.owner else "nobody"
        rows.append({"id": item.pk, "title": item.title, "owner": owner, "side": item.owner_side,
                     "due": item.due_date.isoformat(), "state": item.state,
                     "overdue": item.due_date < today})  # fmt: skip
    overdue = sum(1 for r in rows if r["overdue"])
    if rows:
        details = f"{formatting.plural(len(rows), 'open item')}, {overdue} overdue."
    else:
        details = "No open action items."
    return Drafted(Section.ACTIONS, Section.ACTIONS.label, details, {"rows": rows})


def _improvement(contract, slas, statuses, today: date, timelines) -> Drafted:
    rows = []
    year = periods.contract_year(contract.start_date, today)
    next_start = periods.contract_year_first_month(contract.start_date, year + 1)
    for sla in slas:
        timeline = timelines[sla.pk]
        terms = timeline.at(today) if timeline else None
        if terms is None or terms.spec.improvement == Improvement.NONE:
            continue
        now_found = timeline.thresholds(periods.period_start(today, sla.period))
        next_found = timeline.thresholds(next_start)
        if not now_found or not next_found:
            continue
        this_year, next_year = now_found[0], next_found[0]
        recent = [float(s.value) for s in statuses[sla.pk] if s.value is not None][-6:]
        average = statistics.fmean(recent) if recent else None
        unit = sla.display_unit
        needed = formatting.with_unit(next_year.target, unit)
        text = (
            f"From {formatting.period(next_start, 'monthly')} the target tightens from "
            f"{formatting.with_unit(this_year.target, unit)} to {needed}"
        )
        if average is not None:
            higher = sla.direction == "higher"
            met = (
                average >= float(next_year.target) if higher else average <= float(next_year.target)
            )
            avg = formatting.with_unit(round(average, 4), unit)
            text += f"; the last {len(recent)} periods averaged {avg}: " + (
                "already there." if met else f"it takes {needed} or better."
            )
        rows.append(
            {
                "sla": sla.code,
                "text": text,
                "this_year": {"target": _s(this_year.target), "minimum": _s(this_year.minimum)},
                "next_year": {"target": _s(next_year.target), "minimum": _s(next_year.minimum)},
                "from": formatting.period(next_start, "monthly"),
            }
        )
    details = "" if rows else "No improvement clause on these SLAs."
    return Drafted(Section.IMPROVEMENT, Section.IMPROVEMENT.label, details, {"rows": rows})


def _credits(contract, slas, statuses, since: date) -> Drafted:
    rows, total = [], Decimal(0)
    for sla in slas:
        for status in statuses[sla.pk]:
            if status.period_start >= since and status.credit_amount:
                rows.append({"sla": sla.code,
                             "period": formatting.period(status.period_start, sla.period),
                             "percent": _s(status.credit_percent),
                             "amount": _s(status.credit_amount)})  # fmt: skip
                total += status.credit_amount
    details = (
        f"{formatting.number(total, 2)} {contract.currency} assessed, before the contract's cap."
        if rows
        else "None assessed."
    )
    return Drafted(Section.CREDITS, Section.CREDITS.label, details,
                   {"rows": rows, "total": _s(total), "currency": contract.currency})  # fmt: skip


def _timeliness(contract, slas, statuses, since: date, today: date, submitted) -> Drafted:
    rows, on_time = [], 0
    for sla in slas:
        for status in statuses[sla.pk]:
            if status.period_start < since or status.period_start < sla.data_start:
                continue
            due = deadline(status.period_start, sla.period, contract.submission_deadline_days)
            if due >= today and status.value is None:
                continue  # not due yet
            got = submitted.get((sla.pk, status.period_start))
            late_by = ((got or today) - due).days
            if late_by > 0:
                rows.append({"sla": sla.code,
                             "period": formatting.period(status.period_start, sla.period),
                             "deadline": due.isoformat(),
                             "submitted": got.isoformat() if got else None,
                             "days_late": late_by})  # fmt: skip
            else:
                on_time += 1
    late = len(rows)
    details = f"{on_time} on time, {late} late." if (on_time or late) else "Nothing due yet."
    return Drafted(Section.TIMELINESS, Section.TIMELINESS.label, details,
                   {"rows": rows, "on_time": on_time, "late": late})  # fmt: skip
