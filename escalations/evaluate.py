"""
Evaluating escalation rules over status history.

"Consecutive days" are the days covered by the unbroken trailing run of
periods in a state: one red monthly reading is that month's 28-31 days; two
yellow weekly readings are 14. The newest periods still waiting for data
(before their deadline) don't break a run and don't count.

Per SLA and kind (performance, data late), the highest level whose state
condition holds is the target:
- an open escalation is raised to it, or resolves on its own once the SLA is
  back to green (data received); a level-0 early warning also resolves once
  its forecast has cleared;
- with none open, a recently resolved one (within `FLAP_PERIODS` periods) is
  reopened instead of opening a new one: the same timeline, no new e-mails
  unless the level is higher than before;
- one resolved by hand with a quiet period stays resolved while the
  condition is no worse than the level accepted, until its date; back to
  green ends the quiet period.

The breach forecast is its own signal (`ForecastEpisode`): when an SLA that is
not red is forecast to turn red within the forecast step's horizon, the
contract owner and the step's recipients are told once per episode, on the
SLA's open escalation (a level-0 one is opened when none is), even while
another escalation is open. A new episode starts only after the forecast has
cleared. Compliance-mode contracts get no early warnings.

Re-evaluating changes nothing when nothing changed. Set-based: a chunk of
SLAs costs a fixed number of queries. On PostgreSQL a chunk's facts come from
one SQL pass (`escalations.fast_facts`, tested equal to `facts_of`), and only
the SLAs the rules may act on become objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts import periods
from contracts.governance import Mode
from contracts.models import Contract, ServiceLevel
from contracts.rules import Colour
from escalations import fast_facts, services
from escalations.models import Escalation, EscalationStep, ForecastEpisode
from escalations.notify import Recipients
from escalations.policies import steps_by_contract
from metrics import forecast
from metrics.engine import deadline
from metrics.engine.health import recent_colours
from metrics.models import SlaHealth
from reviews import meetings as review_meetings
from reviews.models import VendorWarning
from reviews.vendor_warnings import warnings_note_breaches
from slagov import formatting
from slagov.jobs import JobReport
from slagov.models import Organization
from slagov.tenancy import in_tenant_scope

CHUNK = 2000
HISTORY = 12  # periods of each SLA the rules look at
FLAP_PERIODS = 3  # a relapse within this many periods of resolving reopens the same escalation
Condition = EscalationStep.Condition
Kind = Escalation.Kind
COUNTS = ("opened", "raised", "reopened", "resolved", "warned", "failed")


@dataclass(frozen=True)
class Facts:
    """What the rules look at for one SLA."""

    colour: str  # latest known colour (pending periods skipped)
    yellow_or_worse_days: int
    red_days: int
    late_days: int
    periods_to_breach: int | None
    compliance: bool
    risk: tuple[float, ...] = ()  # the chance each of the next periods is red
    latest_period: date | None = None  # the latest period with a value
    warning: str = ""  # the title of the vendor's open warning on the SLA, if any

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


def _light_slas(
    organization_id: int, ids: list[int], contracts: dict[int, Contract] | None = None
) -> list[ServiceLevel]:
    """
    SLAs with just what the rules read, their contracts loaded once each: a
    sweep over 20,000 SLAs must not build 20,000 contract objects. `contracts`:
    those already loaded (filled with the others).
    """
    contracts = {} if contracts is None else contracts
    rows = list(
        ServiceLevel.objects.filter(organization_id=organization_id, pk__in=ids).values_list(
            "pk", "period", "code", "name", "unit", "contract_id"
        )
    )
    _load_contracts(contracts, {r[5] for r in rows})
    return [
        ServiceLevel(pk=pk, organization_id=organization_id, period=period, code=code, name=name,
                     unit=unit, contract=contracts[contract_id])
        for pk, period, code, name, unit, contract_id in rows
    ]  # fmt: skip


def _load_contracts(contracts: dict[int, Contract], ids: set[int]) -> None:
    """Load the contracts of `ids` not yet in `contracts`, with what the e-mails show."""
    missing = ids - contracts.keys()
    if missing:
        for contract in Contract.objects.filter(pk__in=missing).select_related(
            "organization", "owner", "vendor"
        ):
            contracts[contract.pk] = contract


@dataclass(frozen=True, slots=True)
class Sla:
    """What the rules read of an SLA (`_plan`); the full one is loaded to act on it."""

    pk: int
    period: str
    contract_id: int


def facts_of(
    sla: ServiceLevel, recent, periods_to_breach: int | None, today: date, compliance: bool,
    risk=(), latest_period: date | None = None, warning: str = "",
) -> Facts:  # fmt: skip
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
        risk=tuple(risk or ()),
        latest_period=latest_period,
        warning=warning,
    )


def holds(step: EscalationStep, facts: Facts) -> bool:
    if facts.compliance and step.early_warning:
        return False  # compliance mode: monitoring and credits, no early warnings
    if step.condition == Condition.STATE:
        return facts.state_days(step.state) >= max(step.threshold, 1)
    if step.condition == Condition.FORECAST:
        return facts.colour in (Colour.GREEN, Colour.YELLOW) and forecast.warns(
            facts.risk, max(step.threshold, 1)
        )
    if step.condition == Condition.DATA_LATE:
        return facts.late_days >= max(step.threshold, 1)
    if step.condition == Condition.VENDOR_WARNING:
        return bool(facts.warning)
    return False


def describe(step: EscalationStep, facts: Facts, sla: ServiceLevel) -> str:
    if step.condition == Condition.STATE:
        days = facts.state_days(step.state)
        what = "red" if step.state == EscalationStep.State.RED else "yellow or worse"
        return f"{sla.name} has been {what} for {days} days ({step.threshold} or more)"
    if step.condition == Condition.FORECAST:
        return forecast_words(facts, sla, max(step.threshold, 1))
    if step.condition == Condition.VENDOR_WARNING:
        return f"The vendor warns about {sla.name}: {facts.warning}"
    day_word = "day" if facts.late_days == 1 else "days"
    return f"{sla.name}: the data is late by {facts.late_days} {day_word}"


def forecast_words(facts: Facts, sla: ServiceLevel, horizon: int) -> str:
    """`Mean time to repair is forecast to turn red in 2027-01 (62 % next month, …)`."""
    from metrics.trends import risk_words

    ahead = forecast.warning_horizon(facts.risk, horizon) or 1
    when = ""
    if facts.latest_period is not None:
        breach = periods.add_periods(facts.latest_period, sla.period, ahead)
        when = f" in {formatting.period(breach, sla.period)}"
    chances = risk_words(facts.risk[:horizon], sla.period)
    chances = chances.removeprefix("Chance of red: ").rstrip(".")
    return f"{sla.name} is forecast to turn red{when} ({chances})"


def _target(steps, facts: Facts, kinds: set[str]) -> EscalationStep | None:
    holding = [s for s in steps if s.condition in kinds and holds(s, facts)]
    return max(holding, key=lambda s: (s.level, s.order)) if holding else None


def _forecast_step(steps) -> EscalationStep | None:
    return next((s for s in steps if s.condition == Condition.FORECAST), None)


def _flap_window(kind: str) -> timedelta:
    return timedelta(days=FLAP_PERIODS * (7 if kind == periods.Period.WEEKLY else 31))


@dataclass
class Plan:
    """What the rules want done for one SLA, applied in the chunk's transaction."""

    sla: ServiceLevel | Sla  # the whole SLA once there is something to do
    facts: Facts
    actions: list[tuple] = field(default_factory=list)


