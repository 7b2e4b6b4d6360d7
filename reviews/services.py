"""
Writes for joint reviews: planned (from the cadence, by hand, or called by an
escalation), moved, cancelled, the agenda drafted, topics added, held with
minutes and actions, signed off by both sides. Every change writes its
ReviewEvent in the same transaction; invitations go through the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts import periods
from contracts.governance import Mode
from contracts.models import Contract
from contracts.selectors import mailbox, vendor_recipients
from reviews import agenda
from reviews.actions import side_of
from reviews.models import AgendaItem, Review, ReviewAttendee, ReviewEvent, ReviewSignature, Side
from slagov import formatting
from slagov.jobs import JobReport
from slagov.models import Membership, Organization

Kind = ReviewEvent.Kind
PLAN_AHEAD = timedelta(days=7)  # the first cadence review: a week from now
LATEST_AHEAD_DAYS = 731  # a review can be planned up to two years ahead
DURATION = (15, 480)  # minutes
REVIEW_HOUR = time(10, 0)
MEETING_HOURS = (9, 16)  # an escalation meeting starts on the hour, from 9:00 to 16:00


def _event(review: Review, kind: str, message: str, *, now, actor=None) -> ReviewEvent:
    return ReviewEvent.objects.create(
        organization_id=review.organization_id, review=review, kind=kind, at=now, actor=actor,
        message=message[:500],
    )  # fmt: skip


def _who(user) -> str:
    return (user.get_full_name() or user.username) if user else "the planner"


def _when(at: datetime) -> str:
    return formatting.moment(at)


def _invite(review: Review, *, now, reason: str) -> None:
    """Both sides' attendees get the invitation (an .ics file), through the outbox."""
    from reviews.invitations import invitations_queue

    invitations_queue(review=review, now=now, reason=reason)


# --- Validation ------------------------------------------------------------------------


def schedule_problems(
    *, scheduled_at: datetime | None, duration_minutes: int | None, location: str, now: datetime
) -> dict[str, str]:
    """What is wrong with a review's time and place (field → message)."""
    problems = {}
    if scheduled_at is None:
        problems["scheduled_at"] = "When does it start?"
    elif scheduled_at < now - timedelta(hours=1):
        problems["scheduled_at"] = "Plan a review from now on."
    elif scheduled_at > now + timedelta(days=LATEST_AHEAD_DAYS):
        problems["scheduled_at"] = "Plan it at most two years ahead."
    low, high = DURATION
    if duration_minutes is None or not low <= duration_minutes <= high:
        problems["duration_minutes"] = f"From {low} to {high} minutes."
    if len(location) > 300:
        problems["location"] = "At most 300 characters."
    return problems


def _check(problems: dict[str, str]) -> None:
    if problems:
        raise ValidationError(problems)


# --- Planning --------------------------------------------------------------------------


def _default_people(review: Review, vendor_members=None) -> list[ReviewAttendee]:
    """
    The contract owner, and the vendor's people for the contract (users and contacts).
    `vendor_members`: the organisation's active vendor memberships, if loaded.
    """
    contract = review.contract
    people = []
    if contract.owner is not None:
        people.append(
            ReviewAttendee(
                organization_id=review.organization_id, review=review, user=contract.owner,
                name=_who(contract.owner), email=contract.owner.email, side=Side.CUSTOMER,
            )
        )  # fmt: skip
    if vendor_members is None:
        vendor_members = list(
            Membership.objects.filter(
                organization_id=review.organization_id, role=Membership.Role.VENDOR,
                vendor_id=contract.vendor_id, is_active=True, user__is_active=True,
            ).select_related("user")
        )  # fmt: skip
    seen = {mailbox(p.email) for p in people}
    for address, user in vendor_recipients(
        contract, all_contacts_if_none=True, vendor_members=vendor_members
    ).items():
        if address in seen:
            continue
        seen.add(address)
        people.append(
            ReviewAttendee(
                organization_id=review.organization_id, review=review, user=user,
                name=_who(user) if user else address, email=address, side=Side.VENDOR,
            )
        )  # fmt: skip
    return people


def _draft(review: Review, *, now) -> None:
    """(Re)draft the agenda's data sections; topics and their minutes stay."""
    AgendaItem.objects.filter(review=review).exclude(section=AgendaItem.Section.TOPIC).delete()
    AgendaItem.objects.bulk_create(
        AgendaItem(
            organization_id=review.organization_id, review=review, section=item.section,
            position=position, title=item.title, details=item.details, data=item.data,
        )
        for position, item in enumerate(agenda.draft(review, now.date()))
    )  # fmt: skip
    Review.objects.filter(pk=review.pk).update(agenda_drafted_at=now)
    review.agenda_drafted_at = now


