"""
Writes for escalations: every change writes its timeline event, and the
notifications it causes, in the same transaction (the outbox); sending is
enqueued on commit.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from contracts.models import ServiceLevel
from escalations import notify
from escalations.models import (
    Escalation,
    EscalationEvent,
    EscalationStep,
    ForecastEpisode,
    Notification,
    Recipient,
)
from reviews.models import Review, attendee_lines
from slagov import formatting
from slagov.audit import record as audit
from slagov.models import Organization

Kind = EscalationEvent.Kind


def _event(
    escalation: Escalation, kind: str, message: str, *, now, actor=None, due_by=None
) -> EscalationEvent:
    return EscalationEvent.objects.create(
        organization_id=escalation.organization_id,
        escalation=escalation,
        kind=kind,
        at=now,
        level=escalation.level,
        actor=actor,
        message=message[:500],
        due_by=due_by,
    )


# A new step: no acknowledgement yet, the step's own due-by (or none).
_NEW_STEP = {
    "state": Escalation.State.OPEN, "acknowledged_at": None, "acknowledged_by": None,
    "acknowledged_by_email": "", "due_met_at": None, "due_missed_at": None,
}  # fmt: skip


def _due(step: EscalationStep, now: datetime) -> datetime | None:
    return now + timedelta(hours=step.due_hours) if step.due_hours else None


@transaction.atomic
def escalation_open(
    *, service_level: ServiceLevel, kind: str, step: EscalationStep, reason: str,
    reached_red: bool, now: datetime, recipients: notify.Recipients | None = None,
    meetings: list[Escalation] | None = None,
) -> Escalation:  # fmt: skip
    """
    `meetings`: where a sweep gathers the escalations that call for a meeting, to
    plan them together once its changes are made (`reviews.meetings`); without
    it, the meeting is planned here.
    """
    escalation = Escalation.objects.create(
        organization_id=service_level.organization_id,
        contract=service_level.contract,
        service_level=service_level,
        kind=kind,
        level=step.level,
        step=step,
        action=step.action,
        reason=reason[:300],
        opened_at=now,
        due_by=_due(step, now),
        reached_red=reached_red,
    )
    event = _event(
        escalation, Kind.OPENED, f"Level {step.level}: {reason}. {step.action}", now=now,
        due_by=escalation.due_by,
    )  # fmt: skip
    notify.queue(event=event, step=step, now=now, recipients=recipients)
    notify.send_after_commit()
    _meeting(escalation, now, meetings)
    return escalation


def _meeting(escalation: Escalation, now: datetime, meetings: list[Escalation] | None) -> None:
    """A step that asks both sides to meet by its due-by plans (or links) that review."""
    if escalation.due_by is not None and meetings is not None:
        meetings.append(escalation)
    elif escalation.due_by is not None:
        from reviews.services import review_for_escalation

        review_for_escalation(escalation=escalation, now=now)


@transaction.atomic
def escalation_raise(
    *, escalation: Escalation, step: EscalationStep, reason: str, now: datetime,
    recipients: notify.Recipients | None = None, meetings: list[Escalation] | None = None,
) -> Escalation:  # fmt: skip
    """
    A worse condition: the open escalation goes up to the step's level. A new
    level is a new step: the acknowledgement is cleared, the due-by is the new
    step's (none if it has none), and its recipients are told. Claimed with a
    conditional UPDATE (still open, still lower), so two evaluations running
    at once raise it — and notify — once. `meetings`: as in `escalation_open`.
    """
    previous = escalation.level
    changes = {
        "level": step.level, "step": step, "action": step.action, "reason": reason[:300],
        "due_by": _due(step, now), **_NEW_STEP,
    }  # fmt: skip
    claimed = (
        Escalation.objects.filter(pk=escalation.pk, level__lt=step.level)
        .exclude(state=Escalation.State.RESOLVED)
        .update(**changes)
    )
    if not claimed:
        return escalation
    escalation.refresh_from_db(fields=list(changes))  # keeps the loaded contract
    event = _event(
        escalation,
        Kind.RAISED,
        f"Level {previous} → {step.level}: {reason}. {step.action}",
        now=now,
        due_by=escalation.due_by,
    )
    notify.queue(event=event, step=step, now=now, recipients=recipients)
    notify.send_after_commit()
    if step.due_hours:
        _meeting(escalation, now, meetings)
    return escalation


def _ago(since: datetime, now: datetime) -> str:
    days = max((now - since).days, 0)
    if days < 14:
        return f"{days} day{'' if days == 1 else 's'}"
    weeks = round(days / 7)
    if days < 62:
        return f"{weeks} weeks"
    return f"{round(days / 30.4)} months"


@transaction.atomic
def escalation_reopen(
    *, escalation: Escalation, step: EscalationStep, reason: str, why: str, reached_red: bool,
    now: datetime, recipients: notify.Recipients | None = None,
) -> bool:  # fmt: skip
    """
    A resolved escalation comes back (`why`):
    - `relapse`: within a few periods of resolving, at a level no higher than
      before: the same timeline, nobody is e-mailed again;
    - `higher`: the same, at a higher level: a new step, its recipients told;
    - `quiet_over`: the quiet period set by hand has ended and it still holds;
    - `worse`: worse than the level accepted with the quiet period.
    Claimed with a conditional UPDATE: of two evaluations, one reopens it.
    """
    tell = why != "relapse"
    previous = escalation.level
    changes: dict = {
        "level": step.level, "step": step, "action": step.action, "reason": reason[:300],
        "resolved_at": None, "resolution": "", "resolution_note": "", "resolved_by": None,
    }  # fmt: skip
    if escalation.quiet:
        changes["quiet_ended_at"] = now
    if reached_red:
        changes["reached_red"] = True
    if tell:
        changes.update(due_by=_due(step, now), **_NEW_STEP)
    else:
        # The same step goes on: its acknowledgement stands; a due-by that
        # lapsed while it was resolved is not held against anyone.
        acknowledged = escalation.acknowledged_at is not None
        changes["state"] = Escalation.State.ACKNOWLEDGED if acknowledged else Escalation.State.OPEN
        if escalation.due_by and (escalation.due_met_at is None and escalation.due_by < now):
            changes["due_by"] = None
    claimed = Escalation.objects.filter(pk=escalation.pk, state=Escalation.State.RESOLVED).update(
        **changes
    )
    if not claimed:
        return False
    resolved_at, quiet_until, quiet_level = (
        escalation.resolved_at,
        escalation.quiet_until,
        escalation.quiet_level,
    )
    escalation.refresh_from_db(fields=list(changes))
    if why == "relapse":
        head = (
            f"Back {_ago(resolved_at, now)} after it was resolved: reopened at level "
            f"{step.level}, without new e-mails"
        )
    elif why == "higher":
        head = (
            f"Back {_ago(resolved_at, now)} after it was resolved, worse than before: "
            f"level {previous} → {step.level}"
        )
    elif why == "quiet_over":
        head = (
            f"The quiet period until {formatting.day(quiet_until)} has ended and it still holds: "
            f"reopened at level {step.level}"
        )
    else:
        head = (f"Worse than the level {quiet_level} accepted with the quiet period: "
                f"reopened at level {step.level}")  # fmt: skip
    event = _event(
        escalation, Kind.REOPENED, f"{head}. {reason}. {step.action}", now=now,
        due_by=escalation.due_by if tell else None,
    )  # fmt: skip
    if tell:
        notify.queue(event=event, step=step, now=now, recipients=recipients)
        notify.send_after_commit()
    return True


@transaction.atomic
def escalation_due_missed(
    *, escalation: Escalation, step: EscalationStep, now: datetime,
    recipients: notify.Recipients | None = None,
) -> bool:  # fmt: skip
    """
    The due-by passed unmet: one level up, once. A new level is a new step:
    the acknowledgement is cleared; the missed due-by stays on record.
    """
    claimed = (
        Escalation.objects.filter(
            pk=escalation.pk, due_by__lt=now, due_missed_at__isnull=True, due_met_at__isnull=True
        )
        .exclude(state=Escalation.State.RESOLVED)
        .update(
            due_missed_at=now, level=F("level") + 1, state=Escalation.State.OPEN,
            acknowledged_at=None, acknowledged_by=None, acknowledged_by_email="",
        )
    )  # fmt: skip
    if not claimed:
        return False
    escalation.refresh_from_db(fields=["level", "due_by", "due_missed_at", "state"])
    event = _event(
        escalation,
        Kind.DUE_MISSED,
        f"What was due by {formatting.moment(escalation.due_by)} was not done: "
        f"level {escalation.level - 1} → {escalation.level}. {step.action}",
        now=now,
    )
    notify.queue(event=event, step=step, now=now, recipients=recipients)
    notify.send_after_commit()
    return True


RESOLVED_ON_ITS_OWN = {
    Escalation.Resolution.BACK_TO_GREEN: "Resolved on its own: back to green.",
    Escalation.Resolution.FORECAST_CLEARED: (
        "Resolved on its own: the forecast no longer shows a breach."
    ),
    Escalation.Resolution.WARNING_CLOSED: "Resolved on its own: the vendor's warning is closed.",
    Escalation.Resolution.DATA_RECEIVED: "Resolved on its own: no data is late any more.",
}


@transaction.atomic
def escalation_resolve_automatically(
    *, escalation: Escalation, resolution: str, now: datetime
) -> None:
    claimed = (
        Escalation.objects.filter(pk=escalation.pk)
        .exclude(state=Escalation.State.RESOLVED)
        .update(state=Escalation.State.RESOLVED, resolved_at=now, resolution=resolution)
    )
    if claimed:
        escalation.refresh_from_db()
        _event(escalation, Kind.RESOLVED, RESOLVED_ON_ITS_OWN[resolution], now=now)


@transaction.atomic
def escalation_quiet_end(*, escalation: Escalation, why: str, now: datetime) -> bool:
    """A quiet period ends early: the risk accepted is gone (back to green)."""
    claimed = Escalation.objects.filter(
        pk=escalation.pk, quiet_level__isnull=False, quiet_ended_at__isnull=True
    ).update(quiet_ended_at=now)
    if claimed:
        escalation.refresh_from_db(fields=["quiet_ended_at"])
        _event(escalation, Kind.QUIET_ENDED, f"The quiet period ends: {why}.", now=now)
    return bool(claimed)


def _require_open(escalation: Escalation) -> None:
    if not escalation.is_open:
        raise ValidationError("This escalation is already resolved.")


@transaction.atomic
def escalation_acknowledge(
    *, escalation: Escalation, actor=None, email: str = "", now: datetime | None = None
) -> bool:
    """Someone takes it on. Returns False when it was already acknowledged or resolved."""
    now = now or timezone.now()
    claimed = Escalation.objects.filter(pk=escalation.pk, state=Escalation.State.OPEN).update(
        state=Escalation.State.ACKNOWLEDGED,
        acknowledged_at=now,
        acknowledged_by=actor,
        acknowledged_by_email=email or getattr(actor, "email", "") or "",
    )
    if not claimed:
        return False
    escalation.refresh_from_db()
    who = (actor.get_full_name() or actor.username) if actor else email
    _event(escalation, Kind.ACKNOWLEDGED, f"Acknowledged by {who}.", now=now, actor=actor)
    return True


QUIET_MAX_DAYS = 366


def quiet_until_problem(quiet_until: date | None, today: date) -> str | None:
    """A quiet period's date: from today to a year ahead (none: until it gets worse)."""
    if quiet_until is None:
        return None
    if quiet_until < today:
        return "Choose a day from today on (or none: quiet until it gets worse)."
    if quiet_until > today + timedelta(days=QUIET_MAX_DAYS):
        return "A quiet period lasts at most a year: choose an earlier day."
    return None


