"""
The meetings one escalation sweep calls for, planned together.

`services.review_for_escalation` is the rule for one escalation: the planned
review that already answers it, else the contract's next planned review before
its due-by (linked, the agenda drafted again), else a review of kind escalation
at the owner's latest free working hour before it. A sweep opens hundreds of
escalations at once; `reviews_for_escalations` gives the same reviews, links,
attendees and events as calling that rule for each escalation in turn (tested
equal to it), but reads what the rule reads once for all of them, writes the
rows in bulk, and drafts each review's agenda once, after its last link, with
`agenda.drafts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import JSONField, Q, Value, prefetch_related_objects

from reviews import agenda, services
from reviews.models import AgendaItem, Review, ReviewAttendee, ReviewEvent
from slagov.models import Membership

DURATION_MINUTES = 60  # as `review_plan` plans one


@dataclass
class _Meeting:
    """A planned review as the rule sees it: one already stored, or one planned here."""

    contract_id: int
    owner_id: int | None
    scheduled_at: datetime
    escalation_id: int | None
    order: tuple[int, int]  # (0, id) stored, (1, n) planned here: ties by id, as in SQL
    review: Review | None = None  # the stored row, once needed
    also_for: list[int] = field(default_factory=list)
    pk: int | None = None


def reviews_for_escalations(*, escalations: list, now: datetime) -> None:
    """
    `review_for_escalation` for each of `escalations` in turn (each with its
    contract, the contract's owner and organisation loaded), in a fixed number
    of queries. Runs in the caller's transaction.
    """
    wanted = [e for e in escalations if e.due_by is not None]
    if not wanted:
        return
    ids = [e.pk for e in wanted]
    contracts = {e.contract_id: e.contract for e in wanted}
    owners = {c.owner_id for c in contracts.values()}
    latest = max(e.due_by for e in wanted)
    # The planned reviews the rule may find: those already answering one of these
    # escalations, and the contracts' and owners' upcoming ones before the last due-by.
    stored: dict[int, _Meeting] = {}
    nearby = Q(contract_id__in=list(contracts)) | Q(contract__owner_id__in=owners - {None})
    if None in owners:
        nearby |= Q(contract__owner__isnull=True)
    answering = Q(escalation_id__in=ids) | Q(also_for__in=ids)
    for pk, contract_id, owner_id, at, escalation_id in (
        Review.objects.filter(state=Review.State.PLANNED)
        .filter(answering | (nearby & Q(scheduled_at__gte=now, scheduled_at__lte=latest)))
        .values_list("pk", "contract_id", "contract__owner_id", "scheduled_at", "escalation_id")
        .order_by()
        .distinct()
    ):  # fmt: skip
        stored[pk] = _Meeting(contract_id, owner_id, at, escalation_id, (0, pk), pk=pk)
    answers: dict[int, list[_Meeting]] = {pk: [] for pk in ids}
    for meeting in stored.values():
        if meeting.escalation_id in answers:
            answers[meeting.escalation_id].append(meeting)
    for review_id, escalation_id in Review.also_for.through.objects.filter(
        escalation_id__in=ids, review_id__in=list(stored)
    ).values_list("review_id", "escalation_id"):
        answers[escalation_id].append(stored[review_id])
    upcoming = list(stored.values())
    planned: list[tuple[_Meeting, object]] = []  # (meeting, escalation that called it)
    linked: list[_Meeting] = []
    events: list[tuple[_Meeting, str]] = []
    for escalation in wanted:
        if answers[escalation.pk]:
            continue  # already answered by a planned review
        meeting = _first_before(upcoming, escalation, now)
        if meeting is not None:
            if meeting.escalation_id is None:
                meeting.escalation_id = escalation.pk
            else:
                meeting.also_for.append(escalation.pk)
            answers[escalation.pk].append(meeting)
            if meeting not in linked:
                linked.append(meeting)
            events.append((meeting, f"Also the meeting escalation #{escalation.pk} calls for "
                                    f"(due by {services._when(escalation.due_by)}); the agenda "
                                    "is drafted again."))  # fmt: skip
            continue
        owner_id = escalation.contract.owner_id
        taken = frozenset(
            m.scheduled_at for m in upcoming
            if m.owner_id == owner_id and now <= m.scheduled_at <= escalation.due_by
        )  # fmt: skip
        when = services.escalation_meeting_time(escalation.due_by, now, taken)
        services._check(services.schedule_problems(
            scheduled_at=when, duration_minutes=DURATION_MINUTES, location="", now=now
        ))  # fmt: skip
        meeting = _Meeting(escalation.contract_id, owner_id, when, escalation.pk,
                           (1, len(planned)))  # fmt: skip
        upcoming.append(meeting)
        answers[escalation.pk].append(meeting)
        planned.append((meeting, escalation))
        kind = Review.Kind.ESCALATION.label
        events.append((meeting, f"{kind} planned for {services._when(when)} by "
                                f"{services._who(None)}."))  # fmt: skip
    _write(planned, linked, events, contracts, now)


def _first_before(upcoming: list[_Meeting], escalation, now: datetime) -> _Meeting | None:
    """The contract's next planned review from now to the due-by (by time, then id)."""
    found = [
        m for m in upcoming
        if m.contract_id == escalation.contract_id and now <= m.scheduled_at <= escalation.due_by
    ]  # fmt: skip
    return min(found, key=lambda m: (m.scheduled_at, m.order)) if found else None


def _write(planned, linked: list[_Meeting], events, contracts: dict, now: datetime) -> None:
    """The reviews planned, links, attendees and events, in bulk; each agenda drafted once."""
    if not planned and not linked:
        return
    before = {}
    for contract_id, held_at in (
        Review.objects.filter(contract_id__in=list(contracts), held_at__isnull=False)
        .order_by("contract_id", "-held_at")
        .values_list("contract_id", "held_at")
    ):
        before.setdefault(contract_id, Review(held_at=held_at))
    today = now.date()
    reviews = Review.objects.bulk_create(
        Review(
            organization_id=escalation.organization_id, contract=escalation.contract,
            kind=Review.Kind.ESCALATION, scheduled_at=meeting.scheduled_at,
            duration_minutes=DURATION_MINUTES, location="", escalation_id=escalation.pk,
            service_level_id=escalation.service_level_id,
            covers_from=agenda.covers_from(escalation.contract, before.get(escalation.contract_id),
                                           today),
        )
        for meeting, escalation in planned
    )  # fmt: skip
    for (meeting, _), review in zip(planned, reviews, strict=True):
        meeting.review, meeting.pk = review, review.pk
    if planned:
        organization_id = planned[0][1].organization_id
        vendor_members = list(
            Membership.objects.filter(
                organization_id=organization_id, role=Membership.Role.VENDOR, is_active=True,
                user__is_active=True,
            ).select_related("user")
        )  # fmt: skip
        prefetch_related_objects(
            list({r.contract_id: r.contract for r in reviews}.values()),
            "vendor_contacts", "vendor__contacts",
        )  # fmt: skip
        ReviewAttendee.objects.bulk_create(
            person for review in reviews
            for person in services._default_people(review, vendor_members)
        )  # fmt: skip
    if linked:
        rows = Review.objects.select_related("contract__organization", "contract__owner").in_bulk(
            [m.pk for m in linked]
        )
        called = []  # reviews no escalation had called: now the first one's
        for meeting in linked:
            meeting.review = rows[meeting.pk]
            if meeting.escalation_id != meeting.review.escalation_id:
                meeting.review.escalation_id = meeting.escalation_id
                called.append(meeting.review)
        Review.objects.bulk_update(called, ["escalation"])
        Review.also_for.through.objects.bulk_create(
            (
                Review.also_for.through(review_id=m.pk, escalation_id=escalation_id)
                for m in linked
                for escalation_id in m.also_for
            ),
            ignore_conflicts=True,
        )
    ReviewEvent.objects.bulk_create(
        ReviewEvent(organization_id=m.review.organization_id, review=m.review,
                    kind=ReviewEvent.Kind.PLANNED, at=now, message=message[:500])
        for m, message in events
    )  # fmt: skip
    drafted = list({m.pk: m.review for m in [m for m, _ in planned] + linked}.values())
    AgendaItem.objects.filter(review__in=[m.pk for m in linked]).exclude(
        section=AgendaItem.Section.TOPIC
    ).delete()
    items = agenda.drafts(drafted, today)
    AgendaItem.objects.bulk_create(
        AgendaItem(
            organization_id=review.organization_id, review=review, section=item.section,
            position=position, title=item.title, details=item.details,
            # A value per row, not one array of them all: escaping megabytes of JSON
            # into an array literal (Django's UNNEST insert) costs seconds a sweep.
            data=Value(item.data, output_field=JSONField()),
        )
        for review in drafted
        for position, item in enumerate(items[review.pk])
    )  # fmt: skip
    Review.objects.filter(pk__in=[r.pk for r in drafted]).update(agenda_drafted_at=now)
    for review in drafted:
        review.agenda_drafted_at = now