@in_tenant_scope
def evaluate(
    *, organization_id: int, service_level_ids, today: date | None = None, now=None
) -> dict[str, int]:
    """Evaluate the rules for these SLAs. Returns counts of what changed."""
    today = today or timezone.localdate()
    now = now or timezone.now()
    ids = sorted({int(i) for i in service_level_ids})
    counts = dict.fromkeys(COUNTS, 0)
    # One SLA's bad data (or a contract that can't be judged) is logged and
    # counted; the other SLAs of the chunk are still evaluated.
    report = JobReport()
    recipients = None  # loaded once, when the first notification is due
    contracts: dict[int, Contract] = {}
    modes: dict[int, bool] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        open_ones = {
            (e.service_level_id, e.kind): e
            for e in Escalation.objects.filter(
                organization_id=organization_id, service_level_id__in=_among(chunk)
            ).exclude(state=Escalation.State.RESOLVED)
        }
        last_resolved = _last_resolved(organization_id, chunk, now)
        warnings = dict(
            VendorWarning.objects.filter(
                organization_id=organization_id, service_level_id__in=_among(chunk)
            )
            .exclude(state=VendorWarning.State.CLOSED)
            .order_by("raised_at")
            .values_list("service_level_id", "title")
        )
        episodes = {
            e.service_level_id: e
            for e in ForecastEpisode.objects.filter(
                organization_id=organization_id, service_level_id__in=_among(chunk),
                cleared_at__isnull=True,
            )
        }  # fmt: skip
        busy = {key[0] for key in open_ones} | {key[0] for key in last_resolved}
        busy |= warnings.keys() | episodes.keys()
        found = _chunk_facts(organization_id, chunk, today, busy=busy, contracts=contracts,
                             modes=modes, warnings=warnings, report=report)  # fmt: skip
        policy = steps_by_contract(organization_id, {s.contract_id for s, _ in found})
        plans, reds = [], []
        for sla, facts in found:
            try:
                plan = _plan(sla, facts, policy[sla.contract_id], open_ones, last_resolved,
                             episodes.get(sla.pk), now, today)  # fmt: skip
            except Exception:
                report.record_failure(organization_id, f"escalation rules of SLA {sla.pk}")
                continue
            if plan.actions:
                plans.append(plan)
            if facts.colour == Colour.RED and sla.pk in warnings:
                reds.append(sla.pk)
        if plans:
            # Only the SLAs acted on are built whole (their names go into the e-mails).
            whole = {
                s.pk: s for s in _light_slas(organization_id, [p.sla.pk for p in plans], contracts)
            }
            for plan in plans:
                plan.sla = whole[plan.sla.pk]
            if recipients is None:
                recipients = Recipients(organization_id)
            # One transaction per chunk (a savepoint per opening); the outbox is
            # emptied once it commits. The meetings the chunk's escalations call
            # for are planned together once its changes are made, so each agenda
            # is drafted once and lists every escalation the chunk left open.
            with transaction.atomic():
                meetings: list[Escalation] = []
                for plan in plans:
                    for done in _apply(plan, now=now, recipients=recipients, meetings=meetings):
                        counts[done] += 1
                review_meetings.reviews_for_escalations(escalations=meetings, now=now)
        if reds and warnings:
            # A vendor that warned ahead of this breach: kept, with how far ahead.
            warnings_note_breaches(organization_id=organization_id, service_level_ids=reds,
                                   today=today)  # fmt: skip
    counts["failed"] = report.failed
    return counts


