"""
Evaluating escalation rules over status history.

"Consecutive days" are the days covered by the unbroken trailing run of
periods in a state: one red monthly reading is that month's 28-31 days; two
yellow weekly readings are 14. The newest periods still waiting for data
(before their deadline) don't break a run and don't count.

For each SLA the highest level whose condition holds is the target: no open
escalation opens one; a lower open one is raised; back to green resolves it.
Re-evaluating changes nothing when nothing changed. Set-based: a chunk of
SLAs costs a fixed number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts import periods
from contracts.governance import Mode
from contracts.models import Contract, ServiceLevel
from contracts.rules import Colour
from escalations import services
from escalations.models import Escalation, EscalationStep
from escalations.notify import Recipients
from escalations.policies import steps_by_contract
from metrics.engine import deadline
from metrics.engine.health import recent_colours
from metrics.models import SlaHealth
from slagov.jobs import JobReport
from slagov.models import Organization

CHUNK = 2000
HISTORY = 12  # periods of each SLA the rules look at
Condition = EscalationStep.Condition


@dataclass(frozen=True)
class Facts:
    """What the rules look at for one SLA."""

    colour: str  # latest known colour (pending periods skipped)
    yellow_or_worse_days: int
    red_days: int
    late_days: int
    periods_to_breach: int | None
    compliance: bool

    def state_days(self, state: str) -> int:
        if state == EscalationStep.State.RED:
            return self.red_days
        return self.yellow_or_worse_days


def _run_days(statuses, kind: str, colours: set[str]) -> int:
    days = 0
    for status in statuses:
        if status.colour not in colours:
            break
        days += periods.period_days(status.period_start, kind)
    return days


def _light_slas(organization_id: int, ids: list[int]) -> list[ServiceLevel]:
    """
    SLAs with just what the rules read, their contracts loaded once each: a
    sweep over 20,000 SLAs must not build 20,000 contract objects.
    """
    rows = list(
        ServiceLevel.objects.filter(organization_id=organization_id, pk__in=ids).values_list(
            "pk", "period", "code", "name", "contract_id"
        )
    )
    contracts = {
        c.pk: c
        for c in Contract.objects.filter(pk__in={r[4] for r in rows}).select_related(
            "organization", "owner", "vendor"
        )
    }
    return [
        ServiceLevel(pk=pk, organization_id=organization_id, period=period, code=code, name=name,
                     contract=contracts[contract_id])
        for pk, period, code, name, contract_id in rows
    ]  # fmt: skip


def facts_of(
    sla: ServiceLevel, recent, periods_to_breach: int | None, today: date, compliance: bool
) -> Facts:
    """`recent`: the SLA's latest statuses, oldest first."""
    newest_first = list(reversed(recent))
    while newest_first and newest_first[0].colour == Colour.NO_DATA:
        newest_first.pop(0)  # not due yet
    late_days = 0
    late_run = []
    for status in newest_first:
        if status.colour != Colour.LATE:
            break
        late_run.append(status)
    if late_run:
        oldest = late_run[-1]
        due = deadline(oldest.period_start, sla.period, sla.contract.submission_deadline_days)
        late_days = max((today - due).days, 0)
    # The current data gap is the data-late rule's business; further back, a
    # late period breaks a run like any other state.
    valued = newest_first[len(late_run) :]
    return Facts(
        colour=newest_first[0].colour if newest_first else Colour.NO_DATA,
        yellow_or_worse_days=_run_days(valued, sla.period, {Colour.YELLOW, Colour.RED}),
        red_days=_run_days(valued, sla.period, {Colour.RED}),
        late_days=late_days,
        periods_to_breach=periods_to_breach,
        compliance=compliance,
    )


def holds(step: EscalationStep, facts: Facts) -> bool:
    if facts.compliance and step.early_warning:
        return False  # compliance mode: monitoring and credits, no early warnings
    if step.condition == Condition.STATE:
        return facts.state_days(step.state) >= max(step.threshold, 1)
    if step.condition == Condition.FORECAST:
        return (
            facts.colour in (Colour.GREEN, Colour.YELLOW)
            and facts.periods_to_breach is not None
            and 1 <= facts.periods_to_breach <= max(step.threshold, 1)
        )
    if step.condition == Condition.DATA_LATE:
        return facts.late_days >= max(step.threshold, 1)
    return False


def describe(step: EscalationStep, facts: Facts, sla: ServiceLevel) -> str:
    if step.condition == Condition.STATE:
        days = facts.state_days(step.state)
        what = "red" if step.state == EscalationStep.State.RED else "yellow or worse"
        return f"{sla.code} has been {what} for {days} days ({step.threshold} or more)"
    if step.condition == Condition.FORECAST:
        when = periods.count_label(facts.periods_to_breach, sla.period)
        return f"{sla.code} is forecast to turn red in {when}"
    return f"{sla.code} data is late by {facts.late_days} days"


def _target(steps, facts: Facts, kinds: set[str]) -> EscalationStep | None:
    holding = [s for s in steps if s.condition in kinds and holds(s, facts)]
    return max(holding, key=lambda s: (s.level, s.order)) if holding else None


