"""
Writes for escalations: every change writes its timeline event, and the
notifications it causes, in the same transaction (the outbox); sending is
enqueued on commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from contracts.models import ServiceLevel
from escalations import notify
from escalations.models import Escalation, EscalationEvent, EscalationStep
from reviews.models import Review, attendee_lines

Kind = EscalationEvent.Kind


def _event(escalation: Escalation, kind: str, message: str, *, now, actor=None) -> EscalationEvent:
    return EscalationEvent.objects.create(
        organization_id=escalation.organization_id,
        escalation=escalation,
        kind=kind,
        at=now,
        level=escalation.level,
        actor=actor,
        message=message[:500],
    )


def _due(step: EscalationStep, now: datetime) -> datetime | None:
    return now + timedelta(hours=step.due_hours) if step.due_hours else None


@transaction.atomic
def escalation_open(
    *, service_level: ServiceLevel, kind: str, step: EscalationStep, reason: str,
    reached_red: bool, now: datetime, recipients: notify.Recipients | None = None,
) -> Escalation:  # fmt: skip
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
    event = _event(escalation, Kind.OPENED, f"Level {step.level}: {reason}. {step.action}", now=now)
    notify.queue(event=event, step=step, now=now, recipients=recipients)
    notify.send_after_commit()
    return escalation


@transaction.atomic
def escalation_raise(
    *, escalation: Escalation, step: EscalationStep, reason: str, now: datetime,
    recipients: notify.Recipients | None = None,
) -> Escalation:  # fmt: skip
    """
    A worse condition: the open escalation goes up to the step's level.
    Claimed with a conditional UPDATE (still open, still lower), so two
    evaluations running at once raise it — and notify — once; nothing else
    about it (acknowledgement, reached red) is overwritten.
    """
    previous = escalation.level
    changes = {"level": step.level, "step": step, "action": step.action, "reason": reason[:300]}
    if step.due_hours:
        changes.update(due_by=_due(step, now), due_met_at=None, due_missed_at=None)
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
    )
    notify.queue(event=event, step=step, now=now, recipients=recipients)
    notify.send_after_commit()
    return escalation


@transaction.atomic
def escalation_due_missed(
    *, escalation: Escalation, step: EscalationStep, now: datetime,
    recipients: notify.Recipients | None = None,
) -> bool:  # fmt: skip
    """The due-by passed unmet: one level up, once."""
    claimed = (
        Escalation.objects.filter(
            pk=escalation.pk, due_by__lt=now, due_missed_at__isnull=True, due_met_at__isnull=True
        )
        .exclude(state=Escalation.State.RESOLVED)
        .update(due_missed_at=now, level=F("level") + 1)
    )
    if not claimed:
        return False
    escalation.refresh_from_db(fields=["level", "due_by", "due_missed_at"])
    event = _event(
        escalation,
        Kind.DUE_MISSED,
        f"Due by {timezone.localtime(escalation.due_by):%d %b %H:%M} and not met: "
        f"level {escalation.level - 1} → {escalation.level}. {step.action}",
        now=now,
    )
    notify.queue(event=event, step=step, now=now, recipients=recipients)
    notify.send_after_commit()
    return True


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
        label = Escalation.Resolution(resolution).label
        _event(escalation, Kind.RESOLVED, f"Resolved on its own: {label.lower()}.", now=now)


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


@transaction.atomic
def escalation_resolve(*, escalation: Escalation, actor, note: str, tenant) -> None:
    """Resolved by hand, with a note (admins and account managers)."""
    tenant.require_manage()
    _require_open(escalation)
    if not note.strip():
        raise ValidationError({"note": "Say how it was resolved."})
    now = timezone.now()
    # Claimed like an acknowledgement: of two submits at once, only the first resolves.
    claimed = (
        Escalation.objects.filter(pk=escalation.pk)
        .exclude(state=Escalation.State.RESOLVED)
        .update(
            state=Escalation.State.RESOLVED, resolved_at=now, resolved_by=actor,
            resolution=Escalation.Resolution.BY_HAND, resolution_note=note.strip(),
        )
    )  # fmt: skip
    escalation.refresh_from_db()
    if not claimed:
        raise ValidationError("This escalation is already resolved.")
    _event(escalation, Kind.RESOLVED, f"Resolved by hand: {note.strip()}", now=now, actor=actor)


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
                        f"({timezone.localtime(escalation.opened_at):%d %b %Y %H:%M})."}
        )  # fmt: skip
    people = attendee_lines(attendees)
    if len(people) < 2:
        raise ValidationError({"attendees": "List who took part from both sides (one per line)."})
    review = Review.objects.create(
        organization_id=escalation.organization_id,
        contract_id=escalation.contract_id,
        service_level_id=escalation.service_level_id,
        escalation=escalation,
        kind=Review.Kind.ESCALATION,
        held_at=held_at,
        attendees="\n".join(people),
        notes=notes,
        created_by=actor,
    )
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
        f"Meeting held {when:%d %b %H:%M} with {len(people)} people: {', '.join(people)}.{verdict}",
        now=now,
        actor=actor,
    )
    return review


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