@transaction.atomic
def review_plan(
    *, organization: Organization, actor, contract: Contract, scheduled_at: datetime,
    duration_minutes: int = 60, location: str = "", kind: str = Review.Kind.AD_HOC,
    escalation=None, invite: bool = True, now: datetime | None = None,
) -> Review:  # fmt: skip
    """A review of the contract: invited, with its agenda drafted from the data."""
    now = now or timezone.now()
    if contract.organization_id != organization.pk:
        raise ValueError("contract of another organisation")
    if kind == Review.Kind.SCHEDULED and contract.effective_mode == Mode.COMPLIANCE:
        raise ValidationError("Compliance-mode contracts have no cadence reviews.")
    _check(schedule_problems(scheduled_at=scheduled_at, duration_minutes=duration_minutes,
                             location=location.strip(), now=now))  # fmt: skip
    before = (
        Review.objects.filter(contract=contract, held_at__isnull=False).order_by("-held_at").first()
    )
    review = Review.objects.create(
        organization=organization, contract=contract, kind=kind, scheduled_at=scheduled_at,
        duration_minutes=duration_minutes, location=location.strip(), escalation=escalation,
        service_level=escalation.service_level if escalation else None,
        covers_from=agenda.covers_from(contract, before, now.date()), created_by=actor,
    )  # fmt: skip
    ReviewAttendee.objects.bulk_create(_default_people(review))
    _draft(review, now=now)
    where = f" at {review.location}" if review.location else ""
    message = f"{review.get_kind_display()} planned for {_when(scheduled_at)}{where}"
    _event(review, Kind.PLANNED, f"{message} by {_who(actor)}.", now=now, actor=actor)
    if invite:
        _invite(review, now=now, reason="planned")
    return review


def _require_planned(review: Review) -> None:
    if review.state != Review.State.PLANNED:
        raise ValidationError(f"This review is {review.get_state_display().lower()}.")


@transaction.atomic
def review_move(
    *, review: Review, actor, tenant, scheduled_at: datetime, duration_minutes: int,
    location: str, now: datetime | None = None,
) -> Review:  # fmt: skip
    """A new time or place: everyone is invited again (a new iCalendar SEQUENCE)."""
    tenant.require_manage()
    now = now or timezone.now()
    _check(schedule_problems(scheduled_at=scheduled_at, duration_minutes=duration_minutes,
                             location=location.strip(), now=now))  # fmt: skip
    locked = Review.objects.select_for_update().get(pk=review.pk)
    _require_planned(locked)
    before = (locked.scheduled_at, locked.duration_minutes, locked.location)
    after = (scheduled_at, duration_minutes, location.strip())
    if before == after:
        return locked
    locked.scheduled_at, locked.duration_minutes, locked.location = after
    locked.sequence += 1
    locked.save(update_fields=["scheduled_at", "duration_minutes", "location", "sequence"])
    _event(locked, Kind.MOVED, f"Moved to {_when(scheduled_at)}"
           f"{f' at {locked.location}' if locked.location else ''} by {_who(actor)}.",
           now=now, actor=actor)  # fmt: skip
    _invite(locked, now=now, reason="moved")
    review.refresh_from_db()
    return locked


@transaction.atomic
def review_cancel(*, review: Review, actor, tenant, reason: str, now=None) -> None:
    tenant.require_manage()
    now = now or timezone.now()
    if not reason.strip():
        raise ValidationError({"reason": "Say why it is cancelled."})
    claimed = Review.objects.filter(pk=review.pk, state=Review.State.PLANNED).update(
        state=Review.State.CANCELLED, sequence=F("sequence") + 1
    )
    if not claimed:
        raise ValidationError("Only a planned review can be cancelled.")
    review.refresh_from_db()
    _event(review, Kind.CANCELLED, f"Cancelled by {_who(actor)}: {reason.strip()}", now=now,
           actor=actor)  # fmt: skip
    _invite(review, now=now, reason="cancelled")


@transaction.atomic
def agenda_refresh(*, review: Review, actor, tenant, now=None) -> None:
    """Draft the agenda again from today's data (until the review is held)."""
    tenant.require_manage()
    now = now or timezone.now()
    locked = Review.objects.select_for_update().get(pk=review.pk)
    _require_planned(locked)
    _draft(locked, now=now)
    _event(locked, Kind.DRAFTED, f"Agenda drafted again from the data by {_who(actor)}.",
           now=now, actor=actor)  # fmt: skip


