"""
Every e-mail goes through the outbox.

`queue` (and the other apps' writers: invitations, reminders, digests) write
one row per message and recipient in the caller's transaction. `send_pending`
(a worker) claims one due row at a time for a lease, and commits the claim
*before* it talks to SMTP: no lock or transaction is held across network I/O.
Sent, the row is marked sent; a transient SMTP or network error schedules it
again with backoff, up to MAX_ATTEMPTS; a permanent one fails it at once. A
worker that dies mid-way leaves its claimed row to be taken up when the lease
ends. So every message is sent at least once; a message is sent twice only
when a worker dies (or outlives its lease) after the relay accepted it and
before the row was marked sent, or the database crashes within a moment of
that mark (claims and marks don't wait for the disk), and then with the same
`Message-ID`.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts import periods
from contracts.rules import Colour
from contracts.selectors import mailbox, vendor_recipients
from escalations.models import Escalation, EscalationEvent, EscalationStep, Notification, Recipient
from metrics import trends
from metrics.models import PeriodStatus
from slagov import formatting
from slagov.emails import brand
from slagov.models import Membership
from slagov.tenancy import tenant_of, tenant_scope

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
ACK_SALT = "slagov.escalation.ack"
ACK_MAX_AGE = timedelta(days=7)
# Worth trying again later: the relay or the network was away or busy (4xx answers).
TRANSIENT = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError)


class Recipients:
    """
    Who is who in one organisation, loaded once for a whole evaluation: the
    members by role with their delivery preference, and each contract's
    vendor side (looked up once per contract).
    """

    def __init__(self, organization_id: int):
        self.by_role: dict[str, list[Membership]] = {}
        members = Membership.objects.filter(
            organization_id=organization_id, is_active=True, user__is_active=True
        ).select_related("user")
        for membership in members:
            self.by_role.setdefault(membership.role, []).append(membership)
        self.preferences = {  # user → delivery, for every active member
            m.user_id: m.escalation_delivery for ms in self.by_role.values() for m in ms
        }
        self._vendor_side: dict[int, dict[str, object]] = {}

    def vendor_side(self, contract) -> dict[str, object]:
        """The contract's contacts (else all the vendor's) and the vendor's users."""
        if contract.pk not in self._vendor_side:
            self._vendor_side[contract.pk] = vendor_recipients(
                contract, all_contacts_if_none=True,
                vendor_members=self.by_role.get(Membership.Role.VENDOR, []),
            )  # fmt: skip
        return self._vendor_side[contract.pk]

    def for_roles(self, contract, roles: list[str]) -> dict[str, object]:
        """email → user (or None for vendor contacts without a login)."""
        found: dict[str, object] = {}
        owner = contract.owner
        if Recipient.OWNER in roles and owner and owner.email and owner.pk in self.preferences:
            found[mailbox(owner.email)] = owner  # only while they still belong here
        if Recipient.VENDOR_CONTACTS in roles:
            for address, user in self.vendor_side(contract).items():
                if user is None:
                    found.setdefault(address, None)  # the owner keeps their login
                else:
                    found[address] = user
        for role, member_role in (
            (Recipient.ACCOUNT_MANAGERS, Membership.Role.ACCOUNT_MANAGER),
            (Recipient.LEADERSHIP, Membership.Role.LEADERSHIP),
            (Recipient.ADMINS, Membership.Role.ADMIN),
        ):
            if role in roles:
                for membership in self.by_role.get(member_role, []):
                    if membership.user.email:
                        found[mailbox(membership.user.email)] = membership.user
        return found

    def delivery(self, user, level: int) -> str:
        """Early warnings and level 1 may wait for a member's daily digest; level 2+ never."""
        if (
            user is not None
            and level <= 1
            and self.preferences.get(user.pk) == Notification.Delivery.DIGEST
        ):
            return Notification.Delivery.DIGEST
        return Notification.Delivery.IMMEDIATE


