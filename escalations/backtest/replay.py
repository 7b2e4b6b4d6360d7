"""
Replaying a synthetic portfolio through the real pipeline, period by period.

A throwaway organisation gets one vendor, its contracts and one SLA per
series. For each day on which data arrives (two days after a period ends,
inside the five-day deadline) the clock is frozen at that day and:

1. the vendor's values for that day go in as an API submission, one per
   contract, through the upload pipeline (validate, apply, recompute the
   statuses and the health, evaluate the escalation rules: the tasks run
   in-process);
2. the scheduled jobs run for the organisation as the hourly job runs them:
   the status refresh, the escalation rules over every SLA, missed due-bys.

What each SLA showed after its period's data is kept (colour, stored
forecast, flags, whether a forecast episode was open or began), and every
early-warning notification the outbox holds is rendered as its e-mail. Only
the throwaway organisation is touched: no other tenant's statuses are
recomputed and nothing is sent.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import time_machine
from django.contrib.auth import get_user_model
from django.db import transaction
from django_scopes import scopes_disabled

from contracts import periods
from contracts.models import (
    Contract,
    ContractContact,
    ServiceLevel,
    ServiceLevelTerms,
    Vendor,
    VendorContact,
)
from contracts.selectors import active_service_level_ids
from escalations import evaluate, notify
from escalations.backtest.portfolio import Series
from escalations.models import Escalation, EscalationEvent, ForecastEpisode, Notification
from metrics.ingest.pipeline import submission_receive
from metrics.models import SlaHealth, Submission
from metrics.services import statuses_refresh
from slagov.jobs import JobReport
from slagov.models import Membership, Organization

ARRIVAL_DAYS = 2  # data arrives this many days after its period ends
PER_CONTRACT = 10  # SLAs per contract
OWNER_EMAIL = "owner@backtest.invalid"


@dataclass
class Seen:
    """What one SLA showed once one period's data was in."""

    colour: str
    periods_to_breach: int | None
    drifting: bool
    anomaly: bool
    episode_open: bool
    episode_started: bool


@dataclass
class Result:
    series: list[Series]
    seen: dict[str, list[Seen | None]] = field(default_factory=dict)  # key → per period
    emails: dict[str, list[str]] = field(default_factory=dict)  # key → early-warning subjects
    submissions: int = 0
    failures: list[str] = field(default_factory=list)
    escalations: int = 0  # opened over the replay, any level
    reopened: int = 0  # relapses that reopened one instead
    notifications: Counter = field(default_factory=Counter)  # event kind → e-mails queued


@dataclass
class _World:
    organization: Organization
    vendor: Vendor
    submitter: object
    users: list
    slas: dict[str, ServiceLevel]  # series key → SLA
    contracts: dict[str, Contract]  # series key → contract
    starts: dict[str, list[date]]  # series key → period starts


TAG = "backtest-"


def _last_closed(today: date, kind: str) -> date:
    return periods.last_closed_period(today, kind)


