"""
Joint reviews: planned from the cadence or by an escalation, the agenda drafted
from the data, topics from both sides, held with minutes and actions, signed off
by both sides on the exact pack.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django_scopes import scopes_disabled

from escalations import evaluate
from escalations.models import Escalation
from metrics import engine
from reviews import services
from reviews.models import ActionItem, AgendaItem, Review, ReviewEvent, Side
from slagov.models import Membership
from slagov.tenancy import Tenant
from tests import factories

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday


class World:
    """A proactive fleet contract with a creeping repair time, and its people."""

    def __init__(self, *, annual_value=Decimal("650000"), cadence="monthly"):
        self.org = factories.OrganizationFactory(slug="rev")
        self.bob = self.member("bob", Membership.Role.ACCOUNT_MANAGER)
        self.lena = self.member("lena", Membership.Role.LEADERSHIP)
        self.vendor = factories.VendorFactory(organization=self.org, name="Fleetfix")
        self.vera = self.member("vera", Membership.Role.VENDOR, vendor=self.vendor)
        self.contract = factories.ContractFactory(
            organization=self.org, vendor=self.vendor, owner=self.bob, reference="NW-FLT-001",
            annual_value=annual_value, start_date=date(2025, 1, 1), end_date=date(2029, 12, 31),
            review_cadence=cadence,
        )  # fmt: skip
        self.sla = factories.ServiceLevelFactory(
            organization=self.org, contract=self.contract, code="mttr",
            name="Mean time to repair", unit="hours", direction="lower",
        )  # fmt: skip
        factories.TermsFactory(organization=self.org, service_level=self.sla,
                               target=Decimal("24"), minimum=Decimal("25"))  # fmt: skip
        values = ["15.2", "15.0", "15.4", "14.9", "15.3", "15.1", "14.8", "15.6", "15.3",
                  "17.0", "19.4", "21.7", "23.9"]  # fmt: skip
        start = date(2025, 10, 1)
        for i, value in enumerate(values):
            month = date(
                start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1
            )
            factories.ReadingFactory(organization=self.org, service_level=self.sla,
                                     period_start=month, value=Decimal(value))  # fmt: skip
        engine.recompute(organization_id=self.org.pk, service_level_ids=[self.sla.pk],
                         today=NOW.date())  # fmt: skip

    def member(self, username, role, vendor=None):
        user = factories.UserFactory(username=username, first_name=username.title())
        factories.MembershipFactory(organization=self.org, user=user, role=role, vendor=vendor)
        return user

    def tenant(self, user) -> Tenant:
        with scopes_disabled():
            membership = Membership.objects.get(organization=self.org, user=user)
        return Tenant(organization=self.org, membership=membership)

    def plan(self, **kw) -> Review:
        with scopes_disabled(), time_machine.travel(NOW, tick=False):
            return services.review_plan(
                organization=self.org, actor=self.bob, contract=self.contract,
                scheduled_at=kw.pop("at", NOW + timedelta(days=2)), location="Depot", **kw,
            )  # fmt: skip


def hold(w: World, review: Review, **kw):
    with scopes_disabled():
        people = {p.side: p.pk for p in review.people.all()}
        items = list(review.items.all())
        record = services.Minutes(
            held_at=kw.pop("held_at", review.scheduled_at + timedelta(minutes=5)),
            minutes=kw.pop("minutes", {items[0].pk: "Repair times creep: parts bottleneck."}),
            attended=kw.pop("attended", set(people.values())),
            guests=kw.pop("guests", []),
            decisions=kw.pop("decisions", "Fleetfix qualifies a second parts supplier."),
            actions=kw.pop("actions", [
                {"title": "Qualify an alternative parts supplier", "owner": w.vera,
                 "due_date": date(2026, 12, 15)},
                {"title": "Share the parts lead times weekly", "owner": w.bob,
                 "due_date": date(2026, 12, 10)},
            ]),
        )  # fmt: skip
        with time_machine.travel(record.held_at + timedelta(minutes=30), tick=False):
            return services.review_hold(review=review, actor=w.bob, tenant=w.tenant(w.bob),
                                        record=record)  # fmt: skip


def test_the_planner_plans_the_next_cadence_review_once_a_week_ahead_on_a_working_day():
    w = World()
    with time_machine.travel(NOW, tick=False):
        assert services.reviews_plan_all().done == 1
        assert services.reviews_plan_all().done == 0  # however often it runs
    with scopes_disabled():
        (review,) = Review.objects.filter(contract=w.contract)
    assert review.kind == Review.Kind.SCHEDULED
    assert review.state == Review.State.PLANNED
    assert review.scheduled_at.date() == date(2026, 12, 1)  # a week on, a Tuesday, 10:00
    with scopes_disabled():
        sides = sorted(p.side for p in review.people.all())
    assert sides == [Side.CUSTOMER, Side.VENDOR]  # the owner and the vendor's user


def test_one_account_managers_cadence_reviews_follow_one_another_not_all_at_ten():
    w = World()
    for n in range(8):  # nine contracts, one owner: 10:00 … 16:00, then the next working day
        factories.ContractFactory(
            organization=w.org, vendor=w.vendor, owner=w.bob, reference=f"NW-FLT-1{n}",
            annual_value=Decimal("650000"), start_date=date(2025, 1, 1),
            end_date=date(2029, 12, 31),
        )  # fmt: skip
    other_owner = w.member("carol", Membership.Role.ACCOUNT_MANAGER)
    factories.ContractFactory(organization=w.org, vendor=w.vendor, owner=other_owner,
                              reference="NW-OTH-1", annual_value=Decimal("650000"),
                              start_date=date(2025, 1, 1), end_date=date(2029, 12, 31))  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        assert services.reviews_plan_all().done == 10
    with scopes_disabled():
        bobs = sorted(Review.objects.filter(contract__owner=w.bob)
                      .values_list("scheduled_at", flat=True))  # fmt: skip
        carols = list(Review.objects.filter(contract__owner=other_owner)
                      .values_list("scheduled_at", flat=True))  # fmt: skip
    assert len(set(bobs)) == 9  # never two at once
    assert [t.hour for t in bobs] == [10, 11, 12, 13, 14, 15, 16, 10, 11]
    assert [t.day for t in bobs] == [1] * 7 + [2] * 2
    assert carols == [datetime(2026, 12, 1, 10, 0, tzinfo=UTC)]  # her own day


def test_after_a_cadence_review_the_next_one_follows_the_cadence():
    w = World(cadence="quarterly")
    with time_machine.travel(NOW, tick=False):
        services.reviews_plan_all()
    with scopes_disabled():
        first = Review.objects.get(contract=w.contract)
    hold(w, first, held_at=first.scheduled_at, actions=[])
    with time_machine.travel(first.scheduled_at + timedelta(days=1), tick=False):
        services.reviews_plan_all()
    with scopes_disabled():
        second = Review.objects.filter(contract=w.contract, state="planned").get()
    assert second.scheduled_at.date().month == 3  # three months after 1 December


def test_compliance_contracts_have_no_cadence_reviews():
    w = World(annual_value=Decimal("20000"))
    with time_machine.travel(NOW, tick=False):
        assert services.reviews_plan_all().done == 0
    with scopes_disabled(), pytest.raises(ValidationError):
        services.review_plan(organization=w.org, actor=w.bob, contract=w.contract,
                             scheduled_at=NOW + timedelta(days=2), kind=Review.Kind.SCHEDULED,
                             now=NOW)  # fmt: skip


def test_the_agenda_is_drafted_from_the_data():
    w = World()
    review = w.plan()
    with scopes_disabled():
        items = {i.section: i for i in review.items.all()}
    assert list(items) == ["performance", "risks", "actions", "improvement", "credits",
                           "timeliness"]  # fmt: skip
    (mttr,) = items["performance"].data["slas"]
    assert mttr["code"] == "mttr"
    assert mttr["rows"][-1] == {"period": "Oct 2026", "start": "2026-10-01", "value": "23.9",
                                "colour": "green", "target": "24", "minimum": "25"}  # fmt: skip
    assert len(mttr["trend"]) == 12
    kinds = {r["kind"] for r in items["risks"].data["rows"]}
    assert {"forecast", "drifting"} <= kinds  # the creeping repair time, before the breach
    text = " ".join(r["text"] for r in items["risks"].data["rows"])
    assert "Chance of red" in text


def test_drafting_an_agenda_takes_the_same_queries_for_more_slas(django_assert_num_queries):
    """An escalation sweep drafts meetings by the hundred: no query per SLA."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reviews import agenda

    w = World()
    review = w.plan()
    with scopes_disabled():
        with CaptureQueriesContext(connection) as few:
            agenda.draft(review, today=NOW.date())
        for _ in range(5):
            sla = factories.ServiceLevelFactory(contract=w.contract)
            factories.TermsFactory(service_level=sla, organization=w.org)
        with django_assert_num_queries(len(few.captured_queries)):
            agenda.draft(review, today=NOW.date())


