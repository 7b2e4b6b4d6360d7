"""
The demo's credit ledger: once the demo's readings and statuses exist, its
credits are synced into the ledger and moved along so that every state shows
(finance claimed and applied the oldest, waived one after a joint review, let
others expire, has just claimed a recent one; the newest wait as assessed).
Loading it twice changes nothing.
"""

from __future__ import annotations

from datetime import date, timedelta

from django_scopes import scopes_disabled

from metrics import ledger, ledger_rules, ledger_services
from metrics.models import CreditEntry
from slagov.models import Membership, Organization

WAIVE_REASON = "The outage followed our own network change (agreed at the joint review)."


@scopes_disabled()
def seed_ledger(org: Organization, today: date, actor=None) -> dict[str, int]:
    """
    Sync `org`'s ledger and move its entries through the states; `actor`: who
    acts (else the organisation's first admin). Returns the entries per state.
    """
    ledger.ledger_sync(organization_id=org.pk)
    entries = list(
        CreditEntry.objects.filter(organization=org)
        .select_related("contract")
        .order_by("month", "contract__reference")
    )
    if actor is None:
        admin = (
            Membership.objects.filter(organization=org, role=Membership.Role.ADMIN, is_active=True)
            .select_related("user")
            .order_by("pk")
            .first()
        )
        actor = admin.user if admin else None
    fresh = all(e.state == CreditEntry.State.ASSESSED for e in entries)
    if entries and actor is not None and fresh:
        _play(org, entries, today, actor)
    counts = dict.fromkeys(CreditEntry.State.values, 0)
    for state in CreditEntry.objects.filter(organization=org).values_list("state", flat=True):
        counts[state] += 1
    return counts


def _play(org: Organization, entries: list[CreditEntry], today: date, actor) -> None:
    past = [
        e for e in entries
        if ledger_rules.is_past_window(e.month, e.contract.credit_claim_days, today)
    ]  # fmt: skip
    within = [e for e in entries if e not in past]
    if past:  # claimed in time and applied on the vendor's next invoice
        first = past.pop(0)
        in_time = ledger_rules.month_last_day(first.month) + timedelta(days=10)
        ledger_services.credit_claim(organization=org, actor=actor, entry=first, today=in_time)
        ledger_services.credit_apply(
            organization=org, actor=actor, entry=first,
            invoice_reference=f"INV-{first.contract.reference}-{first.month:%Y%m}",
        )  # fmt: skip
    if past:  # waived: the customer's own change caused it
        ledger_services.credit_waive(
            organization=org, actor=actor, entry=past.pop(0), reason=WAIVE_REASON
        )
    if within:  # just claimed: the notice is on its way to the vendor
        ledger_services.credit_claim(organization=org, actor=actor, entry=within[0], today=today)
    # The rest of the old ones were never claimed: past their window, they expire.
    ledger.ledger_expire(organization_id=org.pk, today=today)
