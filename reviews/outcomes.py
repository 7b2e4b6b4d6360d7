"""
Outcomes: what proactive governance returned, per calendar quarter. Pure:
plain facts in (the dataclasses below, no ORM), figures out;
`reviews.outcomes_data` gathers the facts and the help page
(`templates/help/numbers.html`) says the same in words.

Quarters are calendar quarters in the organisation's time zone: a moment
(an acknowledgement, a resolution, a warning cleared) belongs to the quarter
of its local day, a date (a period's first day, a due date, a credit month)
to the quarter it falls in. The current quarter counts up to today.

- **Breaches avoided.** A performance escalation and the early warnings
  (forecast episodes) told on it are one episode of the SLA; an early warning
  told on no escalation is one on its own. It counts once, as one breach
  avoided, when all of it has ended (the escalation resolved, on its own or
  by hand with its quiet period over; each early warning cleared), none of
  it reached red (the escalation never saw the SLA red, no early warning saw
  a breach), and it asked for action before red (the escalation reached
  level 1 or more, or an early warning was told). It counts in the quarter
  its last part ended. A relapse reopens the same escalation: it stops
  counting until it has ended again.
- **Breaches**: red periods of an SLA (not a KPI) that start a red run, in
  the quarter the period starts; **warned ahead**: `escalations.ahead` (the
  back-test's rule) with an early warning or a vendor warning on the SLA as
  the flag, a period's data "coming in" being its value's `submitted_at`.
- **Time to acknowledge / resolve** (hours; median of the quarter's, None
  without any): escalations at level 1 or more, both kinds. Each
  acknowledgement counts, timed from the start of the step it answered (the
  opening, a raise, a missed due-by or a reopening); each resolution counts,
  timed from the latest opening or reopening.
- **Action items on time**: items whose due date fell in the quarter and has
  passed (before today), cancelled ones left out; on time when done on or
  before the due date (local day).
- **Credits**: each contract's month credits as `metrics.selectors.credits_for`
  gives them, after the monthly cap, in the quarter of their month, per
  currency.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal

from contracts import periods
from escalations import ahead

# Escalation timeline kinds (`EscalationEvent.Kind` values): what starts a step
# that asks for an acknowledgement, and what starts a run that ends in a resolution.
OPENED, RAISED, DUE_MISSED, REOPENED = "opened", "raised", "due_missed", "reopened"
ACKNOWLEDGED, RESOLVED = "acknowledged", "resolved"
STEP_STARTS = {OPENED, RAISED, DUE_MISSED, REOPENED}
RUN_STARTS = {OPENED, REOPENED}
TIMELINE_KINDS = STEP_STARTS | {ACKNOWLEDGED, RESOLVED}
PERFORMANCE = "performance"
MAX_QUARTERS = 40


@dataclass(frozen=True)
class EscalationFact:
    pk: int
    contract_id: int
    kind: str  # performance or data
    level: int  # its level now (for a resolved one, when it ended)
    resolved_at: datetime | None  # None while open
    reached_red: bool
    quiet_running: bool = False  # resolved by hand, its quiet period not over yet
    quiet_ended_at: datetime | None = None


@dataclass(frozen=True)
class EpisodeFact:
    """An early warning: one forecast episode."""

    pk: int
    contract_id: int
    escalation_id: int | None  # the escalation it was told on
    cleared_at: datetime | None
    breached: bool


@dataclass(frozen=True)
class EventFact:
    """One line of an escalation's timeline (the kinds in `TIMELINE_KINDS`)."""

    escalation_id: int
    contract_id: int
    opened_at: datetime  # the escalation's
    kind: str
    at: datetime
    level: int


@dataclass(frozen=True)
class PeriodFact:
    """One SLA's status for one period, and when the value it is judged on came in."""

    service_level_id: int
    contract_id: int
    period: str  # monthly or weekly
    start: date
    red: bool
    arrived_at: datetime | None


@dataclass(frozen=True)
class WarningFact:
    """An early warning or a vendor warning on an SLA, open from `raised_at` to `ended_at`."""

    service_level_id: int
    contract_id: int
    raised_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class ActionFact:
    contract_id: int
    due_date: date
    state: str
    closed_at: datetime | None


@dataclass(frozen=True)
class CreditFact:
    contract_id: int
    month: date
    currency: str
    amount: Decimal


