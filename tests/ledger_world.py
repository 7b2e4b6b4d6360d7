"""
The credit ledger's test world: the shared `world` with credits earned.

Each side's contract: 240,000 a year, so a monthly charge of 20,000.00 and a
cap of 12 % = 2,400.00; its `avail` SLA earns 5 % (1,000.00) below 99.9 %.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from django.utils import timezone
from django_scopes import scopes_disabled

from metrics import engine
from metrics.ledger import ledger_sync
from metrics.models import CreditEntry, Reading

TODAY = date(2026, 5, 10)
NOW = datetime(2026, 5, 10, 9, 0, tzinfo=UTC)
JAN, FEB, MAR, APR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)
CREDIT = Decimal("1000.00")  # 5 % of 20,000.00


def reading(side, month: date, value: str, *, today: date = TODAY) -> None:
    """Set the SLA's value for a month (a correction when there was one) and recompute."""
    sla = side.sla
    with scopes_disabled():
        Reading.objects.update_or_create(
            organization_id=sla.organization_id, service_level=sla, period_start=month,
            defaults={"value": Decimal(value), "source": Reading.Source.MANUAL,
                      "submitted_at": timezone.now()},
        )  # fmt: skip
    engine.recompute(organization_id=sla.organization_id, service_level_ids=[sla.pk], today=today)


def credited(side, *months: date) -> None:
    """A credit of 1,000.00 for each month, synced into the ledger."""
    for month in months:
        reading(side, month, "99.8")
    ledger_sync(organization_id=side.contract.organization_id)


def entry(side, month: date) -> CreditEntry:
    with scopes_disabled():
        return CreditEntry.objects.select_related("contract").get(
            contract=side.contract, month=month
        )


def entry_in_state(side, month: date, state: str, user=None) -> CreditEntry:
    """An entry put straight into `state` with what that state requires."""
    credited(side, month)
    found = entry(side, month)
    fields = {"state": state}
    if state in ("claimed", "applied", "waived"):
        fields |= {"claimed_at": NOW, "claimed_by": user}
    if state == "applied":
        fields |= {"applied_at": NOW, "applied_by": user, "invoice_reference": "INV-1"}
    if state == "waived":
        fields |= {"waived_at": NOW, "waived_by": user, "waive_reason": "Goodwill"}
    if state == "expired":
        fields |= {"expired_at": NOW}
    with scopes_disabled():
        CreditEntry.objects.filter(pk=found.pk).update(**fields)
    return entry(side, month)
