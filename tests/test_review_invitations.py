"""
Review invitations: one outbox row per attendee with an address, an e-mail
with an iCalendar file that a calendar reads back exactly, the same UID for
the review's whole life, a higher SEQUENCE when it moves, METHOD:CANCEL when it
is cancelled; and end to end through a real worker and SMTP server.
"""

from __future__ import annotations

import email
import time
from datetime import UTC, date, datetime, timedelta
from email import policy as email_policy

import icalendar
import pytest
from django.core import mail
from django.db import transaction
from django_scopes import scopes_disabled

from escalations import notify
from escalations.models import Notification
from reviews.invitations import invitations_queue
from reviews.models import Review, ReviewAttendee, Side
from tests import factories
from tests.test_deploy import _wait_for
from tests.test_escalation_workers import smtp, worker  # noqa: F401 (fixtures)

WHEN = datetime(2027, 1, 12, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def _world(slug: str = "northwind") -> Review:
    org = factories.OrganizationFactory(slug=slug, name="Northwind")
    bob = factories.UserFactory(
        username=f"bob-{slug}", email=f"bob@{slug}.example", first_name="Bob", last_name="Baker"
    )
    factories.MembershipFactory(organization=org, user=bob)
    vera = factories.UserFactory(username=f"vera-{slug}", email="vera@fleetco.example")
    vendor = factories.VendorFactory(organization=org, name="FleetCo")
    factories.MembershipFactory(organization=org, user=vera, role="vendor", vendor=vendor)
    contract = factories.ContractFactory(
        organization=org, vendor=vendor, owner=bob, reference="NW-FLT-001",
        title="Fleet maintenance",
    )  # fmt: skip
    with scopes_disabled():
        review = Review.objects.create(
            organization=org, contract=contract, scheduled_at=WHEN, duration_minutes=90,
            location="Room 4.12, Harbour House", covers_from=date(2026, 10, 1),
        )  # fmt: skip
        for name, address, side, user in (
            ("Bob Baker", bob.email, Side.CUSTOMER, bob),
            ("Vera Vance", vera.email, Side.VENDOR, vera),
            ("Guest Without Mail", "", Side.VENDOR, None),
        ):
            ReviewAttendee.objects.create(
                organization=org, review=review, name=name, email=address, side=side, user=user
            )
    return review


def _queue(review, reason="planned") -> int:
    with scopes_disabled():
        review.refresh_from_db()
    return invitations_queue(review=review, now=NOW, reason=reason)


def _send() -> int:
    return notify.send_pending()


def _ics(message) -> tuple[email.message.Message, icalendar.Calendar]:
    parsed = email.message_from_bytes(message.message().as_bytes(), policy=email_policy.default)
    (part,) = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
    return part, icalendar.Calendar.from_ical(part.get_content())


def _event(message) -> icalendar.Event:
    _, calendar = _ics(message)
    (event,) = calendar.walk("VEVENT")
    return event


def _to(address: str):
    return [m for m in mail.outbox if m.to == [address]]


@pytest.mark.django_db
def test_an_invitation_carries_a_calendar_file_with_every_field(
    settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://slagov.example"
    review = _world()
    org = review.organization
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert _queue(review) == 2  # Bob and Vera; the guest has no address
    assert len(callbacks) == 1  # one request to send, on commit
    assert sorted(m.to[0] for m in mail.outbox) == ["bob@northwind.example",
                                                    "vera@fleetco.example"]  # fmt: skip
    message = _to("vera@fleetco.example")[0]
    assert message.subject == "Joint review: NW-FLT-001 Fleet maintenance — 12 Jan 2027 10:00"
    link = f"https://slagov.example/o/northwind/reviews/{review.pk}/"
    assert link in message.body
    assert "Room 4.12, Harbour House" in message.body
    assert "Tue 12 Jan 2027, 10:00\u201311:30 (UTC)" in message.body
    assert "Covers the periods from 1 Oct 2026 on." in message.body  # the house style
    html = message.alternatives[0]
    assert html.mimetype == "text/html"
    assert link in html.content
    with scopes_disabled():
        row = Notification.objects.get(email="vera@fleetco.example")
    assert message.extra_headers["Message-ID"] == notify.message_id(row)

    part, calendar = _ics(message)
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "REQUEST"
    assert part.get_filename() == "invite.ics"
    assert str(calendar["PRODID"]) == "-//slagov//Joint reviews//EN"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"review-{org.pk}-{review.pk}@slagov.example"
    assert event.decoded("SEQUENCE") == 0
    assert event.decoded("DTSTART") == WHEN
    assert event.decoded("DTEND") == WHEN + timedelta(minutes=90)
    assert event.decoded("DTSTART").tzinfo is not None
    assert event["DTSTART"].to_ical() == b"20270112T100000Z"  # UTC
    assert event["DTEND"].to_ical() == b"20270112T113000Z"
    assert event.decoded("DTSTAMP") == row.created_at.replace(microsecond=0)
    assert str(event["SUMMARY"]) == "Joint review: NW-FLT-001 Fleet maintenance"
    assert str(event["LOCATION"]) == "Room 4.12, Harbour House"
    description = str(event["DESCRIPTION"])
    assert "Scheduled review of NW-FLT-001 Fleet maintenance with FleetCo." in description
    assert link in description
    assert str(event["URL"]) == link
    assert str(event["STATUS"]) == "CONFIRMED"
    organizer = event["ORGANIZER"]
    assert str(organizer) == "mailto:bob@northwind.example"
    assert organizer.params["CN"] == "Bob Baker"
    attendees = event["ATTENDEE"]
    assert sorted(str(a) for a in attendees) == [
        "mailto:bob@northwind.example", "mailto:vera@fleetco.example",
    ]  # fmt: skip
    for attendee in attendees:
        assert attendee.params["RSVP"] == "TRUE"
        assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
    assert {a.params["CN"] for a in attendees} == {"Bob Baker", "Vera Vance"}


@pytest.mark.django_db
def test_a_moved_review_sends_sequence_one_with_the_same_uid(settings):
    review = _world()
    _queue(review)
    _send()
    first = {m.to[0]: _event(m) for m in mail.outbox}
    mail.outbox.clear()
    with scopes_disabled():
        # What reviews.services does when a review moves.
        Review.objects.filter(pk=review.pk).update(
            scheduled_at=WHEN + timedelta(days=2, hours=4), location="Call: https://meet.example/x",
            sequence=1,
        )  # fmt: skip
    assert _queue(review, reason="moved") == 2
    _send()
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        event = _event(message)
        before = first[message.to[0]]
        assert str(event["UID"]) == str(before["UID"])
        assert event.decoded("SEQUENCE") == 1
        assert event.decoded("DTSTART") == datetime(2027, 1, 14, 14, 0, tzinfo=UTC)
        assert str(event["LOCATION"]) == "Call: https://meet.example/x"
        assert message.subject.startswith("Moved: Joint review: NW-FLT-001")
        assert "has moved" in message.body
        assert message.extra_headers["Message-ID"] != ""
    # The moved invitation is a new message, not a re-send of the first.
    with scopes_disabled():
        keys = sorted(set(Notification.objects.values_list("key", flat=True)))
    assert keys == [f"review:{review.pk}:0:REQUEST", f"review:{review.pk}:1:REQUEST"]


@pytest.mark.django_db
def test_a_cancellation_is_method_cancel_for_the_same_event():
    review = _world()
    _queue(review)
    _send()
    uid = str(_event(mail.outbox[0])["UID"])
    mail.outbox.clear()
    with scopes_disabled():
        Review.objects.filter(pk=review.pk).update(state=Review.State.CANCELLED, sequence=1)
    assert _queue(review, reason="cancelled") == 2
    _send()
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        part, calendar = _ics(message)
        assert part.get_param("method") == "CANCEL"
        assert str(calendar["METHOD"]) == "CANCEL"
        (event,) = calendar.walk("VEVENT")
        assert str(event["UID"]) == uid
        assert str(event["STATUS"]) == "CANCELLED"
        assert event.decoded("SEQUENCE") == 1
        assert message.subject.startswith("Cancelled: Joint review: NW-FLT-001")
        assert "is cancelled" in message.body


@pytest.mark.django_db
def test_queuing_the_same_invitation_twice_sends_it_once(django_capture_on_commit_callbacks):
    review = _world()
    with django_capture_on_commit_callbacks(execute=True):
        assert _queue(review) == 2
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert _queue(review) == 0  # nothing more written…
    assert callbacks == []  # …and nothing to send
    _send()
    assert len(mail.outbox) == 2
    with scopes_disabled():
        assert Notification.objects.filter(review=review).count() == 2


@pytest.mark.django_db
def test_an_attendee_without_an_address_is_skipped_but_a_duplicate_address_once():
    review = _world()
    org = review.organization
    with scopes_disabled():
        ReviewAttendee.objects.create(
            organization=org, review=review, name="Vera again", email="VERA@fleetco.example",
            side=Side.VENDOR,
        )  # fmt: skip
    assert _queue(review) == 2
    with scopes_disabled():
        rows = list(Notification.objects.filter(review=review).order_by("email"))
    assert [r.email for r in rows] == ["bob@northwind.example", "vera@fleetco.example"]
    assert all(r.kind == Notification.Kind.INVITATION for r in rows)
    assert all(r.payload["method"] == "REQUEST" and r.payload["reason"] == "planned" for r in rows)
    # The calendar lists only people it can address.
    _send()
    attendees = _event(mail.outbox[0])["ATTENDEE"]
    assert "Guest Without Mail" not in {a.params["CN"] for a in attendees}


@pytest.mark.django_db
def test_the_rows_belong_to_the_callers_transaction():
    review = _world()

    def move_that_fails():
        with transaction.atomic():
            _queue(review)
            raise RuntimeError("the move failed")

    with pytest.raises(RuntimeError):
        move_that_fails()
    with scopes_disabled():
        assert not Notification.objects.filter(review=review).exists()


@pytest.mark.django_db
def test_the_invitation_says_what_it_said_when_queued():
    review = _world()
    _queue(review)
    with scopes_disabled():
        Review.objects.filter(pk=review.pk).update(location="Somewhere else")
    _send()
    assert str(_event(mail.outbox[0])["LOCATION"]) == "Room 4.12, Harbour House"


@pytest.mark.django_db
def test_without_a_contract_owner_the_sender_organises(settings):
    settings.DEFAULT_FROM_EMAIL = "Northwind governance <governance@northwind.example>"
    review = _world()
    contract = review.contract
    with scopes_disabled():
        type(contract).objects.filter(pk=contract.pk).update(owner=None)
    _queue(review)
    _send()
    organizer = _event(mail.outbox[0])["ORGANIZER"]
    assert str(organizer) == "mailto:governance@northwind.example"
    assert organizer.params["CN"] == "Northwind governance"


@pytest.mark.django_db
def test_a_call_link_is_a_link_and_a_broken_one_is_text():
    review = _world()
    with scopes_disabled():
        Review.objects.filter(pk=review.pk).update(location="https://meet.example/abc-def")
    _queue(review)
    with scopes_disabled():
        Review.objects.filter(pk=review.pk).update(location="http://[::1 <b>room</b>", sequence=1)
    _queue(review, reason="moved")
    _send()
    first, moved = sorted(_to("vera@fleetco.example"), key=lambda m: "Moved" in m.subject)
    assert '<a href="https://meet.example/abc-def">' in first.alternatives[0].content
    html = moved.alternatives[0].content
    assert "http://[::1 &lt;b&gt;room&lt;/b&gt;" in html
    assert "<b>room" not in html
    assert str(_event(moved)["LOCATION"]) == "http://[::1 <b>room</b>"


@pytest.mark.django_db
def test_a_resend_is_the_same_message_and_the_same_calendar_file():
    review = _world()
    _queue(review)
    with scopes_disabled():
        row = Notification.objects.filter(review=review).first()
        first, again = notify.render(row), notify.render(row)
    assert first.extra_headers["Message-ID"] == again.extra_headers["Message-ID"]
    assert _ics(first)[0].get_content() == _ics(again)[0].get_content()


HOSTILE = (
    'Salle 3; étage 2, bâtiment "Nord"\nline two\r\nline three\\ back, slash; '
    "Zürich — 東京 — مرحبا 🚚 "
)


@pytest.mark.django_db
def test_hostile_location_and_title_survive_the_round_trip():
    review = _world()
    contract = review.contract
    location = (HOSTILE * 4)[:300]
    title = ('Fleet; maintenance, "north"\nrégion 🚚 ' * 6)[:200]
    with scopes_disabled():
        Review.objects.filter(pk=review.pk).update(location=location)
        type(contract).objects.filter(pk=contract.pk).update(title=title)
        ReviewAttendee.objects.filter(review=review, name="Vera Vance").update(
            name='Vera "V" Vance;\nÖz, 🚚'
        )
    assert len(location) == 300
    _queue(review)
    _send()
    message = _to("vera@fleetco.example")[0]
    assert "\n" not in message.subject
    assert "\r" not in message.subject
    # The whole message goes over the wire and back.
    raw = message.message().as_bytes()
    parsed = email.message_from_bytes(raw, policy=email_policy.default)
    # (A long non-ASCII subject is folded; a reader strips the fold's leading space.)
    assert parsed["Subject"].strip().startswith("Joint review: NW-FLT-001 Fleet; maintenance,")
    event = _event(message)
    # Commas, semicolons, backslashes, quotes, newlines: all of it (a CRLF is a line break,
    # which iCalendar writes as \n).
    assert str(event["LOCATION"]) == location.replace("\r\n", "\n")
    assert str(event["SUMMARY"]) == " ".join(f"Joint review: NW-FLT-001 {title}".split())
    names = {a.params["CN"] for a in event["ATTENDEE"]}
    assert 'Vera "V" Vance; Öz, 🚚' in names
    # Every calendar line is folded to at most 75 octets, with CRLF endings.
    ics = _ics(message)[0].get_content().encode()
    assert all(len(line) <= 75 for line in ics.split(b"\r\n"))
    assert b"\n" not in ics.replace(b"\r\n", b"")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_each_attendee_gets_one_invitation_through_a_real_worker_and_smtp(worker, smtp):  # noqa: F811
    review = _world("inv-it")
    org = review.organization
    worker()
    with transaction.atomic():
        assert _queue(review) == 2  # the worker is asked once this commits
    _wait_for(lambda: smtp.count() >= 2, 60, "the invitations")
    time.sleep(2)  # anything more would have arrived by now
    assert sorted(m["To"] for m in smtp.messages) == ["bob@inv-it.example",
                                                      "vera@fleetco.example"]  # fmt: skip
    subject = "Joint review: NW-FLT-001 Fleet maintenance — 12 Jan 2027 10:00"
    for message in smtp.messages:
        assert message["Subject"].strip() == subject  # (encoded and folded: the dash)
        (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        assert part.get_filename() == "invite.ics"
        assert part.get_param("method") == "REQUEST"
        (event,) = icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")
        assert str(event["UID"]) == f"review-{org.pk}-{review.pk}@testserver"
        assert (
            "http://testserver/o/inv-it/reviews/"
            in message.get_body(preferencelist=("plain",)).get_content()
        )
    with scopes_disabled():
        states = set(Notification.objects.filter(review=review).values_list("state", flat=True))
    assert states == {"sent"}
