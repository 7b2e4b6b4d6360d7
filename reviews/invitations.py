"""
Review invitations through the outbox.

`invitations_queue` writes one outbox row per attendee with an e-mail address,
in the caller's transaction, with everything the message must say as it was
at that moment (the row is sent later, perhaps after another change). The
e-mail and its calendar file are rendered by `reviews.mail_invitations`.

A row's key names the invitation: the review, its iCalendar SEQUENCE and the
method. Moving a review bumps the sequence (the caller does), so the moved
invitation is a new message; queuing the same one again writes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from escalations import notify
from escalations.models import Notification
from reviews.models import AgendaItem, Review, ReviewAttendee
from slagov.tenancy import tenant_scope

REQUEST = "REQUEST"
CANCEL = "CANCEL"
# The agenda titles an invitation lists, at most (the pack has the rest).
AGENDA_LINES = 12


def invitation_method(review: Review, reason: str) -> str:
    """CANCEL for a cancelled review (or one being cancelled), else REQUEST."""
    if review.state == Review.State.CANCELLED or reason == "cancelled":
        return CANCEL
    return REQUEST


def invitation_key(review: Review, method: str) -> str:
    return f"review:{review.pk}:{review.sequence}:{method}"


def _person(user) -> dict[str, str] | None:
    if user is None or not user.email:
        return None
    return {"name": user.get_full_name() or user.username, "email": user.email}


def invitation_payload(
    *, review: Review, method: str, reason: str, people: list[ReviewAttendee]
) -> dict:
    """What the invitation says, as of now (JSON: the outbox keeps it until it is sent)."""
    contract = review.contract
    sla = review.service_level
    agenda = list(
        AgendaItem.objects.filter(review=review)
        .order_by("position", "pk")
        .values_list("title", flat=True)[: AGENDA_LINES + 1]
    )
    return {
        "method": method,
        "reason": reason,
        "sequence": review.sequence,
        "kind": review.kind,
        "scheduled_at": review.scheduled_at.astimezone(UTC).isoformat(),
        "duration": review.duration_minutes,
        "location": review.location,
        "contract_reference": contract.reference,
        "contract_title": contract.title,
        "vendor": contract.vendor.name,
        "service_level": f"{sla.code} — {sla.name}" if sla else "",
        "covers_from": review.covers_from.isoformat() if review.covers_from else None,
        "agenda": agenda[:AGENDA_LINES],
        "agenda_more": len(agenda) > AGENDA_LINES,
        "organizer": _person(contract.owner),
        "attendees": [
            {"name": p.name, "email": p.email, "side": p.side} for p in people if p.email
        ],
    }


def invitations_queue(*, review: Review, now: datetime, reason: str) -> int:
    """
    Queue the review's invitation (or its cancellation) to every attendee with an
    e-mail address, in the caller's transaction; ask for sending once it commits.
    One row per invitation and address: queuing the same invitation again writes
    nothing. Returns how many rows were written.
    """
    method = invitation_method(review, reason)
    key = invitation_key(review, method)
    # The review was found through the caller's scope; what it invites (and the
    # outbox, which no member browses) is read by the review itself, so that a
    # task or command outside a request queues the same rows as a page does.
    with tenant_scope(review.organization_id):
        people = list(
            ReviewAttendee.objects.filter(review=review)
            .select_related("user")
            .order_by("side", "name", "pk")
        )
        already = {
            email.lower()
            for email in Notification.objects.filter(
                organization_id=review.organization_id, key=key
            ).values_list("email", flat=True)
        }
        payload = invitation_payload(review=review, method=method, reason=reason, people=people)
        rows: list[Notification] = []
        for person in people:
            address = person.email.strip()
            if not address or address.lower() in already:
                continue
            already.add(address.lower())
            rows.append(
                Notification(
                    organization_id=review.organization_id, kind=Notification.Kind.INVITATION,
                    key=key, review=review, payload=payload, email=address,
                    user_id=person.user_id, next_attempt_at=now,
                )
            )  # fmt: skip
        # A concurrent caller may have written the same rows since: the unique
        # (organisation, key, e-mail) constraint keeps one of each.
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
    if rows:
        notify.send_after_commit()
    return len(rows)
