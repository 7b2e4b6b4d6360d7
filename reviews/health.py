"""
Governance health of a contract (PRODUCT.md, "Governance health"), as pure code.

Is the team still governing, or sliding back into firefighting? A contract
starts at 100 and loses points for each sign of neglect on a given day:

| rule | applies to | penalty |
| --- | --- | --- |
| no review held within the cadence (+ 14 days' grace) | proactive | 25 |
| no next review planned | proactive | 10 |
| action items past their due date, still open | proactive | 5 each, at most 25 |
| data submitted late (deadline in the last 92 days) | all | 5 per period, at most 20 |
| escalations past their due-by, not met | all | 10 each, at most 20 |
| the owner is not an active member (or there is none) | all | 15 |
| SLAs not checked "still the right measure?" at a review in the last 92 days | proactive | 10 |
| vendor warnings unacknowledged for more than 7 days | proactive | 5 each, at most 15 |

Compliance contracts have no review cadence, action loop or early-warning
steps: they are judged on compliance only (late data, escalations past due,
an owner). The score never goes below 0. 80 and above is *good*, 60 to 79
*watch*, below 60 *poor*.

Everything here works on plain facts (dates, not rows) and one day, so the
same rules give today's score and each past month's (`as_of` the month's
last day): the history is the rules replayed, not a second definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import models

from slagov import formatting

GRACE_DAYS = 14
CADENCE_DAYS = {1: 31, 3: 92}
QUARTER_DAYS = 92
WARNING_ACK_DAYS = 7
GOOD, WATCH = 80, 60


class Rule(models.TextChoices):
    REVIEW_OVERDUE = "review_overdue", "Reviews held on cadence"
    NO_NEXT_REVIEW = "no_next_review", "Next review planned"
    ACTIONS_OVERDUE = "actions_overdue", "Action items on time"
    LATE_DATA = "late_data", "Data on time"
    ESCALATIONS_PAST_DUE = "escalations_past_due", "Escalations handled by their due-by"
    OWNER_INACTIVE = "owner_inactive", "An active owner"
    RELEVANCE = "relevance", "SLAs checked for relevance"
    WARNINGS_UNACKNOWLEDGED = "warnings_unacknowledged", "Vendor warnings answered"


# Points lost: (each, at most). A rule that is met costs nothing.
PENALTY = {
    Rule.REVIEW_OVERDUE: (25, 25),
    Rule.NO_NEXT_REVIEW: (10, 10),
    Rule.ACTIONS_OVERDUE: (5, 25),
    Rule.LATE_DATA: (5, 20),
    Rule.ESCALATIONS_PAST_DUE: (10, 20),
    Rule.OWNER_INACTIVE: (15, 15),
    Rule.RELEVANCE: (10, 10),
    Rule.WARNINGS_UNACKNOWLEDGED: (5, 15),
}
COMPLIANCE_RULES = (Rule.LATE_DATA, Rule.ESCALATIONS_PAST_DUE, Rule.OWNER_INACTIVE)


class Band(models.TextChoices):
    GOOD = "good", "Good"
    WATCH = "watch", "Watch"
    POOR = "poor", "Poor"


# --- Facts: what the rules read (dates in the organisation's time zone) ---------------------


@dataclass(frozen=True)
class ReviewFact:
    planned_on: date  # the day the review was put in the calendar
    scheduled_on: date
    held_on: date | None
    cancelled: bool = False


@dataclass(frozen=True)
class ActionFact:
    due_date: date
    closed_on: date | None  # done or cancelled


@dataclass(frozen=True)
class DueFact:
    """One period's data owed for one SLA."""

    sla: str
    period_label: str
    deadline: date  # the last day on time
    received_on: date | None  # the first time any value arrived


@dataclass(frozen=True)
class EscalationFact:
    opened_on: date
    due_by: date
    met_on: date | None
    resolved_on: date | None


@dataclass(frozen=True)
class SlaFact:
    code: str
    added_on: date
    checked_on: tuple[date, ...] = ()  # "still the right measure?" answered at a review