def test_either_side_adds_topics_and_redrafting_keeps_them():
    w = World()
    review = w.plan()
    with scopes_disabled(), time_machine.travel(NOW, tick=False):
        services.topic_add(review=review, actor=w.vera, tenant=w.tenant(w.vera),
                           title="Parts supplier lead times", details="8 weeks now")  # fmt: skip
        services.agenda_refresh(review=review, actor=w.bob, tenant=w.tenant(w.bob))
        topic = review.items.get(section=AgendaItem.Section.TOPIC)
        with pytest.raises(PermissionDenied):
            services.topic_add(review=review, actor=w.lena, tenant=w.tenant(w.lena), title="x")
    assert (topic.title, topic.side, topic.added_by) == (
        "Parts supplier lead times", Side.VENDOR, w.vera,
    )  # fmt: skip


def test_holding_records_minutes_attendance_decisions_and_actions_of_both_sides():
    w = World()
    review = w.plan()
    held = hold(w, review)
    assert held.state == Review.State.HELD
    with scopes_disabled():
        items = list(ActionItem.objects.filter(review=review).order_by("title"))
        assert review.items.exclude(minutes="").count() == 1
        kinds = list(review.events.values_list("kind", flat=True))
    assert [(i.title, i.owner_side) for i in items] == [
        ("Qualify an alternative parts supplier", Side.VENDOR),
        ("Share the parts lead times weekly", Side.CUSTOMER),
    ]
    assert kinds == ["planned", "held"]
    with scopes_disabled(), pytest.raises(ValidationError):
        services.agenda_refresh(review=review, actor=w.bob, tenant=w.tenant(w.bob))  # frozen