def queue(
    *, event: EscalationEvent, step: EscalationStep, now: datetime,
    recipients: Recipients | None = None, roles: list[str] | None = None,
) -> int:  # fmt: skip
    """
    Outbox rows for an event (to the step's recipients, or `roles`), in the
    event's transaction. The caller asks for sending once its transaction
    commits (see `send_after_commit`).
    """
    escalation = event.escalation
    recipients = recipients or Recipients(escalation.organization_id)
    level = 0 if event.kind == EscalationEvent.Kind.FORECAST else escalation.level
    rows = [
        Notification(
            organization_id=escalation.organization_id, event=event, escalation=escalation,
            kind=Notification.Kind.ESCALATION, key=f"event:{event.pk}",
            email=email, user=user, delivery=recipients.delivery(user, level),
            next_attempt_at=now,
        )
        for email, user in sorted(
            recipients.for_roles(escalation.contract, roles or step.recipients).items()
        )
    ]  # fmt: skip
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _send_soon() -> None:
    """
    Ask a worker to send. The outbox rows are already committed: if the broker
    can't be reached they wait for the sweeper (every minute), and whoever
    asked (a page, an API call) still gets their answer.
    """
    from escalations.tasks import send_notifications
    from slagov import work

    work.enqueue(send_notifications)


_held = threading.local()


@contextmanager
def outbox_held() -> Iterator[None]:
    """
    Within this block nothing asks a worker to send: the notifications stay in
    the outbox (the back-test replays history without e-mailing anyone, and
    without sending other tenants' pending mail from its process).
    """
    previous = getattr(_held, "on", False)
    _held.on = True
    try:
        yield
    finally:
        _held.on = previous


def send_after_commit() -> None:
    """
    Ask a worker to empty the outbox once the current transaction has committed:
    once per transaction, however many changes it holds (outside one: at once).
    """
    if getattr(_held, "on", False):
        return
    if connection.in_atomic_block and any(
        entry[1] is _send_soon for entry in connection.run_on_commit
    ):
        return  # already asked (a savepoint rolled back takes its request with it)
    transaction.on_commit(_send_soon)


# --- Acknowledge links ---------------------------------------------------------------


def ack_token(notification: Notification) -> str:
    return signing.dumps(
        {"n": notification.ack_nonce, "e": notification.escalation_id}, salt=ACK_SALT
    )


def ack_url(notification: Notification) -> str:
    return settings.SITE_URL + reverse("escalation_ack", args=[ack_token(notification)])


class AckLinkError(Exception):
    pass


def ack_notification(token: str) -> Notification:
    """
    The notification a link belongs to, if the link is genuine, unexpired and
    unused: read in the scope of the organisation its signed escalation id
    names (the link is the capability, for that organisation only).
    """
    try:
        data = signing.loads(token, salt=ACK_SALT, max_age=ACK_MAX_AGE)
    except signing.SignatureExpired:
        raise AckLinkError(
            "This link has expired. Open the escalation in slagov instead."
        ) from None
    except signing.BadSignature:
        raise AckLinkError("This link is not valid.") from None
    with tenant_scope(tenant_of(Escalation, data.get("e")) or 0):
        notification = (
            Notification.objects.select_related("escalation__service_level__contract", "user")
            .filter(ack_nonce=data.get("n"), escalation_id=data.get("e"))
            .first()
        )
    if notification is None:
        raise AckLinkError("This link is not valid.")
    if notification.ack_used_at is not None:
        raise AckLinkError("This link has already been used.")
    return notification


# --- Sending -------------------------------------------------------------------------------


def _recent_statuses(escalation: Escalation, count: int = 12) -> list[PeriodStatus]:
    sla = escalation.service_level
    return list(PeriodStatus.objects.filter(service_level=sla).order_by("-period_start")[:count])[
        ::-1
    ]


def _last_periods(escalation: Escalation, statuses: list, count: int = 6) -> list[dict]:
    sla = escalation.service_level
    statuses = statuses[-count:]
    return [
        {"label": formatting.period(s.period_start, sla.period),
         "value": formatting.with_unit(s.value, sla.display_unit), "colour": s.colour,
         "target": formatting.with_unit(s.target, sla.display_unit),
         "minimum": formatting.with_unit(s.minimum, sla.display_unit)}
        for s in statuses
    ]  # fmt: skip