@dataclass(frozen=True)
class WarningFact:
    raised_on: date
    acknowledged_on: date | None
    closed_on: date | None


@dataclass(frozen=True)
class ContractFacts:
    proactive: bool
    cadence_months: int  # 1 monthly, 3 quarterly
    start_date: date
    end_date: date
    owner: str  # "" when there is none
    owner_active: bool
    reviews: Sequence[ReviewFact] = ()
    actions: Sequence[ActionFact] = ()
    due: Sequence[DueFact] = ()
    escalations: Sequence[EscalationFact] = ()
    slas: Sequence[SlaFact] = ()
    warnings: Sequence[WarningFact] = ()


# --- The verdict -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    rule: Rule
    points: int  # lost
    words: str


@dataclass(frozen=True)
class GovernanceHealth:
    as_of: date
    score: int
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    proactive: bool = True

    @property
    def band(self) -> Band:
        if self.score >= GOOD:
            return Band.GOOD
        return Band.WATCH if self.score >= WATCH else Band.POOR

    @property
    def colour(self) -> str:
        """The traffic-light colour the band is shown in."""
        return {Band.GOOD: "green", Band.WATCH: "yellow", Band.POOR: "red"}[self.band]

    @property
    def summary(self) -> str:
        if not self.findings:
            return "Nothing neglected."
        return " ".join(f.words for f in self.findings)


def _lost(rule: Rule, count: int) -> int:
    each, most = PENALTY[rule]
    return min(each * count, most)


def _day(d: date) -> str:
    return formatting.day(d)