def test_a_review_without_both_sides_in_the_room_is_not_held():
    w = World()
    review = w.plan()
    with scopes_disabled():
        customer = review.people.get(side=Side.CUSTOMER)
    with pytest.raises(ValidationError) as error:
        hold(w, review, attended={customer.pk})
    assert "attended" in error.value.message_dict
    with scopes_disabled():
        assert Review.objects.get(pk=review.pk).state == Review.State.PLANNED  # nothing written
        assert not ActionItem.objects.filter(review=review).exists()


def test_both_sides_sign_the_same_pack_and_the_review_is_signed_off():
    from reviews.pack import review_pack_pdf

    w = World()
    review = w.plan()
    hold(w, review)
    with scopes_disabled():
        services.review_sign(review=review, actor=w.bob, tenant=w.tenant(w.bob))
        with pytest.raises(ValidationError):
            services.review_sign(review=review, actor=w.bob, tenant=w.tenant(w.bob))
        services.review_sign(review=review, actor=w.vera, tenant=w.tenant(w.vera))
        review.refresh_from_db()
        signatures = list(review.signatures.all())
        with review.pack.open("rb") as stored:
            digest = hashlib.sha256(stored.read()).hexdigest()
        assert digest == hashlib.sha256(review_pack_pdf(review)).hexdigest()
    assert review.state == Review.State.SIGNED_OFF
    assert {s.side for s in signatures} == {Side.CUSTOMER, Side.VENDOR}
    assert {s.sha256 for s in signatures} == {digest}  # the exact pack both signed


def test_an_escalations_meeting_is_a_review_and_holding_it_meets_the_due_by():
    w = World()
    factories.ReadingFactory(organization=w.org, service_level=w.sla,
                             period_start=date(2026, 11, 1), value=Decimal("24.5"))  # fmt: skip
    later = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    engine.recompute(organization_id=w.org.pk, service_level_ids=[w.sla.pk], today=later.date())
    with time_machine.travel(later, tick=False):
        evaluate.evaluate(organization_id=w.org.pk, service_level_ids=[w.sla.pk])
    with scopes_disabled():
        escalation = Escalation.objects.get(service_level=w.sla, level=1)
        review = Review.objects.get(escalation=escalation)
    assert review.kind == Review.Kind.ESCALATION
    # Due by Saturday 09:00: the meeting is the last working hour before, Friday 16:00.
    assert escalation.due_by == datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    assert review.scheduled_at == datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    hold(w, review, held_at=later + timedelta(hours=20), actions=[])
    with scopes_disabled():
        escalation.refresh_from_db()
        assert escalation.due_met_at == later + timedelta(hours=20)
        assert escalation.events.filter(kind="meeting").exists()