def _among(ids: list[int]):
    """
    For `__in`: PostgreSQL gets a chunk's ids as one array, not 2,000
    parameters (binding those costs more than the query).
    """
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (fast_facts.id_array(ids),))
    return ids


def _needs_nothing(sla_id: int, colour: str, risk, busy: set[int]) -> bool:
    """
    Green, no breach forecast and nothing in flight (`busy`: open, recently
    resolved or quiet, warned about by the vendor, in a forecast episode): no
    condition can hold (each needs days in a run, days late, a risk or a
    warning) and nothing is open to raise or resolve, so the rules skip it.
    """
    return colour == Colour.GREEN and not risk and sla_id not in busy


def _compliance(contract: Contract, modes: dict[int, bool]) -> bool:
    if contract.pk not in modes:
        modes[contract.pk] = contract.effective_mode == Mode.COMPLIANCE
    return modes[contract.pk]


def _chunk_facts(
    organization_id: int, ids: list[int], today: date, *, busy: set[int],
    contracts: dict[int, Contract], modes: dict[int, bool], warnings: dict[int, str],
    report: JobReport,
) -> list[tuple[Sla, Facts]]:  # fmt: skip
    """
    The facts of the chunk's SLAs the rules may act on (see `_needs_nothing`).
    PostgreSQL: one SQL pass over the chunk (`fast_facts`), objects only for
    the SLAs that need looking at. Elsewhere: the reference, `facts_of` over
    each SLA's statuses.
    """
    found = []
    if connection.vendor == "postgresql":
        rows = [
            row for row in fast_facts.facts_rows(organization_id, ids, HISTORY, today)
            if not _needs_nothing(row[0], row[3], row[8] != fast_facts.NO_RISK, busy)
        ]  # fmt: skip
        _load_contracts(contracts, {row[2] for row in rows})
        for pk, period, contract_id, colour, yellow, red, oldest_late, ptb, risk, latest in rows:
            try:
                contract = contracts[contract_id]
                late_days = 0
                if oldest_late is not None:
                    due = deadline(oldest_late, period, contract.submission_deadline_days)
                    late_days = max((today - due).days, 0)
                facts = Facts(
                    colour=colour, yellow_or_worse_days=yellow, red_days=red,
                    late_days=late_days, periods_to_breach=ptb,
                    compliance=_compliance(contract, modes), risk=tuple(json.loads(risk)),
                    latest_period=latest, warning=warnings.get(pk, ""),
                )  # fmt: skip
            except Exception:
                report.record_failure(organization_id, f"escalation rules of SLA {pk}")
                continue
            found.append((Sla(pk, period, contract_id), facts))
        return found
    slas = _light_slas(organization_id, ids, contracts)
    recent = recent_colours(organization_id, ids, limit=HISTORY, today=today)
    healths = {
        row[0]: row[1:]
        for row in SlaHealth.objects.filter(
            organization_id=organization_id, service_level_id__in=ids
        ).values_list("service_level_id", "periods_to_breach", "risk", "latest_period")
    }
    for sla in slas:
        try:
            ptb, risk, latest = healths.get(sla.pk, (None, (), None))
            facts = facts_of(sla, recent[sla.pk], ptb, today, _compliance(sla.contract, modes),
                             risk=risk, latest_period=latest,
                             warning=warnings.get(sla.pk, ""))  # fmt: skip
        except Exception:
            report.record_failure(organization_id, f"escalation rules of SLA {sla.pk}")
            continue
        if not _needs_nothing(sla.pk, facts.colour, facts.risk, busy):
            found.append((Sla(sla.pk, sla.period, sla.contract_id), facts))
    return found


