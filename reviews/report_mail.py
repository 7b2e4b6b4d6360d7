"""
The monthly report by e-mail: on the 1st, the report of the month just ended,
rendered once per organisation and queued in the outbox for each member who
opted in (`Membership.monthly_report`, customer side only), keyed by the
month: a second run in the same month (a redelivered task, a rerun by hand)
queues nothing new, and next month's run queues next month's report.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts import month_spans
from contracts.selectors import mailbox
from escalations import notify
from escalations.models import Notification
from reviews.reports import monthly_report
from slagov.emails import brand
from slagov.jobs import JobReport
from slagov.models import Membership, Organization
from slagov.tenancy import in_tenant_scope


def report_key(month) -> str:
    """The outbox key of a month's report: one message per address and month."""
    return f"report:{month:%Y-%m}"


def report_recipients(organization: Organization) -> dict[str, int]:
    """
    Address → user of the members who opted in: active, with an active login
    and an address, never a vendor user (one query). One copy per mailbox.
    """
    rows = (
        Membership.objects.filter(
            organization=organization, monthly_report=True, is_active=True, user__is_active=True
        )
        .exclude(role=Membership.Role.VENDOR)
        .exclude(user__email="")
        .order_by("user_id")
        .values_list("user__email", "user_id")
    )
    found: dict[str, int] = {}
    for email, user_id in rows:
        found.setdefault(mailbox(email), user_id)
    return found


def report_urls(organization: Organization, month) -> dict[str, str]:
    """The page and the PDF of a month's report, as absolute links for an e-mail."""
    args = [organization.slug, f"{month:%Y-%m}"]
    return {
        "page_url": settings.SITE_URL + reverse("reviews:monthly_report_month", args=args),
        "pdf_url": settings.SITE_URL + reverse("reviews:monthly_report_pdf", args=args),
    }


@in_tenant_scope
def monthly_report_queue(*, organization: Organization, now: datetime) -> int:
    """
    The report of the month before `now`'s, queued for the opted-in members
    who don't have it yet, in one transaction. Returns the e-mails queued.
    """
    today = timezone.localdate(now)
    month = month_spans.last_closed_month(today)
    key = report_key(month)
    recipients = report_recipients(organization)
    with transaction.atomic():
        queued = set(
            Notification.objects.filter(organization=organization, key=key).values_list(
                "email", flat=True
            )
        )
        todo = {email: user for email, user in recipients.items() if email not in queued}
        if not todo:
            return 0  # nothing to render either
        context = {
            **monthly_report(organization=organization, month=month, today=today),
            **report_urls(organization, month),
            **brand(organization, login=True),
        }
        subject = f"[slagov] {organization.name}: the monthly report for {context['month_label']}"
        payload = notify.rendered_payload(subject, "email/monthly_report", context)
        rows = [
            Notification(
                organization=organization, kind=Notification.Kind.REPORT, key=key,
                email=email, user_id=user_id, payload=payload, next_attempt_at=now,
            )
            for email, user_id in sorted(todo.items())
        ]  # fmt: skip
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        notify.send_after_commit()
    return len(rows)


@scopes_disabled()
def send_monthly_reports(*, now: datetime) -> JobReport:
    """
    Every organisation's report, each on its own: one that fails is logged and
    counted, the others are still sent (`done`: e-mails queued).
    """
    report = JobReport()
    for organization in Organization.objects.order_by("pk"):
        with report.isolated(organization, "monthly report"):
            report.done += monthly_report_queue(organization=organization, now=now)
    return report