def test_a_contracts_escalations_share_one_meeting_and_holding_it_meets_every_due_by(client):
    w = World()
    backlog = factories.ServiceLevelFactory(
        organization=w.org, contract=w.contract, code="backlog", name="Open backlog",
        unit="count", direction="lower",
    )  # fmt: skip
    factories.TermsFactory(organization=w.org, service_level=backlog,
                           target=Decimal("100"), minimum=Decimal("120"))  # fmt: skip
    factories.ReadingFactory(organization=w.org, service_level=w.sla,
                             period_start=date(2026, 11, 1), value=Decimal("24.5"))  # fmt: skip
    for month, value in ((9, "95"), (10, "104"), (11, "115")):
        factories.ReadingFactory(
            organization=w.org, service_level=backlog, period_start=date(2026, month, 1),
            value=Decimal(value),
        )  # fmt: skip
    later = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday
    both = [w.sla.pk, backlog.pk]
    engine.recompute(organization_id=w.org.pk, service_level_ids=both, today=later.date())
    with time_machine.travel(later, tick=False):
        evaluate.evaluate(organization_id=w.org.pk, service_level_ids=both)
    with scopes_disabled():
        escalations = list(Escalation.objects.filter(contract=w.contract, level=1).order_by("pk"))
        meetings = list(Review.objects.filter(contract=w.contract, kind=Review.Kind.ESCALATION))
    assert len(escalations) == 2
    assert len(meetings) == 1  # one meeting for both, not one each
    (meeting,) = meetings
    # Both due Thursday 09:00: the last working hour before is Wednesday 16:00.
    assert meeting.scheduled_at == datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
    with scopes_disabled():
        assert {e.pk for e in meeting.escalations_answered()} == {e.pk for e in escalations}
    # Both escalation pages show the one meeting.
    client.force_login(w.bob)
    for escalation in escalations:
        page = client.get(reverse("escalations:detail", args=[w.org.slug, escalation.pk]))
        assert reverse("reviews:detail", args=[w.org.slug, meeting.pk]) in page.content.decode()
    hold(w, meeting, held_at=later + timedelta(hours=20), actions=[])
    with scopes_disabled():
        for escalation in escalations:
            escalation.refresh_from_db()
            assert escalation.due_met_at == later + timedelta(hours=20)


@pytest.mark.parametrize(
    ("now", "due_by", "meeting"),
    [
        # Tuesday 09:00 + 48 h: Thursday 08:00 is before hours, so Wednesday 16:00.
        (datetime(2026, 12, 1, 9, 0), datetime(2026, 12, 3, 9, 0), datetime(2026, 12, 2, 16, 0)),
        # Due Thursday 15:30: the hour from 14:00.
        (datetime(2026, 12, 1, 9, 0), datetime(2026, 12, 3, 15, 30), datetime(2026, 12, 3, 14, 0)),
        # Due Monday 10:00 from Friday 18:00: no working hour before it but Monday 09:00.
        (datetime(2026, 12, 4, 18, 0), datetime(2026, 12, 7, 10, 0), datetime(2026, 12, 7, 9, 0)),
        # Due in 40 minutes on a Saturday: the next quarter hour, never after the due-by.
        (
            datetime(2026, 12, 5, 11, 7),
            datetime(2026, 12, 5, 11, 47),
            datetime(2026, 12, 5, 11, 15),
        ),
        (
            datetime(2026, 12, 5, 11, 7),
            datetime(2026, 12, 5, 11, 10),
            datetime(2026, 12, 5, 11, 10),
        ),
    ],
)
def test_an_escalation_meeting_is_planned_in_working_hours_before_its_due_by(now, due_by, meeting):
    planned = services.escalation_meeting_time(due_by.replace(tzinfo=UTC), now.replace(tzinfo=UTC))
    assert planned == meeting.replace(tzinfo=UTC)


def test_an_escalation_meeting_avoids_the_owners_other_meetings():
    now, due_by = datetime(2026, 12, 1, 9, 0, tzinfo=UTC), datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    taken = frozenset({datetime(2026, 12, 2, 16, 0, tzinfo=UTC),
                       datetime(2026, 12, 2, 15, 0, tzinfo=UTC)})  # fmt: skip
    planned = services.escalation_meeting_time(due_by, now, taken)
    assert planned == datetime(2026, 12, 2, 14, 0, tzinfo=UTC)


