"""Action-item reminders and overdue notices as the outbox sends them."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse

from escalations import notify
from escalations.models import Notification
from slagov import formatting
from slagov.emails import brand


def _render(notification: Notification, *, overdue: bool) -> EmailMessage:
    """
    From what was queued (`payload`: the title and due date the reminder is
    for) and the item as it is now (its state, links).
    """
    item = notification.action_item
    payload = notification.payload
    due = date.fromisoformat(payload["due_date"])
    org_slug = item.contract.organization.slug
    context = {
        "item": item,
        "title": payload["title"],
        "due": formatting.day(due),
        "contract": payload["contract"],
        "contract_title": payload.get("contract_title", ""),
        "vendor": payload.get("vendor", ""),
        "description": payload.get("description", ""),
        "overdue": overdue,
        "still_open": item.is_open,
        "item_url": settings.SITE_URL
        + reverse("reviews:action", kwargs={"org_slug": org_slug, "item_id": item.pk}),
        "mine_url": settings.SITE_URL
        + reverse("reviews:my_actions", kwargs={"org_slug": org_slug}),
        **brand(item.contract.organization, owner=item.contract.owner,
                login=notification.user_id is not None),
    }  # fmt: skip
    head = f"Overdue since {due.day} {due:%b}" if overdue else f"Due {due.day} {due:%b}"
    subject = " ".join(f"[slagov] {head}: {payload['title']} ({payload['contract']})".split())
    return notify.outbox_email(notification, subject, "email/action_reminder", context)


@notify.renderer(Notification.Kind.ACTION_DUE)
def render_due(notification: Notification) -> EmailMessage:
    return _render(notification, overdue=False)


@notify.renderer(Notification.Kind.ACTION_OVERDUE)
def render_overdue(notification: Notification) -> EmailMessage:
    return _render(notification, overdue=True)