@dataclass
class Facts:
    escalations: list[EscalationFact] = field(default_factory=list)
    episodes: list[EpisodeFact] = field(default_factory=list)
    events: list[EventFact] = field(default_factory=list)
    periods: list[PeriodFact] = field(default_factory=list)
    warnings: list[WarningFact] = field(default_factory=list)
    actions: list[ActionFact] = field(default_factory=list)
    credits: list[CreditFact] = field(default_factory=list)

    def split(self, key: Callable[[int], Hashable | None]) -> dict[Hashable, Facts]:
        """The facts grouped by `key(contract_id)` (per contract, per vendor; None: left out)."""
        out: dict[Hashable, Facts] = defaultdict(Facts)
        for name in ("escalations", "episodes", "events", "periods", "warnings", "actions",
                     "credits"):  # fmt: skip
            for fact in getattr(self, name):
                group = key(fact.contract_id)
                if group is not None:
                    getattr(out[group], name).append(fact)
        return dict(out)


# --- Quarters ----------------------------------------------------------------------------


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def quarter_label(start: date) -> str:
    """`2026 Q3`."""
    return f"{start.year} Q{(start.month - 1) // 3 + 1}"


def add_quarters(start: date, count: int) -> date:
    return periods.add_periods(start, periods.Period.MONTHLY, 3 * count)


def quarter_starts(today: date, count: int) -> list[date]:
    """The last `count` quarters up to today's, oldest first."""
    if not 1 <= count <= MAX_QUARTERS:
        raise ValueError(f"quarters: from 1 to {MAX_QUARTERS}, not {count}")
    current = quarter_start(today)
    return [add_quarters(current, -i) for i in range(count - 1, -1, -1)]