def _forecast_rows(sla, health, places: int) -> list[dict]:
    """The forecast for the next periods with its 80 % band, rounded like the data."""
    if health is None or not health.enough_data or not health.forecast:
        return []
    rows = []
    for point in health.forecast:
        start = date.fromisoformat(point["period"])
        rows.append(
            {
                "label": formatting.period(start, sla.period),
                "value": formatting.with_unit(point["value"], sla.display_unit, places),
                "low": formatting.with_unit(point["low"], sla.display_unit, places),
                "high": formatting.with_unit(point["high"], sla.display_unit, places),
            }
        )
    return rows


def outlook_lines(sla, health, places: int = 0) -> list[str]:
    """
    What the trend says, in sentences with units (e-mails and digests); `places`:
    the decimals the data is written with.
    """
    lines = [trends.outlook(health, sla.period, sla.display_unit)]
    if health is None or not health.enough_data:
        return lines
    if health.colour != Colour.RED and health.risk:
        lines.append(trends.risk_words(health.risk, sla.period))
    if health.slope is not None:
        rate = formatting.rate(
            health.slope, sla.display_unit, places + 1, periods.unit_name(sla.period)
        )
        lines.append(f"Trend: {rate}.")
    if health.drifting and health.drift_note:
        lines.append(f"Drifting: {health.drift_note}.")
    if health.anomaly and health.anomaly_note:
        lines.append(f"The latest value is {health.anomaly_note}.")
    return lines


SUBJECTS = {
    EscalationEvent.Kind.OPENED: "Level {level} {what}",
    EscalationEvent.Kind.RAISED: "Escalated to level {level}",
    EscalationEvent.Kind.DUE_MISSED: "Due-by missed, now level {level}",
    EscalationEvent.Kind.FORECAST: "Early warning, breach forecast",
    EscalationEvent.Kind.REOPENED: "Reopened at level {level}",
}


def subject_for(event: EscalationEvent, escalation: Escalation) -> str:
    sla = escalation.service_level
    what = "data-late escalation" if escalation.kind == Escalation.Kind.DATA else "escalation"
    head = SUBJECTS.get(event.kind, "Escalation").format(level=event.level, what=what)
    subject = f"[slagov] {head}: {escalation.contract.reference} {sla.name}"
    return " ".join(subject.split())  # never a line break in a header


def message_id(notification: Notification) -> str:
    """One Message-ID per notification, whichever worker sends it and however often."""
    host = urlsplit(settings.SITE_URL).hostname or "slagov.invalid"
    owner = notification.organization_id or "account"
    return f"<notification-{owner}-{notification.pk}@{host}>"


# Other messages the outbox carries: kind → a function that renders one as its e-mail.
RENDERERS: dict[str, Callable[[Notification], EmailMessage]] = {}


def renderer(kind: str):
    """Register how to render the outbox's messages of `kind` (reviews, action items)."""

    def register(function):
        RENDERERS[kind] = function
        return function

    return register


def render(notification: Notification) -> EmailMessage:
    if notification.kind != Notification.Kind.ESCALATION:
        return RENDERERS[notification.kind](notification)
    event = notification.event
    escalation = notification.escalation
    sla = escalation.service_level
    org_slug = escalation.contract.organization.slug
    recent = _recent_statuses(escalation)
    places = formatting.places_of([s.value for s in recent], sla.unit)
    context = {
        "event": event,
        "escalation": escalation,
        "sla": sla,
        "contract": escalation.contract,
        "periods": _last_periods(escalation, recent),
        "outlook": outlook_lines(sla, getattr(sla, "health", None), places),
        "forecast": _forecast_rows(sla, getattr(sla, "health", None), places)
        if event.kind == EscalationEvent.Kind.FORECAST
        else [],
        "due_by": event.due_by,
        "band": (
            formatting.with_unit(sla.health.target, sla.display_unit),
            formatting.with_unit(sla.health.minimum, sla.display_unit),
        )
        if getattr(sla, "health", None) is not None and sla.health.target is not None
        else None,
        "sla_url": settings.SITE_URL + reverse("metrics:sla", args=[org_slug, sla.pk]),
        "escalation_url": settings.SITE_URL
        + reverse("escalations:detail", args=[org_slug, escalation.pk]),
        "ack_url": ack_url(notification),
        **brand(
            escalation.contract.organization, owner=escalation.contract.owner,
            login=notification.user_id is not None,
        ),
    }  # fmt: skip
    return outbox_email(notification, subject_for(event, escalation), "email/escalation", context)