@transaction.atomic
def escalation_resolve(
    *, escalation: Escalation, actor, note: str, tenant, quiet_until: date | None = None
) -> None:
    """
    Resolved by hand, with a reason (admins and account managers): a known
    risk accepted. The rules keep quiet while the condition is no worse than
    now, until `quiet_until` (none: until it gets worse or is back to green).
    """
    tenant.require_manage()
    _require_open(escalation)
    if not note.strip():
        raise ValidationError({"note": "Say how it was resolved."})
    now = timezone.now()
    if problem := quiet_until_problem(quiet_until, timezone.localdate()):
        raise ValidationError({"quiet_until": problem})
    # Claimed like an acknowledgement: of two submits at once, only the first resolves.
    claimed = (
        Escalation.objects.filter(pk=escalation.pk)
        .exclude(state=Escalation.State.RESOLVED)
        .update(
            state=Escalation.State.RESOLVED, resolved_at=now, resolved_by=actor,
            resolution=Escalation.Resolution.BY_HAND, resolution_note=note.strip(),
            quiet_level=F("level"), quiet_until=quiet_until, quiet_ended_at=None,
        )
    )  # fmt: skip
    escalation.refresh_from_db()
    if not claimed:
        raise ValidationError("This escalation is already resolved.")
    if quiet_until:
        quiet = f"Quiet until {formatting.day(quiet_until)} unless it gets worse."
    else:
        quiet = "Quiet until it gets worse or is back to green."
    _event(escalation, Kind.RESOLVED, f"Resolved by hand: {note.strip()} {quiet}", now=now,
           actor=actor)  # fmt: skip