@transaction.atomic
def topic_add(*, review: Review, actor, tenant, title: str, details: str = "", now=None):
    """Either side adds a topic before the meeting."""
    if not (tenant.can_manage or tenant.is_vendor):
        raise PermissionDenied("The account managers of both sides and vendor users add topics.")
    now = now or timezone.now()
    locked = Review.objects.select_for_update().get(pk=review.pk)
    _require_planned(locked)
    title = title.strip()
    if not title:
        raise ValidationError({"title": "What is the topic?"})
    if len(title) > 200:
        raise ValidationError({"title": "At most 200 characters."})
    position = AgendaItem.objects.filter(review=locked).count() + 100
    item = AgendaItem.objects.create(
        organization_id=locked.organization_id, review=locked, section=AgendaItem.Section.TOPIC,
        position=position, title=title, details=details.strip(), added_by=actor,
        side=side_of(tenant),
    )  # fmt: skip
    _event(locked, Kind.TOPIC, f"Topic added by {_who(actor)} ({item.get_side_display().lower()}"
           f" side): {title}", now=now, actor=actor)  # fmt: skip
    return item


# --- Holding and signing -----------------------------------------------------------------


@dataclass
class Minutes:
    """What a held review records."""

    held_at: datetime
    minutes: dict[int, str]  # agenda item id → minutes
    attended: set[int]  # ReviewAttendee ids who came
    guests: list[tuple[str, str]]  # (name, side) of people who came and weren't invited
    decisions: str
    actions: list[dict]  # title, owner (user), due_date, description


def guest_lines(text: str) -> list[tuple[str, str]]:
    """`Name (vendor)` or `Name (customer)`, one per line; the side defaults to customer."""
    guests = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        side = Side.CUSTOMER
        lowered = line.lower()
        if lowered.endswith("(vendor)"):
            side, line = Side.VENDOR, line[: -len("(vendor)")].strip()
        elif lowered.endswith("(customer)"):
            line = line[: -len("(customer)")].strip()
        if line:
            guests.append((line[:200], side))
    return guests


@transaction.atomic
def review_hold(*, review: Review, actor, tenant, record: Minutes, now=None) -> Review:
    """
    The review took place: minutes per agenda item, who attended from each side,
    decisions, and the action items it gave (either side may own one). The agenda
    is frozen with it.
    """
    from reviews.actions import action_item_create

    tenant.require_manage()
    now = now or timezone.now()
    locked = Review.objects.select_for_update().get(pk=review.pk)
    _require_planned(locked)
    problems = {}
    if record.held_at > now + timedelta(minutes=5):
        problems["held_at"] = "Record a review that has taken place."
    elif record.held_at < locked.created_at - timedelta(days=1):
        problems["held_at"] = "It can't have taken place before it was planned."
    people = list(locked.people.all())
    came = [p for p in people if p.pk in record.attended]
    sides = {p.side for p in came} | {side for _, side in record.guests}
    if sides != {Side.CUSTOMER, Side.VENDOR}:
        problems["attended"] = "A joint review has both sides in the room: tick who came."
    items = {i.pk: i for i in locked.items.all()}
    written = {k: v.strip() for k, v in record.minutes.items() if k in items and v.strip()}
    if not written and not record.decisions.strip():
        problems["decisions"] = "Write the minutes of at least one item, or the decisions."
    _check(problems)
    for item_id, text in written.items():
        AgendaItem.objects.filter(pk=item_id).update(minutes=text)
    for person in people:
        person.attended = person.pk in record.attended
    ReviewAttendee.objects.bulk_update(people, ["attended"])
    ReviewAttendee.objects.bulk_create(
        ReviewAttendee(organization_id=locked.organization_id, review=locked, name=name,
                       side=side, attended=True)
        for name, side in record.guests
    )  # fmt: skip
    names = [p.name for p in came] + [name for name, _ in record.guests]
    locked.state = Review.State.HELD
    locked.held_at = record.held_at
    locked.decisions = record.decisions.strip()
    locked.attendees = "\n".join(names)
    locked.save(update_fields=["state", "held_at", "decisions", "attendees"])
    for action in record.actions:
        action_item_create(
            organization=locked.contract.organization, actor=actor, tenant=tenant,
            contract=locked.contract, review=locked, today=timezone.localdate(record.held_at),
            **action,
        )  # fmt: skip
    _event(locked, Kind.HELD, f"Held {_when(record.held_at)} with {len(names)} people; "
           f"{len(record.actions)} action item{'' if len(record.actions) == 1 else 's'}.",
           now=now, actor=actor)  # fmt: skip
    from escalations.services import escalation_meeting_held

    for escalation in locked.escalations_answered():
        if escalation.is_open:
            escalation_meeting_held(escalation=escalation, held_at=record.held_at, people=names,
                                    actor=actor)  # fmt: skip
    return locked


