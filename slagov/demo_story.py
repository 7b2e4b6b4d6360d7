"""
The demo's governance loop, played as it happened with the clock set to each
day (everything relative to today, so the demo always looks current):

- Fleetfix's creeping mean time to repair (NW-FLT-001): its early warning goes
  to Bob; at the monthly joint review its agenda lists the creep, Vera adds a
  topic on parts lead times, and the review gives two action items (Vera:
  qualify an alternative parts supplier; Bob: share the weekly lead times).
  Both are done, both sides sign the pack, and the SLA stays green.
- Bluebird's service desk (NW-ITO-001): an action item for Victor is overdue,
  and Victor raises a warning on the P1 resolution time before the numbers
  show it.
- Datastream's network (NW-NET-001) slides back into firefighting: its last
  review was held two months ago, the next one was never held, and the
  actions from it fall overdue one after another (governance health falling
  two months running).
- Every proactive contract has its next review planned.
- Lena (leadership) asked for the monthly report: the month just ended is sent
  to her once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone

from contracts import periods
from contracts.models import Contract, ServiceLevel
from escalations import evaluate
from metrics import engine
from metrics.models import Reading
from reviews import actions, services, vendor_warnings
from reviews.models import ActionItem, Review, Side
from slagov.models import Membership, Organization
from slagov.tenancy import Tenant

MONTHLY = periods.Period.MONTHLY


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def _tenant(organization: Organization, user) -> Tenant:
    return Tenant(
        organization=organization,
        membership=Membership.objects.get(organization=organization, user=user),
    )


def play(organization: Organization, today: date, later: list[float]) -> None:
    """Once: the story is there if the fleet contract has a held review."""
    fleet = Contract.objects.get(organization=organization, reference="NW-FLT-001")
    if Review.objects.filter(contract=fleet, held_at__isnull=False).exists():
        return
    users = {u.username: u for u in get_user_model().objects.filter(
        username__in=["bob", "vera", "victor"]
    )}  # fmt: skip
    bob, vera, victor = users["bob"], users["vera"], users["victor"]
    mttr = ServiceLevel.objects.get(contract=fleet, code="mttr")
    this_month = today.replace(day=1)
    review_month = periods.add_periods(this_month, MONTHLY, -len(later))
    warned = _at(review_month.replace(day=3), 6)
    # The last creeping value is in: the forecast warns Bob.
    with time_machine.travel(warned, tick=False):
        engine.recompute(organization_id=organization.pk, service_level_ids=[mttr.pk])
        evaluate.evaluate(organization_id=organization.pk, service_level_ids=[mttr.pk])
    # The monthly review, its agenda drafted from that data.
    with time_machine.travel(_at(review_month.replace(day=4), 9), tick=False):
        review = services.review_plan(
            organization=organization, actor=bob, contract=fleet, kind=Review.Kind.SCHEDULED,
            scheduled_at=_at(review_month.replace(day=8), 10), duration_minutes=60,
            location="Fleetfix depot, meeting room 2",
        )  # fmt: skip
        services.topic_add(
            review=review, actor=vera, tenant=_tenant(organization, vera),
            title="Parts supplier lead times",
            details="Our only supplier of brake and clutch parts now quotes eight weeks.",
        )  # fmt: skip
    held = _at(review_month.replace(day=8), 11, 15)
    items = {i.section: i for i in review.items.all()}
    record = services.Minutes(
        held_at=held,
        minutes={
            items["performance"].pk: "Mean time to repair rose from 15 to 23.9 hours in four "
            "months, still green but a hair from the target.",
            items["risks"].pk: "The forecast says red next month. The cause is parts: brake "
            "and clutch parts wait eight weeks at the single supplier.",
        },
        attended={p.pk for p in review.people.all()},
        guests=[("Priya Shah, Fleetfix workshop lead", Side.VENDOR)],
        decisions="Fleetfix qualifies a second parts supplier this month; Northwind shares "
        "its weekly fleet plan so that parts can be ordered ahead.",
        actions=[
            {"title": "Qualify an alternative parts supplier", "owner": vera,
             "due_date": review_month.replace(day=22),
             "description": "Brake and clutch parts, lead time under three weeks."},
            {"title": "Share the weekly fleet plan with Fleetfix", "owner": bob,
             "due_date": review_month.replace(day=15)},
        ],
    )  # fmt: skip
    with time_machine.travel(held + timedelta(minutes=30), tick=False):
        services.review_hold(review=review, actor=bob, tenant=_tenant(organization, bob),
                             record=record)  # fmt: skip
    with time_machine.travel(_at(review_month.replace(day=9), 9), tick=False):
        services.review_sign(review=review, actor=bob, tenant=_tenant(organization, bob))
        services.review_sign(review=review, actor=vera, tenant=_tenant(organization, vera))
    supplier = ActionItem.objects.get(review=review, owner=vera)
    plan = ActionItem.objects.get(review=review, owner=bob)
    with time_machine.travel(_at(review_month.replace(day=12), 16), tick=False):
        actions.action_item_transition(item=plan, actor=bob, tenant=_tenant(organization, bob),
                                       to=ActionItem.State.DONE)  # fmt: skip
        actions.action_item_transition(item=supplier, actor=vera,
                                       tenant=_tenant(organization, vera),
                                       to=ActionItem.State.IN_PROGRESS)  # fmt: skip
    with time_machine.travel(_at(review_month.replace(day=20), 14), tick=False):
        actions.action_item_comment(
            item=supplier, actor=vera, tenant=_tenant(organization, vera),
            text="Second supplier qualified: Autoparts Nord, lead time three weeks.",
        )  # fmt: skip
        actions.action_item_transition(item=supplier, actor=vera,
                                       tenant=_tenant(organization, vera),
                                       to=ActionItem.State.DONE)  # fmt: skip
    # The repair time comes back down with the second supplier.
    for back, value in enumerate(reversed(later), 1):
        start = periods.add_periods(this_month, MONTHLY, -back)
        Reading.objects.get_or_create(
            organization=organization, service_level=mttr, period_start=start,
            defaults={"value": Decimal(str(value)), "source": Reading.Source.DEMO,
                      "submitted_at": _at(periods.period_end(start, MONTHLY), 8)},
        )  # fmt: skip
    _service_desk(organization, today, bob, victor)
    _sliding_back(organization, today, bob)


def _service_desk(organization: Organization, today: date, bob, victor) -> None:
    desk = Contract.objects.get(organization=organization, reference="NW-ITO-001")
    backlog = ServiceLevel.objects.get(contract=desk, code="backlog")
    with time_machine.travel(_at(today - timedelta(days=20), 10), tick=False):
        actions.action_item_create(
            organization=organization, actor=bob, tenant=_tenant(organization, bob),
            contract=desk, service_level=backlog, owner=victor,
            title="Add two agents to the night shift",
            description="The backlog grows by night: cover it until the surge is gone.",
            due_date=today - timedelta(days=10),
        )  # fmt: skip
    p1 = ServiceLevel.objects.get(contract=desk, code="p1-res")
    next_month = periods.add_periods(today.replace(day=1), MONTHLY, 1)
    with time_machine.travel(_at(today - timedelta(days=3), 15), tick=False):
        vendor_warnings.warning_raise(
            organization=organization, actor=victor, tenant=_tenant(organization, victor),
            service_level=p1, title="Two senior P1 engineers leave at the end of the month",
            impact="P1 resolution may slow by an hour or two until their successors are "
            "trained.",
            period_from=periods.period_label(next_month, MONTHLY),
            mitigation="Two engineers from our Leeds desk cover P1 from next month; handover "
            "sessions are booked.",
        )  # fmt: skip


def _sliding_back(organization: Organization, today: date, bob) -> None:
    """
    The network contract's review 40 days before the end of the month before
    last, then a review planned for early last month that nobody held, and its
    three actions falling due at the end of each month: 95 → 55 → 50.
    """
    network = Contract.objects.get(organization=organization, reference="NW-NET-001")
    last_month_end = today.replace(day=1) - timedelta(days=1)
    before_end = last_month_end.replace(day=1) - timedelta(days=1)
    held_on = before_end - timedelta(days=40)
    held = Review.objects.create(
        organization=organization, contract=network, kind=Review.Kind.SCHEDULED,
        state=Review.State.HELD, scheduled_at=_at(held_on, 10), held_at=_at(held_on, 11),
        location="Datastream NOC", attendees="Bob Baker\nDatastream service manager",
        decisions="Datastream reports the core-router replacement plan; Northwind confirms "
        "the maintenance windows.",
    )  # fmt: skip
    missed = Review.objects.create(
        organization=organization, contract=network, kind=Review.Kind.SCHEDULED,
        scheduled_at=_at(before_end + timedelta(days=5), 10), location="Datastream NOC",
    )  # fmt: skip
    Review.objects.filter(pk__in=[held.pk, missed.pk]).update(created_at=_at(held_on, 12))
    for title, due in (
        ("Send the core-router replacement plan", before_end - timedelta(days=10)),
        ("Agree the maintenance windows for the routers", before_end),
        ("Report the root cause of the availability dip", last_month_end),
    ):
        ActionItem.objects.create(
            organization=organization, contract=network, review=held, title=title, owner=bob,
            owner_side=Side.CUSTOMER, due_date=due, created_by=bob, created_at=_at(held_on, 12),
        )  # fmt: skip


def monthly_report(org: Organization, today: date) -> int:
    """Lena opts in to the monthly report, and the month just ended is queued (once)."""
    from reviews.report_mail import monthly_report_queue
    from slagov.services import membership_preferences_save

    lena = Membership.objects.select_related("user").get(organization=org, user__username="lena")
    if not lena.monthly_report:
        membership_preferences_save(membership=lena, actor=lena.user, data={"monthly_report": True})
    # Queued as the morning's job would have (or now, before the morning comes): a
    # moment still ahead would leave it unsent until then.
    return monthly_report_queue(organization=org, now=min(_at(today, 5, 45), timezone.now()))