def test_moving_a_review_bumps_its_sequence_and_leaves_an_event():
    w = World()
    review = w.plan()
    with scopes_disabled(), time_machine.travel(NOW, tick=False):
        services.review_move(review=review, actor=w.bob, tenant=w.tenant(w.bob),
                             scheduled_at=NOW + timedelta(days=3), duration_minutes=90,
                             location="https://meet.example/abc")  # fmt: skip
        review.refresh_from_db()
        moved = review.events.get(kind=ReviewEvent.Kind.MOVED)
    assert (review.sequence, review.duration_minutes) == (1, 90)
    assert "Moved to 27 Nov 2026 09:00 at https://meet.example/abc" in moved.message


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("scheduled_at", datetime(2020, 1, 1, tzinfo=UTC), "from now on"),
        ("scheduled_at", datetime(2031, 1, 1, tzinfo=UTC), "two years ahead"),
        ("duration_minutes", 5, "From 15 to 480 minutes"),
        ("duration_minutes", 100000, "From 15 to 480 minutes"),
    ],
)
def test_a_review_is_planned_within_sensible_bounds(field, value, message):
    w = World()
    kwargs = {"scheduled_at": NOW + timedelta(days=1), "duration_minutes": 60, field: value}
    with scopes_disabled(), pytest.raises(ValidationError) as error:
        services.review_plan(organization=w.org, actor=w.bob, contract=w.contract, now=NOW,
                             **kwargs)  # fmt: skip
    assert message in error.value.message_dict[field][0]


def test_pages_plan_show_and_hold_a_review(client):
    w = World()
    client.force_login(w.bob)
    with time_machine.travel(NOW, tick=True):
        url = reverse("reviews:plan", args=[w.org.slug, w.contract.pk])
        response = client.post(url, {"scheduled_at": "2026-11-26T10:00", "duration_minutes": "60",
                                     "location": "Depot"})  # fmt: skip
        assert response.status_code == 302
        page = client.get(response["Location"])
    html = page.content.decode()
    assert "Performance since the last review" in html
    assert "Upcoming risks" in html
    assert "Add a topic" in html


def test_planning_moving_and_cancelling_invite_both_sides_through_the_outbox():
    from escalations.models import Notification

    w = World()
    review = w.plan()
    with scopes_disabled(), time_machine.travel(NOW, tick=False):
        services.review_move(review=review, actor=w.bob, tenant=w.tenant(w.bob),
                             scheduled_at=NOW + timedelta(days=3), duration_minutes=60,
                             location="Depot")  # fmt: skip
        services.review_cancel(review=review, actor=w.bob, tenant=w.tenant(w.bob),
                               reason="The vendor's manager is ill")  # fmt: skip
        rows = list(Notification.objects.filter(review=review).order_by("pk"))
    keys = sorted({r.key for r in rows})
    assert keys == [
        f"review:{review.pk}:0:REQUEST", f"review:{review.pk}:1:REQUEST",
        f"review:{review.pk}:2:CANCEL",
    ]  # fmt: skip
    assert {r.email for r in rows} == {w.bob.email, w.vera.email}


def test_the_planner_goes_on_when_one_organisation_fails(monkeypatch):
    World()
    other = factories.OrganizationFactory(slug="other")
    vendor = factories.VendorFactory(organization=other)
    factories.ContractFactory(organization=other, vendor=vendor, annual_value=Decimal("900000"),
                              start_date=date(2025, 1, 1), end_date=date(2029, 12, 31))  # fmt: skip
    original = services.review_plan_next

    def failing(*, contract, now):
        if contract.organization.slug == "rev":
            raise RuntimeError("a bad row")
        return original(contract=contract, now=now)

    monkeypatch.setattr(services, "review_plan_next", failing)
    with time_machine.travel(NOW, tick=False):
        report = services.reviews_plan_all()
    assert (report.done, report.failed) == (1, 1)
    assert "rev" in report.failures[0]


def test_the_api_plans_a_review_a_vendor_adds_a_topic_and_the_pack_needs_it_held():
    from tests.conftest import token_client

    w = World()
    bob, vera = token_client(w.org, w.bob), token_client(w.org, w.vera)
    base = f"/api/v1/o/{w.org.slug}/reviews/"
    with time_machine.travel(NOW, tick=True):
        response = bob.post(base, {"contract": w.contract.pk,
                                   "scheduled_at": (NOW + timedelta(days=2)).isoformat(),
                                   "location": "Depot"}, format="json")  # fmt: skip
        assert response.status_code == 201, response.json()
        review = response.json()
        assert [i["section"] for i in review["items"]][:2] == ["performance", "risks"]
        url = f"{base}{review['id']}/"
        assert vera.post(f"{url}topics/", {"title": "Lead times"}, format="json").status_code == 201
        assert vera.post(f"{url}move/", {"scheduled_at": NOW.isoformat()},
                         format="json").status_code == 403  # fmt: skip
        assert bob.get(f"{url}pack/").status_code == 409
        listed = vera.get(base).json()
    assert review["id"] in [r["id"] for r in listed["results"]]