def review_pack(review: Review) -> tuple[bytes, str]:
    """
    The review's pack and its SHA-256: made once the review is held and kept as it
    is, so both sides sign (and download) the same bytes whatever changes later.
    """
    from django.core.files.base import ContentFile

    from reviews.pack import pack_sha256, review_pack_pdf

    if review.held_at is None:
        raise ValidationError("The pack exists once the review is held.")
    with transaction.atomic():
        locked = Review.objects.select_for_update().get(pk=review.pk)
        if locked.pack_sha256 and locked.pack:
            with locked.pack.open("rb") as stored:
                return stored.read(), locked.pack_sha256
        pdf = review_pack_pdf(review)
        digest = pack_sha256(pdf)
        name = f"review-{locked.pk}-{digest[:12]}.pdf"
        locked.pack.save(name, ContentFile(pdf), save=False)
        locked.pack_sha256 = digest
        locked.save(update_fields=["pack", "pack_sha256"])
    return pdf, digest


@transaction.atomic
def review_sign(*, review: Review, actor, tenant, now=None) -> ReviewSignature:
    """
    One person of each side signs the pack: who, when, and the SHA-256 of the
    exact PDF signed. Both signed: the review is signed off.
    """
    now = now or timezone.now()
    side = side_of(tenant)
    if side == Side.CUSTOMER and not (
        tenant.can_manage or tenant.role == Membership.Role.LEADERSHIP
    ):
        raise PermissionDenied("Admins, account managers and leadership sign for the customer.")
    locked = Review.objects.select_for_update().get(pk=review.pk)
    if locked.state not in (Review.State.HELD, Review.State.SIGNED_OFF):
        raise ValidationError("Only a held review can be signed.")
    _, digest = review_pack(locked)
    try:
        with transaction.atomic():
            signature = ReviewSignature.objects.create(
                organization_id=locked.organization_id, review=locked, side=side, user=actor,
                name=_who(actor), signed_at=now, sha256=digest,
            )  # fmt: skip
    except IntegrityError:
        raise ValidationError(
            f"The {Side(side).label.lower()} side has already signed this review."
        ) from None
    _event(locked, Kind.SIGNED, f"Signed for the {Side(side).label.lower()} side by "
           f"{_who(actor)} (pack SHA-256 {digest[:12]}…).", now=now, actor=actor)  # fmt: skip
    if {s.side for s in locked.signatures.all()} == {Side.CUSTOMER, Side.VENDOR}:
        Review.objects.filter(pk=locked.pk).update(state=Review.State.SIGNED_OFF)
    return signature


# --- The cadence and escalations ---------------------------------------------------------


def _cadence_months(contract: Contract) -> int:
    return 3 if contract.review_cadence == Contract.Cadence.QUARTERLY else 1


def _weekday_at(day: date) -> datetime:
    while day.weekday() >= 5:  # a working day
        day += timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, REVIEW_HOUR))


def next_cadence_date(contract: Contract, last: Review | None, now: datetime) -> datetime:
    """After the last cadence review, one cadence on; never less than a week from now."""
    earliest = _weekday_at(timezone.localdate(now) + PLAN_AHEAD)
    if last is None:
        return earliest
    local = timezone.localtime(last.scheduled_at)
    month = periods.add_periods(local.date().replace(day=1), "monthly", _cadence_months(contract))
    day = min(local.day, periods.period_days(month, "monthly"))
    proposed = _weekday_at(month.replace(day=day))
    return max(proposed, earliest)


def _free_hour(contract: Contract, when: datetime) -> datetime:
    """
    The first hour from `when` at which the contract's owner has no other planned
    review: an account manager's cadence reviews fall on the same day, one after
    another (from 10:00 to 16:00, then the next working day).
    """
    taken = set(
        Review.objects.filter(
            contract__owner_id=contract.owner_id, state=Review.State.PLANNED,
            scheduled_at__gte=when, scheduled_at__lt=when + timedelta(days=14),
        ).values_list("scheduled_at", flat=True)
    )  # fmt: skip
    for _ in range(60):
        if when not in taken:
            return when
        local = timezone.localtime(when)
        if local.hour < MEETING_HOURS[1]:
            when += timedelta(hours=1)
        else:
            when = _weekday_at(local.date() + timedelta(days=1))
    return when