def _build(series: list[Series], today: date) -> _World:
    user_model = get_user_model()
    tag = secrets.token_hex(4)
    organization = Organization.objects.create(slug=f"{TAG}{tag}", name=f"Back-test {tag}")
    owner = user_model.objects.create_user(
        f"{TAG}owner-{tag}", OWNER_EMAIL, None, first_name="Owner"
    )
    submitter = user_model.objects.create_user(f"{TAG}vendor-{tag}", "", None)
    vendor = Vendor.objects.create(organization=organization, name="Synthetic Services")
    contact = VendorContact.objects.create(
        organization=organization, vendor=vendor, name="Vendor contact",
        email="vendor@backtest.invalid",
    )  # fmt: skip
    Membership.objects.create(
        organization=organization, user=owner, role=Membership.Role.ACCOUNT_MANAGER
    )
    Membership.objects.create(
        organization=organization, user=submitter, role=Membership.Role.VENDOR, vendor=vendor
    )
    world = _World(organization, vendor, submitter, [owner, submitter], {}, {}, {})
    by_kind: dict[str, list[Series]] = defaultdict(list)
    for item in series:
        by_kind[item.period].append(item)
    for kind, items in by_kind.items():
        last = _last_closed(today, kind)
        for group_start in range(0, len(items), PER_CONTRACT):
            group = items[group_start : group_start + PER_CONTRACT]
            longest = max(len(s.x) for s in group)
            first = periods.add_periods(last, kind, -(longest - 1))
            contract = Contract.objects.create(
                organization=organization, vendor=vendor,
                reference=f"BT-{kind[0].upper()}{group_start // PER_CONTRACT + 1:02d}",
                title=f"Synthetic {kind} services", category=Contract.Category.IT_OUTSOURCING,
                annual_value=Decimal("1000000"), currency="EUR", start_date=first,
                # A year past today: every period replayed lies inside the term.
                end_date=periods.add_periods(today.replace(day=1), periods.Period.MONTHLY, 12)
                - timedelta(days=1),
                owner=owner, submission_deadline_days=5,
            )  # fmt: skip
            ContractContact.objects.create(
                organization=organization, contract=contract, contact=contact
            )
            for index, item in enumerate(group):
                measure = item.measure
                sla = ServiceLevel.objects.create(
                    organization=organization, contract=contract,
                    code=f"{measure.code}-{group_start + index + 1}"[:40], name=measure.name,
                    kind=ServiceLevel.Kind.SLA, unit=measure.unit, direction=measure.direction,
                    period=kind,
                )  # fmt: skip
                ServiceLevelTerms.objects.create(
                    organization=organization, service_level=sla, effective_from=first,
                    direction=measure.direction, target=measure.target,
                    minimum=measure.minimum,
                )  # fmt: skip
                world.slas[item.key] = sla
                world.contracts[item.key] = contract
                offset = longest - len(item.x)
                world.starts[item.key] = [
                    periods.add_periods(first, kind, offset + i) for i in range(len(item.x))
                ]
    return world


def _arrivals(series: list[Series], world: _World) -> dict[date, list[tuple[Series, int]]]:
    """Day → the (series, period index) whose data arrives that day."""
    days: dict[date, list[tuple[Series, int]]] = defaultdict(list)
    for item in series:
        for index, start in enumerate(world.starts[item.key]):
            end = periods.period_end(start, item.period)
            days[end + timedelta(days=ARRIVAL_DAYS - 1)].append((item, index))
    return dict(sorted(days.items()))


def _submit(world: _World, day: date, due: list[tuple[Series, int]], result: Result) -> None:
    by_contract: dict[str, list[str]] = defaultdict(list)
    for item, index in due:
        sla = world.slas[item.key]
        start = world.starts[item.key][index]
        value = item.values[index]
        label = periods.period_label(start, item.period)
        by_contract[world.contracts[item.key].reference].append(
            f"{world.contracts[item.key].reference},{sla.code},{label},{value}"
        )
    for reference, lines in by_contract.items():
        data = ("contract,sla,period,value\n" + "\n".join(lines) + "\n").encode()
        submission = submission_receive(
            organization=world.organization, actor=world.submitter, vendor=world.vendor,
            data=data, filename=f"{reference}-{day.isoformat()}.csv",
            source=Submission.Source.API, apply_when_valid=True,
        )  # fmt: skip
        submission.refresh_from_db()
        result.submissions += 1
        if submission.state != Submission.State.APPLIED:
            result.failures.append(f"{reference} {day}: submission {submission.state}")


def _scheduled_jobs(world: _World, now: datetime) -> None:
    """The hourly job, for this organisation only."""
    report = JobReport()
    organization = world.organization
    statuses_refresh(organization=organization, report=report, today=now.date())
    evaluate.evaluate(
        organization_id=organization.pk,
        service_level_ids=active_service_level_ids(organization.pk),
        today=now.date(),
        now=now,
    )
    evaluate.missed_due_of(organization.pk, now)
    if report.failed:
        raise RuntimeError(f"status refresh failed: {report.failures}")