def local_day(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


# --- The definitions ---------------------------------------------------------------------


def avoided(
    escalations: Iterable[EscalationFact], episodes: Iterable[EpisodeFact]
) -> list[datetime]:
    """When each breach avoided counts: the moment its episode of the SLA ended."""
    groups: dict[tuple, dict] = {}

    def group(key) -> dict:
        return groups.setdefault(key, {"ended": [], "open": False, "red": False, "asks": False})

    for e in escalations:
        if e.kind != PERFORMANCE:
            continue
        g = group(("escalation", e.pk))
        if e.resolved_at is None or e.quiet_running:
            g["open"] = True
        else:
            g["ended"].append(max(e.resolved_at, e.quiet_ended_at or e.resolved_at))
        g["red"] |= e.reached_red
        g["asks"] |= e.level >= 1
    for w in episodes:
        key = ("escalation", w.escalation_id) if w.escalation_id else ("episode", w.pk)
        g = group(key)
        if w.cleared_at is None:
            g["open"] = True
        else:
            g["ended"].append(w.cleared_at)
        g["red"] |= w.breached
        g["asks"] = True
    return sorted(
        max(g["ended"]) for g in groups.values() if g["asks"] and not g["open"] and not g["red"]
    )


def _flags(series: list[PeriodFact | None], warnings: list[WarningFact]) -> list[bool]:
    """Per period: was a warning open between its data coming in and the next period's?"""
    arrivals: list[datetime | None] = [None] * (len(series) + 1)
    for i in range(len(series) - 1, -1, -1):  # a period without data: the next data's time
        fact = series[i]
        arrivals[i] = fact.arrived_at if fact and fact.arrived_at else arrivals[i + 1]
    on = []
    for i in range(len(series)):
        start, end = arrivals[i], arrivals[i + 1]
        on.append(
            start is not None
            and any(
                (end is None or w.raised_at < end) and (w.ended_at is None or w.ended_at > start)
                for w in warnings
            )
        )
    return on


def breach_onsets(
    statuses: Iterable[PeriodFact], warnings: Iterable[WarningFact]
) -> list[tuple[date, bool]]:
    """
    Each breach (period start, warned ahead), oldest first. `statuses`: each SLA's
    periods from at least `ahead.AHEAD` + 1 periods before the first breach asked about
    (a red first period counts as a breach).
    """
    by_sla: dict[int, dict[date, PeriodFact]] = defaultdict(dict)
    for fact in statuses:
        by_sla[fact.service_level_id][fact.start] = fact
    warned_of: dict[int, list[WarningFact]] = defaultdict(list)
    for w in warnings:
        warned_of[w.service_level_id].append(w)
    out = []
    for sla, by_start in by_sla.items():
        kind = next(iter(by_start.values())).period
        starts = list(periods.iter_periods(min(by_start), max(by_start), kind))
        series = [by_start.get(s) for s in starts]  # a missing period: not red, no data
        red = [bool(f and f.red) for f in series]
        on = _flags(series, warned_of[sla])
        for t in ahead.breaches(red):
            out.append((starts[t], ahead.warned_lead(red, on, t) is not None))
    return sorted(out)


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def response_times(
    events: Iterable[EventFact],
) -> tuple[list[tuple[datetime, float]], list[tuple[datetime, float]]]:
    """(acknowledgements, resolutions) of escalations at level 1 or more: (when, hours)."""
    timelines: dict[int, list[EventFact]] = defaultdict(list)
    for event in events:
        timelines[event.escalation_id].append(event)
    acks, resolutions = [], []
    for timeline in timelines.values():
        step = run = timeline[0].opened_at
        for event in sorted(timeline, key=lambda e: e.at):
            if event.kind in STEP_STARTS:
                step = event.at
            if event.kind in RUN_STARTS:
                run = event.at
            if event.level < 1:
                continue
            if event.kind == ACKNOWLEDGED:
                acks.append((event.at, _hours(step, event.at)))
            elif event.kind == RESOLVED:
                resolutions.append((event.at, _hours(run, event.at)))
    return acks, resolutions


def actions_due(
    actions: Iterable[ActionFact], *, today: date, tz: tzinfo
) -> list[tuple[date, bool]]:
    """(due date, done on time) of each item whose due date has passed; cancelled ones left out."""
    out = []
    for item in actions:
        if item.state == "cancelled" or item.due_date >= today:
            continue
        on_time = (
            item.state == "done"
            and item.closed_at is not None
            and local_day(item.closed_at, tz) <= item.due_date
        )
        out.append((item.due_date, on_time))
    return out


def median_hours(hours: list[float]) -> float | None:
    return statistics.median(hours) if hours else None


# --- Per quarter -------------------------------------------------------------------------


@dataclass(frozen=True)
class QuarterOutcomes:
    start: date
    label: str
    breaches_avoided: int
    breaches: int
    breaches_warned: int
    median_ack_hours: float | None
    median_resolve_hours: float | None
    actions_due: int
    actions_on_time: int
    credits: dict[str, Decimal]

    @property
    def end(self) -> date:
        """The first day of the next quarter."""
        return add_quarters(self.start, 1)


def by_quarter(
    facts: Facts, *, today: date, tz: tzinfo, quarters: int = 4
) -> list[QuarterOutcomes]:
    """The outcomes of the last `quarters` quarters up to today's, oldest first."""
    starts = quarter_starts(today, quarters)
    known = set(starts)
    buckets = {
        s: {"avoided": 0, "breaches": 0, "warned": 0, "ack": [], "resolve": [], "due": 0,
            "on_time": 0, "credits": defaultdict(Decimal)}
        for s in starts
    }  # fmt: skip

    def bucket(day: date) -> dict | None:
        start = quarter_start(day)
        return buckets[start] if start in known else None

    for moment in avoided(facts.escalations, facts.episodes):
        if b := bucket(local_day(moment, tz)):
            b["avoided"] += 1
    for start, warned in breach_onsets(facts.periods, facts.warnings):
        if b := bucket(start):
            b["breaches"] += 1
            b["warned"] += warned
    acks, resolutions = response_times(facts.events)
    for name, rows in (("ack", acks), ("resolve", resolutions)):
        for moment, hours in rows:
            if b := bucket(local_day(moment, tz)):
                b[name].append(hours)
    for due, on_time in actions_due(facts.actions, today=today, tz=tz):
        if b := bucket(due):
            b["due"] += 1
            b["on_time"] += on_time
    for credit in facts.credits:
        if credit.amount and (b := bucket(credit.month)):
            b["credits"][credit.currency] += credit.amount
    return [_outcomes(start, b) for start, b in buckets.items()]


def _outcomes(start: date, b: dict) -> QuarterOutcomes:
    return QuarterOutcomes(
        start=start, label=quarter_label(start), breaches_avoided=b["avoided"],
        breaches=b["breaches"], breaches_warned=b["warned"],
        median_ack_hours=median_hours(b["ack"]), median_resolve_hours=median_hours(b["resolve"]),
        actions_due=b["due"], actions_on_time=b["on_time"],
        credits=dict(sorted(b["credits"].items())),
    )  # fmt: skip