def review_plan_next(*, contract: Contract, now: datetime) -> Review | None:
    """The contract's next cadence review, planned if it has none (and it is proactive)."""
    if contract.effective_mode == Mode.COMPLIANCE:
        return None
    today = timezone.localdate(now)
    if contract.end_date < today or contract.start_date > today + timedelta(days=31):
        return None
    if Review.objects.filter(
        contract=contract, kind=Review.Kind.SCHEDULED, state=Review.State.PLANNED
    ).exists():
        return None
    last = (
        Review.objects.filter(contract=contract, kind=Review.Kind.SCHEDULED)
        .order_by("-scheduled_at")
        .first()
    )
    try:
        with transaction.atomic():
            return review_plan(
                organization=contract.organization, actor=None, contract=contract,
                scheduled_at=_free_hour(contract, next_cadence_date(contract, last, now)),
                kind=Review.Kind.SCHEDULED,
                location="", now=now,
            )  # fmt: skip
    except IntegrityError:
        return None  # planned concurrently: one planned cadence review per contract


@scopes_disabled()
def reviews_plan_all(now: datetime | None = None) -> JobReport:
    """Scheduled: every proactive contract has its next cadence review planned."""
    now = now or timezone.now()
    report = JobReport()
    for organization in Organization.objects.order_by("pk"):
        with report.isolated(organization, "review planning"):
            for contract in Contract.objects.filter(organization=organization).select_related(
                "organization", "owner", "vendor"
            ):
                if review_plan_next(contract=contract, now=now) is not None:
                    report.done += 1
    return report


def escalation_meeting_time(
    due_by: datetime, now: datetime, taken: frozenset[datetime] = frozenset()
) -> datetime:
    """
    When to meet before a due-by: the latest whole hour in working hours (a working
    day, from 9:00 to 16:00 local, so the hour ends by 17:00) an hour or more before
    it that is not `taken` (the owner's other meetings); when none is left before
    the due-by, the next quarter hour.
    """
    candidate = timezone.localtime(due_by - timedelta(hours=1)).replace(
        minute=0, second=0, microsecond=0
    )
    while candidate > now:
        working = candidate.weekday() < 5 and MEETING_HOURS[0] <= candidate.hour <= MEETING_HOURS[1]
        if working and candidate not in taken:
            return candidate
        candidate -= timedelta(hours=1)
    soon = timezone.localtime(now).replace(second=0, microsecond=0)
    soon += timedelta(minutes=-soon.minute % 15 or 15)
    return min(soon, due_by)


def review_for_escalation(*, escalation, now: datetime) -> Review | None:
    """
    The meeting an escalation calls for ("meet within 48 hours") is a review: the
    contract's next planned review before the deadline is linked (one meeting for
    all of the contract's escalations), or one of kind escalation is planned in
    working hours before it; holding it meets the due-by of each.
    """
    if escalation.due_by is None:
        return None
    existing = (
        Review.objects.filter(Q(escalation=escalation) | Q(also_for=escalation))
        .filter(state=Review.State.PLANNED)
        .first()
    )
    if existing is not None:
        return existing
    linked = (
        Review.objects.filter(
            contract_id=escalation.contract_id, state=Review.State.PLANNED,
            scheduled_at__gte=now, scheduled_at__lte=escalation.due_by,
        )
        .order_by("scheduled_at", "pk")
        .first()
    )  # fmt: skip
    if linked is not None:
        if linked.escalation_id is None:
            Review.objects.filter(pk=linked.pk).update(escalation=escalation)
        else:
            linked.also_for.add(escalation)
        _event(linked, Kind.PLANNED, f"Also the meeting escalation #{escalation.pk} calls for "
               f"(due by {_when(escalation.due_by)}); the agenda is drafted again.",
               now=now)  # fmt: skip
        _draft(linked, now=now)  # the new escalation is on the agenda
        return linked
    owners_meetings = Review.objects.filter(
        contract__owner_id=escalation.contract.owner_id, state=Review.State.PLANNED,
        scheduled_at__gte=now, scheduled_at__lte=escalation.due_by,
    ).values_list("scheduled_at", flat=True)  # fmt: skip
    when = escalation_meeting_time(escalation.due_by, now, frozenset(owners_meetings))
    return review_plan(
        organization=escalation.contract.organization, actor=None, contract=escalation.contract,
        scheduled_at=when, kind=Review.Kind.ESCALATION, escalation=escalation, invite=False,
        now=now,
    )  # fmt: skip