def _names(items: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def review_findings(facts: ContractFacts, as_of: date) -> list[Finding]:
    cadence = CADENCE_DAYS[facts.cadence_months]
    held = [r.held_on for r in facts.reviews if r.held_on is not None and r.held_on <= as_of]
    found = []
    last = max(held, default=None)
    since = last or facts.start_date
    days = (as_of - since).days
    if days > cadence + GRACE_DAYS:
        every = "monthly" if facts.cadence_months == 1 else "quarterly"
        words = (
            f"No review held for {days} days (last {_day(last)}; {every} cadence)."
            if last
            else f"No review held since the contract started {days} days ago ({every} cadence)."
        )
        found.append(Finding(Rule.REVIEW_OVERDUE, _lost(Rule.REVIEW_OVERDUE, 1), words))
    if facts.end_date > as_of:
        planned = any(
            r.planned_on <= as_of < r.scheduled_on and not r.cancelled for r in facts.reviews
        )
        if not planned:
            words = "No next review planned."
            found.append(Finding(Rule.NO_NEXT_REVIEW, _lost(Rule.NO_NEXT_REVIEW, 1), words))
    return found


def action_findings(facts: ContractFacts, as_of: date) -> list[Finding]:
    overdue = sorted(
        a.due_date
        for a in facts.actions
        if a.due_date < as_of and (a.closed_on is None or a.closed_on > as_of)
    )
    if not overdue:
        return []
    words = (
        f"{formatting.plural(len(overdue), 'action item')} overdue "
        f"(the oldest due {_day(overdue[0])})."
    )
    return [Finding(Rule.ACTIONS_OVERDUE, _lost(Rule.ACTIONS_OVERDUE, len(overdue)), words)]


def late_data_findings(facts: ContractFacts, as_of: date) -> list[Finding]:
    """
    Periods whose deadline passed in the last 92 days with the data after it (or
    still missing on `as_of`). A period not yet due is not judged.
    """
    window = as_of - timedelta(days=QUARTER_DAYS)
    late = [
        d
        for d in facts.due
        if window < d.deadline < as_of and (d.received_on is None or d.received_on > d.deadline)
    ]
    if not late:
        return []
    late.sort(key=lambda d: (d.deadline, d.sla))
    words = (
        f"Data late for {formatting.plural(len(late), 'period')} in the last quarter "
        f"({_names([f'{d.sla} {d.period_label}' for d in late])})."
    )
    return [Finding(Rule.LATE_DATA, _lost(Rule.LATE_DATA, len(late)), words)]


def escalation_findings(facts: ContractFacts, as_of: date) -> list[Finding]:
    past = [
        e
        for e in facts.escalations
        if e.opened_on <= as_of
        and e.due_by < as_of
        and (e.met_on is None or e.met_on > as_of)
        and (e.resolved_on is None or e.resolved_on > as_of)
    ]
    if not past:
        return []
    oldest = min(e.due_by for e in past)
    words = (
        f"{formatting.plural(len(past), 'escalation')} past {'its' if len(past) == 1 else 'their'}"
        f" due-by (the oldest due {_day(oldest)})."
    )
    return [Finding(Rule.ESCALATIONS_PAST_DUE, _lost(Rule.ESCALATIONS_PAST_DUE, len(past)), words)]


def owner_findings(facts: ContractFacts, as_of: date) -> list[Finding]:
    if facts.owner and facts.owner_active:
        return []
    words = (
        f"The owner, {facts.owner}, is no longer an active member."
        if facts.owner
        else "The contract has no owner."
    )
    return [Finding(Rule.OWNER_INACTIVE, _lost(Rule.OWNER_INACTIVE, 1), words)]


def relevance_findings(facts: ContractFacts, as_of: date) -> list[Finding]:
    """SLAs older than a quarter, with no "still the right measure?" answer in the last one."""
    window = as_of - timedelta(days=QUARTER_DAYS)
    if facts.start_date > window:
        return []
    due = [s for s in facts.slas if s.added_on <= window]
    unchecked = [s.code for s in due if not any(window < d <= as_of for d in s.checked_on)]
    if not unchecked:
        return []
    words = (
        f"{len(unchecked)} of {formatting.plural(len(due), 'SLA')} not checked for relevance "
        f"at a review in the last quarter ({_names(unchecked)})."
    )
    return [Finding(Rule.RELEVANCE, _lost(Rule.RELEVANCE, 1), words)]


def warning_findings(facts: ContractFacts, as_of: date) -> list[Finding]:
    cutoff = as_of - timedelta(days=WARNING_ACK_DAYS)
    waiting = [
        w
        for w in facts.warnings
        if w.raised_on < cutoff
        and (w.acknowledged_on is None or w.acknowledged_on > as_of)
        and (w.closed_on is None or w.closed_on > as_of)
    ]
    if not waiting:
        return []
    words = (
        f"{formatting.plural(len(waiting), 'vendor warning')} unacknowledged for more than "
        f"{WARNING_ACK_DAYS} days."
    )
    return [
        Finding(Rule.WARNINGS_UNACKNOWLEDGED, _lost(Rule.WARNINGS_UNACKNOWLEDGED, len(waiting)),
                words)
    ]  # fmt: skip


PROACTIVE_CHECKS = (
    review_findings, action_findings, late_data_findings, escalation_findings,
    owner_findings, relevance_findings, warning_findings,
)  # fmt: skip
COMPLIANCE_CHECKS = (late_data_findings, escalation_findings, owner_findings)


def health_of(facts: ContractFacts, as_of: date) -> GovernanceHealth | None:
    """The contract's governance health on `as_of`; None outside its term."""
    if as_of < facts.start_date or as_of > facts.end_date:
        return None
    checks = PROACTIVE_CHECKS if facts.proactive else COMPLIANCE_CHECKS
    findings = tuple(f for check in checks for f in check(facts, as_of))
    score = max(0, 100 - sum(f.points for f in findings))
    return GovernanceHealth(as_of=as_of, score=score, findings=findings, proactive=facts.proactive)


def month_ends(today: date, months: int) -> list[date]:
    """The last day of each of the `months` - 1 months before this one, then today."""
    ends = []
    first = today.replace(day=1)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    for _ in range(months - 1):
        following = (first + timedelta(days=32)).replace(day=1)
        ends.append(following - timedelta(days=1))
        first = following
    return [*ends, today]


def sliding(scores: Sequence[int | None]) -> bool:
    """
    Sliding back into firefighting: health fell two months running (the last
    three scores, oldest first, each lower than the one before).
    """
    last = [s for s in scores[-3:] if s is not None]
    return len(last) == 3 and last[0] > last[1] > last[2]