def _last_resolved(organization_id: int, ids: list[int], now) -> dict[tuple[int, str], Escalation]:
    """Per SLA and kind, the latest resolved escalation that may come back: recent, or quiet."""
    latest: dict[tuple[int, str], Escalation] = {}
    rows = (
        Escalation.objects.filter(
            organization_id=organization_id, service_level_id__in=_among(ids),
            state=Escalation.State.RESOLVED,
        )
        .filter(
            Q(resolved_at__gte=now - _flap_window(periods.Period.MONTHLY))
            | Q(quiet_level__isnull=False, quiet_ended_at__isnull=True)
        )
        .order_by("service_level_id", "kind", "-resolved_at", "-pk")
    )  # fmt: skip
    for escalation in rows:
        latest.setdefault((escalation.service_level_id, escalation.kind), escalation)
    return latest


def _plan(sla, facts: Facts, steps, open_ones, last_resolved, episode, now, today) -> Plan:
    """What the rules want changed for one SLA (pure: nothing is written here)."""
    plan = Plan(sla, facts)
    fstep = _forecast_step(steps)
    warns = fstep is not None and holds(fstep, facts)
    # With the latest period late (or not yet in) nothing new is known: a forecast
    # neither warns nor clears on a gap in the data.
    unknown = facts.colour in (Colour.LATE, Colour.NO_DATA)
    cleared = not warns and not unknown and facts.colour != Colour.RED
    for kind, conditions in (
        (Kind.PERFORMANCE, {Condition.STATE, Condition.VENDOR_WARNING}),
        (Kind.DATA, {Condition.DATA_LATE}),
    ):
        target = _target(steps, facts, conditions)
        current = open_ones.get((sla.pk, kind))
        performance = kind == Kind.PERFORMANCE
        if performance:
            back = facts.colour == Colour.GREEN
            resolution = Escalation.Resolution.BACK_TO_GREEN
        else:
            back = facts.late_days == 0
            resolution = Escalation.Resolution.DATA_RECEIVED
        if current is not None:
            if performance and facts.colour == Colour.RED and not current.reached_red:
                plan.actions.append(("reached_red", current))
            if target is not None and target.level > current.level:
                plan.actions.append(("raise", current, target))
            elif target is None and performance and current.level == 0:
                # An early warning stands for its forecast: it ends when the forecast
                # has cleared, whatever the colour.
                if cleared:
                    by_warning = current.step_id is not None and any(
                        s.pk == current.step_id and s.condition == Condition.VENDOR_WARNING
                        for s in steps
                    )
                    resolution = (
                        Escalation.Resolution.WARNING_CLOSED
                        if by_warning
                        else Escalation.Resolution.FORECAST_CLEARED
                    )
                    plan.actions.append(("resolve", current, resolution))
            elif target is None and back:
                plan.actions.append(("resolve", current, resolution))
            continue
        last = last_resolved.get((sla.pk, kind))
        if last is not None and last.quiet:
            # The risk accepted is gone: the forecast cleared (an early warning), or
            # back to green (no data late any more).
            if performance and last.quiet_level == 0:
                gone, why = cleared, "the forecast no longer shows a breach"
            elif performance:
                gone, why = back, "back to green"
            else:
                gone, why = back, "no data is late any more"
            if gone:
                plan.actions.append(("quiet_end", last, why))
            elif target is None:
                pass
            elif last.quiet_until is not None and today > last.quiet_until:
                plan.actions.append(("reopen", last, target, "quiet_over"))
            elif target.level > last.quiet_level:
                plan.actions.append(("reopen", last, target, "worse"))
            continue  # a known risk, accepted: the rules keep quiet
        if target is None:
            continue
        if last is not None and now - last.resolved_at <= _flap_window(sla.period):
            why = "higher" if target.level > last.level else "relapse"
            plan.actions.append(("reopen", last, target, why))
        else:
            plan.actions.append(("open", kind, target))
    if fstep is not None:
        if episode is None and warns:
            plan.actions.append(("warn", fstep, last_resolved.get((sla.pk, Kind.PERFORMANCE))))
        elif episode is not None:
            if facts.colour == Colour.RED and episode.breached_period is None:
                plan.actions.append(("breached", episode))
            if cleared:
                plan.actions.append(("clear", episode))
    return plan