def outbox_email(
    notification: Notification, subject: str, template: str, context: dict
) -> EmailMultiAlternatives:
    """
    An outbox row's e-mail: `template`.txt and `template`.html rendered with
    `context`, to the row's address, with the row's stable headers.
    """
    return _email(
        notification, subject, render_to_string(f"{template}.txt", context),
        render_to_string(f"{template}.html", context),
    )  # fmt: skip


def _email(notification: Notification, subject: str, text: str, html: str = "") -> EmailMessage:
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[notification.email],
        headers={
            "X-Slagov-Notification": str(notification.pk),
            # The same on every attempt: a re-send after a crash is the same message.
            "Message-ID": message_id(notification),
        },
    )
    if html:
        message.attach_alternative(html, "text/html")
    return message


def rendered_payload(subject: str, template: str, context: dict, *, html: bool = True) -> dict:
    """
    A message rendered when it is queued (digests, data reminders): what it
    says is fixed then, whenever it is sent. Stored as the row's payload.
    """
    return {
        "subject": " ".join(subject.split()),
        "text": render_to_string(f"{template}.txt", context),
        "html": render_to_string(f"{template}.html", context) if html else "",
    }


def queue_account_email(message: EmailMessage) -> Notification:
    """
    An account e-mail (django-allauth's: password reset, address check,
    security notices) into the outbox, as rendered: sent like every other
    message once the surrounding transaction commits.
    """
    html = next(
        (content for content, mimetype in getattr(message, "alternatives", [])
         if mimetype == "text/html"),
        "",
    )  # fmt: skip
    # Saved, not created through the manager: a person's e-mail has no tenant scope.
    notification = Notification(
        organization=None, kind=Notification.Kind.ACCOUNT, key=f"account:{secrets.token_hex(8)}",
        email=mailbox(message.to[0]), next_attempt_at=timezone.now(),
        payload={"subject": message.subject, "text": message.body, "html": html},
    )  # fmt: skip
    notification.save()
    send_after_commit()
    return notification


def _prerendered(notification: Notification) -> EmailMessage:
    payload = notification.payload
    return _email(notification, payload["subject"], payload["text"], payload.get("html", ""))


for _kind in Notification.PRERENDERED:
    RENDERERS[_kind] = _prerendered


# The claim, one statement: the first due row in (next_attempt_at, id) order, read
# from the partial index `notification_claim` (an index lookup however many rows
# wait), locked skipping the rows another sender holds, and leased.
CLAIM_SQL = """
    UPDATE escalations_notification SET next_attempt_at = %s, attempts = attempts + 1
    WHERE id = (
        SELECT id FROM escalations_notification
        WHERE state = 'pending' AND delivery = 'immediate' AND next_attempt_at <= %s
        ORDER BY next_attempt_at, id LIMIT 1
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id, event_id, escalation_id, review_id, action_item_id
"""
# What each related row's e-mail shows, loaded only for the relations a row has:
# one narrow join instead of planning every path for every row.
RELATED = {
    "event_id": ("event",),
    "escalation_id": (
        "escalation__service_level__health", "escalation__contract__organization",
        "escalation__contract__vendor", "escalation__contract__owner",
    ),
    "review_id": (
        "review__contract__organization", "review__contract__vendor", "review__contract__owner",
    ),
    "action_item_id": ("action_item__contract__organization", "action_item__contract__owner"),
}  # fmt: skip
_LINKS = tuple(RELATED)


