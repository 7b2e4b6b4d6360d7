"""
Review invitations (with an .ics calendar file) as the outbox sends them.

The message says what the outbox row's payload says (the review as it was when
the invitation was queued). The calendar file is an iTIP message (RFC 5546):
one VEVENT whose UID stays the same for the review's whole life, so a calendar
updates the event it already has when the review moves (a higher SEQUENCE) and
removes it when it is cancelled (METHOD:CANCEL).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.mime.text import MIMEText
from email.utils import parseaddr
from urllib.parse import urlsplit

import icalendar
from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import dateformat, timezone

from escalations import notify
from escalations.models import Notification
from reviews.invitations import CANCEL
from reviews.models import Review, Side
from slagov import formatting
from slagov.emails import brand

PRODID = "-//slagov//Joint reviews//EN"
KIND_WORDS = dict(Review.Kind.choices)
SIDE_WORDS = dict(Side.choices)


def one_line(text: str) -> str:
    """Never a line break where one would split a header or a calendar line's meaning."""
    return " ".join(str(text).split())


def event_uid(review: Review) -> str:
    """The same for every invitation of one review: calendars update, never duplicate."""
    host = urlsplit(settings.SITE_URL).hostname or "slagov.invalid"
    return f"review-{review.organization_id}-{review.pk}@{host}"


def review_url(review: Review) -> str:
    org_slug = review.contract.organization.slug
    return settings.SITE_URL + reverse("reviews:detail", args=[org_slug, review.pk])


def _is_link(text: str) -> bool:
    """A location that is a web address (a call) is a link in the HTML e-mail."""
    try:
        parts = urlsplit(text.strip())
    except ValueError:  # e.g. "http://[" — shown as the text it is
        return False
    return parts.scheme in {"http", "https"} and bool(parts.netloc) and " " not in text.strip()


def _starts(payload: dict) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(payload["scheduled_at"]).astimezone(UTC)
    return start, start + timedelta(minutes=int(payload.get("duration") or 60))


def _title(payload: dict) -> str:
    return one_line(f"Joint review: {payload['contract_reference']} {payload['contract_title']}")


def subject_for(payload: dict) -> str:
    start, _ = _starts(payload)
    when = dateformat.format(timezone.localtime(start), "j M Y H:i")
    if payload.get("method") == CANCEL:
        prefix = "Cancelled: "
    else:
        prefix = "Moved: " if payload.get("reason") == "moved" else ""
    return one_line(f"{prefix}{_title(payload)} — {when}")


def _organizer(payload: dict) -> tuple[str, str]:
    """(name, address): the contract owner when there is one, else the sender."""
    owner = payload.get("organizer")
    if owner and owner.get("email"):
        return owner.get("name") or owner["email"], owner["email"]
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return name or "slagov", address or "slagov@localhost"


def _address(name: str, email: str, **params: str) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{email}")
    address.params["CN"] = one_line(name) or email
    for key, value in params.items():
        address.params[key.replace("_", "-").upper()] = value
    return address


def _covers(payload: dict) -> str:
    """`1 Sep 2026`: the first day the review covers, in the house style (stored as ISO)."""
    value = payload.get("covers_from")
    return formatting.day(date.fromisoformat(value)) if value else ""


def _description(payload: dict, link: str) -> str:
    lines = [
        f"{KIND_WORDS.get(payload.get('kind'), 'Joint review')} of "
        f"{payload['contract_reference']} {payload['contract_title']} "
        f"with {payload.get('vendor', '')}.",
    ]
    if payload.get("service_level"):
        lines.append(f"About: {payload['service_level']}")
    if covers := _covers(payload):
        lines.append(f"Covers the periods from {covers} on.")
    if payload.get("agenda"):
        lines.append("Agenda:")
        lines += [f"- {title}" for title in payload["agenda"]]
        if payload.get("agenda_more"):
            lines.append("- …")
    lines.append(f"The review in slagov: {link}")
    return "\n".join(lines)


def invitation_ics(
    *, review: Review, payload: dict, stamp: datetime, link: str
) -> bytes:  # fmt: skip
    """The iCalendar file of one invitation (or cancellation), CRLF lines as RFC 5545 wants."""
    start, end = _starts(payload)
    method = payload["method"]
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    event = icalendar.Event()
    event.add("uid", event_uid(review))
    event.add("sequence", int(payload.get("sequence") or 0))
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", _title(payload))
    if payload.get("location"):
        event.add("location", payload["location"])
    event.add("description", _description(payload, link))
    event.add("url", link)
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    event.add("transp", "OPAQUE")
    name, address = _organizer(payload)
    event.add("organizer", _address(name, address), encode=0)
    for person in payload.get("attendees", []):
        event.add(
            "attendee",
            _address(
                person.get("name", ""), person["email"], cutype="INDIVIDUAL",
                role="REQ-PARTICIPANT", partstat="NEEDS-ACTION", rsvp="TRUE",
            ),
            encode=0,
        )  # fmt: skip
    calendar.add_component(event)
    return calendar.to_ical()


def _ics_part(ics: bytes, method: str) -> MIMEText:
    part = MIMEText(ics.decode("utf-8"), "calendar", "utf-8")
    part.set_param("method", method)
    part.add_header("Content-Disposition", "attachment", filename="invite.ics")
    return part


@notify.renderer(Notification.Kind.INVITATION)
def render_invitation(notification: Notification) -> EmailMessage:
    review = notification.review
    payload = notification.payload
    link = review_url(review)
    start, end = _starts(payload)
    context = {
        "payload": payload,
        "kind": KIND_WORDS.get(payload.get("kind"), "Joint review"),
        "title": _title(payload),
        "start": timezone.localtime(start),
        "end": timezone.localtime(end),
        "time_zone": settings.TIME_ZONE,
        "location": payload.get("location", ""),
        "covers_from": _covers(payload),
        "location_is_link": _is_link(payload.get("location", "")),
        "cancelled": payload["method"] == CANCEL,
        "moved": payload.get("reason") == "moved",
        "attendees": [
            {**person, "side_label": SIDE_WORDS.get(person.get("side"), "")}
            for person in payload.get("attendees", [])
        ],
        "organizer": _organizer(payload)[0],
        "review_url": link,
        **brand(review.contract.organization, owner=review.contract.owner,
                login=notification.user_id is not None),
    }  # fmt: skip
    message = notify.outbox_email(
        notification, subject_for(payload), "email/review_invitation", context
    )
    # DTSTAMP is when the invitation was queued: a re-send is the same file.
    ics = invitation_ics(review=review, payload=payload, stamp=notification.created_at, link=link)
    message.attach(_ics_part(ics, payload["method"]))
    return message