def _apply(plan: Plan, *, now, recipients, meetings: list[Escalation]) -> list[str]:
    """
    Carry out one SLA's plan. Returns what was done, for the counts. The
    escalations that call for a meeting are added to `meetings`.
    """
    sla, facts = plan.sla, plan.facts
    done = []
    for action in plan.actions:
        verb = action[0]
        if verb == "reached_red":
            Escalation.objects.filter(pk=action[1].pk).update(reached_red=True)
        elif verb == "resolve":
            _, escalation, resolution = action
            escalation.contract = sla.contract  # loaded once per chunk, with its owner
            services.escalation_resolve_automatically(
                escalation=escalation, resolution=resolution, now=now
            )
            done.append("resolved")
        elif verb == "raise":
            _, escalation, step = action
            escalation.contract = sla.contract
            services.escalation_raise(escalation=escalation, step=step,
                                      reason=describe(step, facts, sla), now=now,
                                      recipients=recipients, meetings=meetings)  # fmt: skip
            done.append("raised")
        elif verb == "quiet_end":
            _, escalation, why = action
            services.escalation_quiet_end(escalation=escalation, why=why, now=now)
        elif verb == "reopen":
            _, escalation, step, why = action
            escalation.contract = sla.contract
            if services.escalation_reopen(
                escalation=escalation, step=step, reason=describe(step, facts, sla), why=why,
                reached_red=facts.colour == Colour.RED, now=now, recipients=recipients,
            ):  # fmt: skip
                done.append("reopened")
        elif verb == "open":
            _, kind, step = action
            try:
                with transaction.atomic():
                    services.escalation_open(
                        service_level=sla, kind=kind, step=step,
                        reason=describe(step, facts, sla),
                        reached_red=facts.colour == Colour.RED, now=now, recipients=recipients,
                        meetings=meetings,
                    )  # fmt: skip
            except IntegrityError:
                continue  # opened concurrently by another evaluation: one condition, one escalation
            done.append("opened")
        elif verb == "warn":
            _, step, quiet = action
            try:
                with transaction.atomic():
                    services.forecast_warn(
                        service_level=sla, step=step, reason=describe(step, facts, sla),
                        period=facts.latest_period, risk=list(facts.risk),
                        quiet=quiet if quiet is not None and quiet.quiet else None,
                        now=now, recipients=recipients,
                    )  # fmt: skip
            except IntegrityError:
                continue  # warned concurrently: one episode, one e-mail
            done.append("warned")
        elif verb == "breached":
            services.forecast_breached(episode=action[1], period=facts.latest_period)
        elif verb == "clear":
            services.forecast_clear(episode=action[1], now=now)
    return done


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
            report.done += missed_due_of(organization.pk, now)
    return report


def missed_due_of(organization_id: int, now) -> int:
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