@scopes_disabled()
def evaluate(
    *, organization_id: int, service_level_ids, today: date | None = None, now=None
) -> dict[str, int]:
    """Evaluate the rules for these SLAs. Returns counts of what changed."""
    today = today or timezone.localdate()
    now = now or timezone.now()
    ids = sorted({int(i) for i in service_level_ids})
    counts = {"opened": 0, "raised": 0, "resolved": 0, "failed": 0}
    # One SLA's bad data (or a contract that can't be judged) is logged and
    # counted; the other SLAs of the chunk are still evaluated.
    report = JobReport()
    recipients = None  # loaded once, when the first notification is due
    modes: dict[int, bool] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        slas = _light_slas(organization_id, chunk)
        recent = recent_colours(organization_id, [s.pk for s in slas], limit=HISTORY, today=today)
        healths = dict(
            SlaHealth.objects.filter(
                organization_id=organization_id, service_level_id__in=chunk
            ).values_list("service_level_id", "periods_to_breach")
        )
        open_ones = {
            (e.service_level_id, e.kind): e
            for e in Escalation.objects.filter(
                organization_id=organization_id, service_level_id__in=chunk
            ).exclude(state=Escalation.State.RESOLVED)
        }
        policy = steps_by_contract(organization_id, {s.contract_id for s in slas})
        changes = []
        for sla in slas:
            try:
                changes.extend(_changes(sla, recent, healths, open_ones, policy, modes, today))
            except Exception:
                report.record_failure(organization_id, f"escalation rules of SLA {sla.pk}")
        if changes and recipients is None:
            recipients = Recipients(organization_id)
        # One transaction per chunk (a savepoint per opening); the outbox is
        # emptied once it commits.
        with transaction.atomic():
            for change in changes:
                done = _apply(*change, now=now, recipients=recipients)
                if done:
                    counts[done] += 1
    counts["failed"] = report.failed
    return counts


def _changes(sla, recent, healths, open_ones, policy, modes, today) -> list[tuple]:
    """What the rules want changed for one SLA (its open escalations, per kind)."""
    if sla.contract_id not in modes:
        modes[sla.contract_id] = sla.contract.effective_mode == Mode.COMPLIANCE
    facts = facts_of(sla, recent[sla.pk], healths.get(sla.pk), today,
                     modes[sla.contract_id])  # fmt: skip
    steps = policy[sla.contract_id]
    changes = []
    for kind, conditions, resolved_when, resolution in (
        (Escalation.Kind.PERFORMANCE, {Condition.STATE, Condition.FORECAST},
         facts.colour == Colour.GREEN, Escalation.Resolution.BACK_TO_GREEN),
        (Escalation.Kind.DATA, {Condition.DATA_LATE},
         facts.late_days == 0, Escalation.Resolution.DATA_RECEIVED),
    ):  # fmt: skip
        target = _target(steps, facts, conditions)
        current = open_ones.get((sla.pk, kind))
        if current is None and target is None:
            continue  # the common case: nothing to do
        changes.append((sla, kind, facts, target, current, resolved_when, resolution))
    return changes


def _apply(
    sla, kind, facts, target, current, resolved_when, resolution, *, now, recipients
) -> str | None:
    if current is not None:
        current.contract = sla.contract  # loaded once per chunk, with its owner
        if (
            facts.colour == Colour.RED
            and kind == Escalation.Kind.PERFORMANCE
            and (not current.reached_red)
        ):
            Escalation.objects.filter(pk=current.pk).update(reached_red=True)
        if target is None and resolved_when:
            services.escalation_resolve_automatically(escalation=current, resolution=resolution,
                                                      now=now)  # fmt: skip
            return "resolved"
        if target is not None and target.level > current.level:
            services.escalation_raise(escalation=current, step=target,
                                      reason=describe(target, facts, sla), now=now,
                                      recipients=recipients)  # fmt: skip
            return "raised"
        return None
    if target is None:
        return None
    try:
        with transaction.atomic():
            services.escalation_open(
                service_level=sla, kind=kind, step=target, reason=describe(target, facts, sla),
                reached_red=facts.colour == Colour.RED, now=now, recipients=recipients,
            )  # fmt: skip
    except IntegrityError:
        return None  # opened concurrently by another evaluation: one condition, one escalation
    return "opened"


@scopes_disabled()
def sweep_missed_due(*, now=None) -> JobReport:
    """
    Open escalations whose due-by passed unmet go one level up (once per due-by).
    Per organisation: its overdue escalations, its policy and its people, once;
    each organisation on its own (`done`: escalations raised, `failed`: failures).
    """
    now = now or timezone.now()
    report = JobReport()
    for organization in Organization.objects.order_by("pk").only("pk", "slug"):
        with report.isolated(organization, "missed due-by sweep"):
            report.done += _missed_due_of(organization.pk, now)
    return report


def _missed_due_of(organization_id: int, now) -> int:
    """One organisation's missed due-bys. Returns how many went a level up."""
    missed = 0
    overdue = list(
        Escalation.objects.filter(
            organization_id=organization_id, due_by__lt=now, due_met_at__isnull=True,
            due_missed_at__isnull=True, service_level__is_active=True,
        )
        .exclude(state=Escalation.State.RESOLVED)
        .select_related("contract__owner", "contract__vendor")
    )  # fmt: skip
    if not overdue:
        return 0
    policy = steps_by_contract(organization_id, {e.contract_id for e in overdue})
    recipients = Recipients(organization_id)
    for escalation in overdue:
        step = next(
            (s for s in policy[escalation.contract_id] if s.condition == Condition.MISSED_DUE),
            None,
        )
        if step is None:
            continue
        if services.escalation_due_missed(
            escalation=escalation, step=step, now=now, recipients=recipients
        ):
            missed += 1
    return missed
