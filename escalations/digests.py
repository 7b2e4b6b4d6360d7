"""
Digests: a daily one for members who chose it (their early warnings and
level 1 escalations), and a weekly one for leadership (open escalations,
reds, what is overdue).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts.selectors import mailbox
from escalations import notify
from escalations.models import Notification
from escalations.selectors import leadership_summary
from slagov import formatting
from slagov.jobs import JobReport
from slagov.models import Membership, Organization


@scopes_disabled()
def send_member_digests(*, now: datetime) -> JobReport:
    """
    One digest per member and organisation with pending digest rows, queued in
    the outbox in the same transaction that marks the rows it carries: a run
    that dies queues nothing and leaves them pending; a second run finds them
    carried. Each digest on its own: a failure is logged with its organisation
    and counted. `done` counts the digests queued.
    """
    report = JobReport()
    pending = (
        Notification.objects.filter(
            state=Notification.State.PENDING, delivery=Notification.Delivery.DIGEST
        )
        .select_related("event", "escalation__service_level__contract__organization")
        .order_by("organization_id", "email", "created_at", "pk")
    )
    batches: dict[tuple[int, str], list[Notification]] = defaultdict(list)
    for notification in pending:
        batches[notification.organization_id, notification.email].append(notification)
    for (organization_id, email), items in batches.items():
        organization = items[0].escalation.service_level.contract.organization
        with report.isolated(organization, "daily digest"), transaction.atomic():
            carried = Notification.objects.filter(
                pk__in=[n.pk for n in items], state=Notification.State.PENDING
            ).update(state=Notification.State.SENT, sent_at=now, attempts=1)
            if carried != len(items):
                transaction.set_rollback(True)  # another run carries them
                continue
            context = {"items": items, "site": settings.SITE_URL}
            subject = (
                f"[slagov] Your daily escalation digest: {len(items)} update"
                f"{'s' if len(items) != 1 else ''}"
            )
            Notification.objects.create(
                organization_id=organization_id, kind=Notification.Kind.DIGEST,
                key=f"digest:{items[0].pk}", email=email, user_id=items[0].user_id,
                payload=notify.rendered_payload(subject, "email/digest", context, html=False),
                next_attempt_at=now,
            )  # fmt: skip
            notify.send_after_commit()
            report.done += 1
    return report


@scopes_disabled()
def send_leadership_digests(*, now: datetime) -> JobReport:
    """
    One digest per organisation, rendered once and queued in the outbox for
    each of its leaders, keyed by the ISO week: a second run in the same week
    (a redelivered task) queues nothing new. Each organisation on its own
    (`done`: e-mails queued, `failed`: organisations).
    """
    report = JobReport()
    for org in Organization.objects.order_by("pk"):
        with report.isolated(org, "leadership digest"):
            report.done += _leadership_digest(org, now)
    return report


def _leadership_digest(org: Organization, now: datetime) -> int:
    """The weekly digest of one organisation to its leaders. Returns e-mails queued."""
    summary = leadership_summary(organization=org)
    if not (summary.open or summary.reds):
        return 0
    leaders = list(
        Membership.objects.filter(
            role=Membership.Role.LEADERSHIP, organization=org, is_active=True,
            user__is_active=True,
        ).exclude(user__email="").values_list("user_id", "user__email")
    )  # fmt: skip
    if not leaders:
        return 0
    url = settings.SITE_URL + reverse("escalations:leadership", args=[org.slug])
    context = {"org": org, "open": summary.open, "reds": summary.reds,
               "overdue": summary.overdue, "url": url, "now": now}  # fmt: skip
    subject = (
        f"[slagov] {org.name}: {formatting.plural(len(summary.open), 'open escalation')}, "
        f"{formatting.plural(len(summary.reds), 'red SLA')} this week"
    )
    payload = notify.rendered_payload(subject, "email/leadership_digest", context, html=False)
    year, week, _ = timezone.localdate(now).isocalendar()
    key = f"leadership:{year}-W{week:02d}"
    with transaction.atomic():
        queued = set(
            Notification.objects.filter(organization=org, key=key).values_list("email", flat=True)
        )
        rows = [
            Notification(
                organization=org,
                kind=Notification.Kind.LEADERSHIP,
                key=key,
                email=mailbox(email),
                user_id=user_id,
                payload=payload,
                next_attempt_at=now,
            )
            for user_id, email in leaders
            if mailbox(email) not in queued
        ]
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        notify.send_after_commit()
    return len(rows)