@transaction.atomic
def escalation_record_meeting(
    *, escalation: Escalation, actor, held_at: datetime, attendees: str, notes: str = "",
    tenant=None,
) -> Review:  # fmt: skip
    """The meeting the escalation asked for, recorded as a review: in time, it meets the due-by."""
    if tenant is not None and not (tenant.can_manage or tenant.is_vendor):
        raise PermissionDenied("The account managers of both sides record their meetings.")
    _require_open(escalation)
    now = timezone.now()
    if held_at > now + timedelta(minutes=5):
        raise ValidationError({"held_at": "Record a meeting that has taken place."})
    if held_at < escalation.opened_at - timedelta(minutes=5):
        raise ValidationError(
            {"held_at": "The meeting must be after the escalation opened "
                        f"({formatting.moment(escalation.opened_at)})."}
        )  # fmt: skip
    people = attendee_lines(attendees)
    if len(people) < 2:
        raise ValidationError({"attendees": "List who took part from both sides (one per line)."})
    # The meeting the escalation called for is its review: hold the one planned for it,
    # else record it as held.
    review = (
        Review.objects.filter(Q(escalation=escalation) | Q(also_for=escalation))
        .filter(state=Review.State.PLANNED)
        .order_by("scheduled_at", "pk")
        .first()
    )
    if review is None:
        review = Review(
            organization_id=escalation.organization_id, contract_id=escalation.contract_id,
            service_level_id=escalation.service_level_id, escalation=escalation,
            kind=Review.Kind.ESCALATION, scheduled_at=held_at, created_by=actor,
        )  # fmt: skip
    review.state = Review.State.HELD
    review.held_at = held_at
    review.attendees = "\n".join(people)
    review.notes = notes
    review.save()
    for answered in review.escalations_answered():  # one meeting for all it was planned for
        if answered.is_open:
            escalation_meeting_held(escalation=answered, held_at=held_at, people=people,
                                    actor=actor)  # fmt: skip
    return review


