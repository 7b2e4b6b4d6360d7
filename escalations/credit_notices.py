"""
The claim notice of a service credit: one e-mail to the vendor's contacts
(the contract's, else all the vendor's) and the vendor's users, saying which
month, how much and why. Rendered when queued and keyed `credit:<entry id>`:
however often the claim's work runs (a retry, the sweeper after a dead
worker), each address gets one row in the outbox.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from contracts.selectors import mailbox, vendor_recipients
from escalations import notify
from escalations.models import Notification
from metrics.models import CreditEntry, PeriodStatus
from slagov.emails import brand
from slagov.tenancy import in_tenant_scope


def notice_key(entry: CreditEntry) -> str:
    return f"credit:{entry.pk}"


def _why(entry: CreditEntry) -> list[dict]:
    """The SLAs whose credits make up the month, with their values and percentages."""
    statuses = (
        PeriodStatus.objects.filter(
            service_level__contract=entry.contract, credit_amount__gt=0,
            period_start__year=entry.month.year, period_start__month=entry.month.month,
        )
        .select_related("service_level")
        .order_by("service_level__code", "period_start")
    )  # fmt: skip
    return [
        {"code": s.service_level.code, "name": s.service_level.name, "period": s.period_start,
         "percent": s.credit_percent, "amount": s.credit_amount}
        for s in statuses
    ]  # fmt: skip


@in_tenant_scope
def credit_notice_queue(*, organization_id: int, entry_id: int) -> int:
    """
    Queue the claim notice of a claimed entry (nothing for an entry that is
    gone or no longer claimed, or already queued). Returns the rows written.
    """
    with transaction.atomic():
        entry = (
            CreditEntry.objects.select_related("contract__vendor", "contract__organization",
                                               "contract__owner", "claimed_by")
            .filter(organization_id=organization_id, pk=entry_id)
            .first()
        )  # fmt: skip
        if entry is None or entry.claimed_at is None:
            return 0
        key = notice_key(entry)
        contract = entry.contract
        recipients = vendor_recipients(contract, all_contacts_if_none=True)
        queued = set(
            Notification.objects.filter(organization_id=organization_id, key=key).values_list(
                "email", flat=True
            )
        )
        addresses = sorted({mailbox(a) for a in recipients} - queued)
        if not addresses:
            return 0
        context = {
            "entry": entry, "contract": contract, "lines": _why(entry),
            "url": settings.SITE_URL
            + reverse("metrics:credit_ledger", args=[contract.organization.slug])
            + f"?contract={contract.pk}",
            **brand(contract.organization, owner=contract.owner,
                    login=None if None in recipients.values() else True),
        }  # fmt: skip
        subject = (
            f"[slagov] Service credit claim: {contract.reference} {entry.month:%B %Y}, "
            f"{entry.amount:,.2f} {entry.currency}"
        )
        payload = notify.rendered_payload(subject, "email/credit_notice", context)
        now = timezone.now()
        Notification.objects.bulk_create(
            [
                Notification(
                    organization_id=organization_id, kind=Notification.Kind.CREDIT_NOTICE,
                    key=key, email=address, user=recipients.get(address), payload=payload,
                    next_attempt_at=now,
                )
                for address in addresses
            ],
            ignore_conflicts=True,
        )  # fmt: skip
        notify.send_after_commit()
    return len(addresses)