def test_another_vendor_never_sees_the_review_of_a_contract_not_theirs(client):
    w = World()
    review = w.plan()
    other_vendor = factories.VendorFactory(organization=w.org, name="Other")
    olly = w.member("olly", Membership.Role.VENDOR, vendor=other_vendor)
    client.force_login(olly)
    assert client.get(reverse("reviews:detail", args=[w.org.slug, review.pk])).status_code == 404
    calendar = client.get(reverse("reviews:calendar", args=[w.org.slug])).content.decode()
    assert "NW-FLT-001" not in calendar


def test_calendar_and_review_page_queries_do_not_grow_with_reviews_or_slas(
    client, django_assert_num_queries
):
    w = World()
    for day in range(1, 4):
        w.plan(at=NOW + timedelta(days=day))
    review = w.plan(at=NOW + timedelta(days=9))
    client.force_login(w.bob)
    # 1 session, 2 user, 3 membership, 4 planned reviews counted, 5 a page of them with
    # their contracts and vendors, 6 past reviews counted (none: no page to read),
    # 7 switcher memberships
    with django_assert_num_queries(7):
        assert client.get(reverse("reviews:calendar", args=[w.org.slug])).status_code == 200
    # 1 session, 2 user, 3 membership, 4 the review with its contract, 5 agenda items,
    # 6 people, 7 signatures, 8 events, 9 its action items, 10 relevance answers,
    # 11 the contract's active SLAs, 12 switcher memberships
    with django_assert_num_queries(12):
        response = client.get(reverse("reviews:detail", args=[w.org.slug, review.pk]))
    assert response.status_code == 200


def test_recording_the_escalations_meeting_holds_its_planned_review():
    from escalations import services as escalation_services

    w = World()
    factories.ReadingFactory(organization=w.org, service_level=w.sla,
                             period_start=date(2026, 11, 1), value=Decimal("24.5"))  # fmt: skip
    later = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    engine.recompute(organization_id=w.org.pk, service_level_ids=[w.sla.pk], today=later.date())
    with time_machine.travel(later, tick=False):
        evaluate.evaluate(organization_id=w.org.pk, service_level_ids=[w.sla.pk])
    with scopes_disabled():
        escalation = Escalation.objects.get(service_level=w.sla, level=1)
    with scopes_disabled(), time_machine.travel(later + timedelta(hours=30), tick=False):
        escalation_services.escalation_record_meeting(
            escalation=escalation, actor=w.bob, held_at=later + timedelta(hours=29),
            attendees="Bob (Northwind)\nVera (Fleetfix)", notes="Parts",
        )  # fmt: skip
        (review,) = Review.objects.filter(escalation=escalation)
        escalation.refresh_from_db()
    assert review.state == Review.State.HELD
    assert escalation.due_met_at == later + timedelta(hours=29)


@pytest.mark.parametrize("count", [1, 5])
def test_api_review_list_and_detail_queries_do_not_grow(count, django_assert_num_queries):
    from rest_framework.test import APIClient

    w = World()
    for day in range(count):
        review = w.plan(at=NOW + timedelta(days=day + 1))
    services_topic = {"review": review, "actor": w.vera, "tenant": w.tenant(w.vera)}
    with scopes_disabled(), time_machine.travel(NOW, tick=False):
        services.topic_add(title="Parts supplier lead times", now=NOW, **services_topic)
    api = APIClient()
    api.force_authenticate(w.bob)
    # 1 membership (tenant), 2 count for pagination, 3 the reviews with their contracts
    with django_assert_num_queries(3):
        listed = api.get(reverse("api:review-list", kwargs={"org_slug": w.org.slug}))
    assert listed.json()["count"] == count
    # 1 membership, 2 the review, 3 agenda items, 4 who added them, 5 people,
    # 6 signatures, 7 events, 8 their actors
    with django_assert_num_queries(8):
        detail = api.get(
            reverse("api:review-detail", kwargs={"org_slug": w.org.slug, "pk": review.pk})
        )
    assert [i["title"] for i in detail.json()["items"]][-1] == "Parts supplier lead times"