def escalation_meeting_held(*, escalation: Escalation, held_at: datetime, people: list[str],
                            actor) -> None:  # fmt: skip
    """The meeting the escalation called for took place: in time, it meets the due-by."""
    now = timezone.now()
    in_time = escalation.due_by is None or held_at <= escalation.due_by
    if escalation.due_by and in_time and escalation.due_met_at is None:
        Escalation.objects.filter(pk=escalation.pk).update(due_met_at=held_at)
        escalation.refresh_from_db()
    when = timezone.localtime(held_at)
    verdict = ""
    if escalation.due_by:
        verdict = " The due-by is met." if in_time else " After the due-by."
    _event(
        escalation,
        Kind.MEETING,
        f"Meeting held {formatting.moment(when)} with {len(people)} people: "
        f"{', '.join(people)}.{verdict}",
        now=now,
        actor=actor,
    )


@transaction.atomic
def ack_by_link(*, notification, actor=None) -> bool:
    """Acknowledge from an e-mail link; the link is spent either way."""
    from escalations.models import Notification

    spent = Notification.objects.filter(pk=notification.pk, ack_used_at__isnull=True).update(
        ack_used_at=timezone.now()
    )
    if not spent:
        return False
    return escalation_acknowledge(
        escalation=notification.escalation, actor=actor, email=notification.email
    )