def _claim(now: datetime) -> tuple | None:
    """
    Claim the next due message for a lease: (id, *its links as in `RELATED`),
    or None. Committed before any SMTP, so a worker that dies leaves it to the
    next one when the lease ends (and never holds a lock while the relay thinks).
    """
    leased = now + timedelta(seconds=settings.WORK_LEASE_SECONDS)
    if connection.vendor == "postgresql":
        own = not connection.in_atomic_block  # never loosen a caller's transaction
        with transaction.atomic(), connection.cursor() as cursor:
            if own:
                # The claim's commit needn't wait for the disk: a claim lost in a
                # database crash leaves the row due again, a second send with the
                # same Message-ID, which at-least-once already allows. Other senders
                # see the claim as soon as it commits either way.
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            cursor.execute(CLAIM_SQL, [leased, now])
            return cursor.fetchone()
    with transaction.atomic():  # SQLite: IMMEDIATE transactions serialise writers
        due = (
            Notification.objects.filter(
                state=Notification.State.PENDING, delivery=Notification.Delivery.IMMEDIATE,
                next_attempt_at__lte=now,
            )
            .order_by("next_attempt_at", "pk")
            .select_for_update()
        )  # fmt: skip
        row = due.values_list("pk", *_LINKS).first()
        if row is None:
            return None
        Notification.objects.filter(pk=row[0]).update(
            next_attempt_at=leased, attempts=F("attempts") + 1
        )
        return row


def _claim_one(now: datetime) -> Notification | None:
    """The next due message, claimed (see `_claim`), with everything its e-mail shows."""
    claimed = _claim(now)
    if claimed is None:
        return None
    pk, *links = claimed
    related = [path for link, value in zip(_LINKS, links, strict=True) if value is not None
               for path in RELATED[link]]  # fmt: skip
    rows = Notification.objects.all()
    if related:  # (select_related() without paths would follow every non-null key)
        rows = rows.select_related(*related)
    return rows.get(pk=pk)


def is_transient(exc: Exception) -> bool:
    """A relay or network that was away or answered 4xx: try again later. Else: permanent."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code < 500
    return isinstance(exc, TRANSIENT)


def _failed(notification: Notification, exc: Exception, now: datetime) -> None:
    """Schedule a transient failure again with backoff; fail a permanent one (or the last try)."""
    error = f"{type(exc).__name__}: {exc}"[:500]
    update: dict = {"last_error": error}
    if not is_transient(exc) or notification.attempts >= MAX_ATTEMPTS:
        update["state"] = Notification.State.FAILED
        logger.error("giving up on notification %s after %s attempts: %s",
                     notification.pk, notification.attempts, error)  # fmt: skip
    else:
        update["next_attempt_at"] = now + timedelta(minutes=2 ** (notification.attempts - 1))
    Notification.objects.filter(pk=notification.pk, state=Notification.State.PENDING).update(
        **update
    )


def _mark_sent(notification: Notification) -> None:
    """
    The row is done. Like the claim, its commit needn't wait for the disk: a mark
    lost in a database crash leaves the row to be sent again when its lease ends,
    with the same Message-ID, which at-least-once already allows (and a sweep's
    hundreds of e-mails don't each wait for a disk flush).
    """
    done = Notification.objects.filter(pk=notification.pk, state=Notification.State.PENDING)
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        # (never loosen a caller's transaction)
        done.update(state=Notification.State.SENT, sent_at=timezone.now(), last_error="")
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        done.update(state=Notification.State.SENT, sent_at=timezone.now(), last_error="")


@scopes_disabled()
def send_pending(*, limit: int = 200) -> int:
    """
    Send due immediate messages, each at least once (see the module's note).
    Returns how many were sent.
    """
    sent = 0
    mail = get_connection()
    try:
        for _ in range(limit):
            now = timezone.now()
            notification = _claim_one(now)
            if notification is None:
                break
            try:
                message = render(notification)
                mail.send_messages([message])
            except Exception as exc:
                if not is_transient(exc):
                    logger.exception("notification %s could not be sent", notification.pk)
                _failed(notification, exc, now)
                mail.close()  # reconnect for the next one
                continue
            _mark_sent(notification)
            sent += 1
    finally:
        mail.close()
    return sent
