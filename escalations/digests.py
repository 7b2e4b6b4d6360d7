"""
Digests: a daily one for members who chose it (their early warnings and
level 1 escalations), and a weekly one for leadership (open escalations,
reds, what is overdue).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django_scopes import scopes_disabled

from escalations.models import Notification
from escalations.selectors import leadership_summary
from slagov import formatting
from slagov.jobs import JobReport
from slagov.models import Membership, Organization


@scopes_disabled()
def send_member_digests(*, now: datetime) -> JobReport:
    """
    One e-mail per member with pending digest rows; the rows are marked sent
    with it. Each e-mail on its own: a failure is logged with its organisation
    and counted, and its rows stay pending for the next run.
    """
    report = JobReport()
    pending = (
        Notification.objects.filter(
            state=Notification.State.PENDING, delivery=Notification.Delivery.DIGEST
        )
        .select_related("event", "escalation__service_level__contract__organization")
        .order_by("email", "created_at")
    )
    by_email: dict[str, list[Notification]] = defaultdict(list)
    for notification in pending:
        by_email[notification.email].append(notification)
    for email, items in by_email.items():
        organization = items[0].escalation.service_level.contract.organization
        with report.isolated(organization, "daily digest"), transaction.atomic():
            # Claim them: a digest sent twice would be noise.
            claimed = Notification.objects.filter(
                pk__in=[n.pk for n in items], state=Notification.State.PENDING
            ).update(state=Notification.State.SENT, sent_at=now, attempts=1)
            if not claimed:
                continue
            context = {"items": items, "site": settings.SITE_URL}
            message = EmailMultiAlternatives(
                subject=f"[slagov] Your daily escalation digest: {len(items)} update"
                f"{'s' if len(items) != 1 else ''}",
                body=render_to_string("email/digest.txt", context),
                to=[email],
            )
            message.send()
            report.done += 1
    return report


@scopes_disabled()
def send_leadership_digests(*, now: datetime) -> JobReport:
    """
    One e-mail per organisation, rendered once and sent to each of its leaders;
    each organisation on its own (`done`: e-mails sent, `failed`: organisations).
    """
    report = JobReport()
    for org in Organization.objects.order_by("pk"):
        with report.isolated(org, "leadership digest"):
            report.done += _leadership_digest(org, now)
    return report


def _leadership_digest(org: Organization, now: datetime) -> int:
    """The weekly digest of one organisation to its leaders. Returns e-mails sent."""
    sent = 0
    summary = leadership_summary(organization=org)
    if not (summary.open or summary.reds):
        return 0
    leaders = list(
        Membership.objects.filter(
            role=Membership.Role.LEADERSHIP, organization=org, is_active=True,
            user__is_active=True,
        ).exclude(user__email="").values_list("user__email", flat=True)
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
    body = render_to_string("email/leadership_digest.txt", context)
    for email in leaders:
        EmailMultiAlternatives(subject=subject, body=body, to=[email]).send()
        sent += 1
    return sent