def _snapshot(world: _World, due: list[tuple[Series, int]], now: datetime, result: Result):
    ids = [world.slas[item.key].pk for item, _ in due]
    healths = {
        h.service_level_id: h
        for h in SlaHealth.objects.filter(organization=world.organization, service_level_id__in=ids)
    }
    open_episodes = {
        e.service_level_id: e
        for e in ForecastEpisode.objects.filter(
            organization=world.organization, service_level_id__in=ids, cleared_at__isnull=True
        )
    }
    started = set(
        ForecastEpisode.objects.filter(
            organization=world.organization, service_level_id__in=ids, started_at=now
        ).values_list("service_level_id", flat=True)
    )
    for item, index in due:
        pk = world.slas[item.key].pk
        health = healths.get(pk)
        result.seen[item.key][index] = Seen(
            colour=health.colour if health else "no_data",
            periods_to_breach=health.periods_to_breach if health else None,
            drifting=bool(health and health.drifting),
            anomaly=bool(health and health.anomaly),
            episode_open=pk in open_episodes,
            episode_started=pk in started,
        )


def _emails(world: _World, result: Result) -> None:
    """Each early-warning notification, rendered as the e-mail it is (nothing is sent)."""
    organization = world.organization
    result.escalations = Escalation.objects.filter(organization=organization).count()
    result.reopened = EscalationEvent.objects.filter(
        organization=organization, kind=EscalationEvent.Kind.REOPENED
    ).count()
    result.notifications = Counter(
        Notification.objects.filter(organization=organization).values_list("event__kind", flat=True)
    )
    key_of = {sla.pk: key for key, sla in world.slas.items()}
    for notification in Notification.objects.filter(
        organization=world.organization, event__kind=EscalationEvent.Kind.FORECAST
    ).select_related(
        "event", "escalation__service_level__health", "escalation__contract__organization",
        "escalation__contract__vendor",
    ):  # fmt: skip
        message = notify.render(notification)
        key = key_of[notification.escalation.service_level_id]
        result.emails.setdefault(key, []).append(f"{message.to[0]}: {message.subject}")


@scopes_disabled()
def replay(series: list[Series], *, today: date, keep: bool = False, progress=None) -> Result:
    """Replay the portfolio; the organisation is deleted afterwards unless `keep`."""
    from slagov.celery import app as celery_app

    result = Result(series=series, seen={s.key: [None] * len(s.x) for s in series})
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True  # the tasks run here, on this organisation only
    trace = logging.getLogger("celery.app.trace")
    level = trace.level
    trace.setLevel(logging.WARNING)  # thousands of in-process tasks: not one line each
    world = None
    try:
        with notify.outbox_held():
            with transaction.atomic():
                world = _build(series, today)
            arrivals = _arrivals(series, world)
            for count, (day, due) in enumerate(arrivals.items(), 1):
                now = datetime(day.year, day.month, day.day, 6, 0, tzinfo=UTC)
                with time_machine.travel(now, tick=False):
                    _submit(world, day, due, result)
                    _scheduled_jobs(world, now)
                    _snapshot(world, due, now, result)
                if progress:
                    progress(count, len(arrivals), day)
            _emails(world, result)
    finally:
        celery_app.conf.task_always_eager = eager
        trace.setLevel(level)
        if world is not None and not keep:
            _delete(world)
    return result


def _delete(world: _World) -> None:
    with transaction.atomic():
        for submission in Submission.objects.filter(organization=world.organization):
            submission.file.delete(save=False)
            submission.delete()
        Contract.objects.filter(organization=world.organization).delete()
        world.organization.delete()
        for user in world.users:
            user.delete()


@scopes_disabled()
def remove_leftovers() -> int:
    """
    Organisations a run killed outright left behind: named `backtest-<8 hex>`, with
    no members but the run's own two users. Returns how many were removed.
    """
    import re

    user_model = get_user_model()
    removed = 0
    for organization in Organization.objects.filter(slug__startswith=TAG):
        tag = organization.slug.removeprefix(TAG)
        if not re.fullmatch(r"[0-9a-f]{8}", tag):
            continue
        names = set(
            Membership.objects.filter(organization=organization).values_list(
                "user__username", flat=True
            )
        )
        if not names <= {f"{TAG}owner-{tag}", f"{TAG}vendor-{tag}"}:
            continue  # someone real belongs to it: not the back-test's
        users = list(user_model.objects.filter(username__in=names))
        _delete(_World(organization, None, None, users, {}, {}, {}))
        removed += 1
    return removed