# --- Breach forecasts -----------------------------------------------------------------


@transaction.atomic
def forecast_warn(
    *, service_level: ServiceLevel, step: EscalationStep, reason: str, period, risk: list[float],
    quiet: Escalation | None, now: datetime, recipients: notify.Recipients | None = None,
) -> ForecastEpisode:  # fmt: skip
    """
    A new forecast episode: the owner and the step's recipients are told, on
    the SLA's open performance escalation, else on the one resolved by hand
    whose quiet period is running (it stays resolved), else on a new level-0
    early warning. A second open episode for the SLA is refused by the
    database (IntegrityError): one episode, one e-mail.
    """
    escalation = (
        Escalation.objects.filter(
            organization_id=service_level.organization_id, service_level=service_level,
            kind=Escalation.Kind.PERFORMANCE,
        )
        .exclude(state=Escalation.State.RESOLVED)
        .first()
    ) or quiet  # fmt: skip
    if escalation is None:
        escalation = Escalation.objects.create(
            organization_id=service_level.organization_id, contract=service_level.contract,
            service_level=service_level, kind=Escalation.Kind.PERFORMANCE, level=step.level,
            step=step, action=step.action, reason=reason[:300], opened_at=now,
            due_by=_due(step, now),
        )  # fmt: skip
    escalation.contract = service_level.contract
    episode = ForecastEpisode.objects.create(
        organization_id=service_level.organization_id, contract=service_level.contract,
        service_level=service_level, escalation=escalation, started_at=now, period=period,
        horizon=max(step.threshold, 1), risk=risk,
    )  # fmt: skip
    tail = step.action
    if not escalation.is_open:
        tail += (
            " The escalation stays resolved: a known risk, accepted by hand until it gets worse."
        )
    event = _event(escalation, Kind.FORECAST, f"{reason}. {tail}", now=now)
    roles = list(dict.fromkeys([Recipient.OWNER, *step.recipients]))
    notify.queue(event=event, step=step, now=now, recipients=recipients, roles=roles)
    notify.send_after_commit()
    return episode


def forecast_breached(*, episode: ForecastEpisode, period) -> None:
    """The SLA turned red during the episode: it was warned ahead."""
    ForecastEpisode.objects.filter(pk=episode.pk, breached_period__isnull=True).update(
        breached_period=period
    )


@transaction.atomic
def forecast_clear(*, episode: ForecastEpisode, now: datetime) -> None:
    """The forecast no longer warns (and the SLA is not red): the episode ends."""
    claimed = ForecastEpisode.objects.filter(pk=episode.pk, cleared_at__isnull=True).update(
        cleared_at=now
    )
    if not claimed or episode.escalation_id is None:
        return
    escalation = Escalation.objects.filter(pk=episode.escalation_id).first()
    if escalation is not None and escalation.is_open:
        _event(
            escalation, Kind.FORECAST_CLEARED,
            "The forecast no longer shows a breach: a new forecast will warn again.", now=now,
        )  # fmt: skip


@transaction.atomic
def notification_send_again(
    *, organization: Organization, actor, notification: Notification
) -> bool:
    """
    An e-mail that failed goes back to the outbox, its attempts started over
    (an admin mended the address or the relay). Returns False if it had not
    failed (a second click, or another admin was first).
    """
    if notification.organization_id != organization.pk:
        raise ValueError("notification of another organisation")
    again = Notification.objects.filter(
        pk=notification.pk, state=Notification.State.FAILED
    ).update(
        state=Notification.State.PENDING, attempts=0, next_attempt_at=timezone.now(),
    )  # fmt: skip
    if again:
        audit(organization, actor, "e-mail sent again", notification,
              f"to {notification.email}; it had failed: {notification.last_error}")  # fmt: skip
        notify.send_after_commit()
    return bool(again)
