"""
The credit ledger's transitions: claim, apply, waive (the expiry job is in
`metrics.ledger`). Keyword-only, one transaction each, with the actor and the
organisation explicit, an event and an audit row written with the change.

Each transition is a conditional update on the entry's state, so a double
click or a retried request finds the work done and changes nothing (it
returns False), and two people acting at once never both win. A transition
the state doesn't allow raises `LedgerStateError` and changes nothing.

A claim records the notice to the vendor as durable work in its own
transaction (`slagov.work.later`): the outbox row is written by
`escalations.credit_notices` once the claim has committed, and the sweeper
asks again if a worker dies first, so the notice is queued at least once and,
keyed `credit:<id>`, once per address.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from metrics import ledger_rules as rules
from metrics.ledger import describe
from metrics.models import CreditEntry, CreditEntryEvent
from slagov import audit, formatting, work
from slagov.models import Membership, Organization
from slagov.tenancy import in_tenant_scope

State = CreditEntry.State
Kind = CreditEntryEvent.Kind
FINANCE_ROLES = (Membership.Role.ADMIN, Membership.Role.ACCOUNT_MANAGER)


class LedgerStateError(Exception):
    """A transition the entry's state doesn't allow: said plainly, nothing changed."""


def may_act(membership: Membership) -> bool:
    """Claim, apply and waive: the customer side's admins and account managers."""
    return membership.role in FINANCE_ROLES and not membership.is_vendor


def _require_finance(organization: Organization, actor) -> None:
    allowed = Membership.objects.filter(
        organization=organization, user_id=getattr(actor, "pk", None), is_active=True,
        role__in=FINANCE_ROLES, vendor__isnull=True,
    ).exists()  # fmt: skip
    if not allowed:
        raise PermissionDenied(
            "Only admins and account managers claim, apply or waive service credits."
        )


def _check_owner(organization: Organization, entry: CreditEntry) -> None:
    if entry.organization_id != organization.pk:
        raise ValueError("credit entry of another organisation")


def _reload(entry: CreditEntry) -> CreditEntry:
    entry.refresh_from_db(
        fields=["state", "amount", "engine_amount", "invoice_reference", "waive_reason",
                "claimed_at", "claimed_by", "applied_at", "applied_by", "waived_at",
                "waived_by", "expired_at"]
    )  # fmt: skip
    return entry


def _done(organization, actor, entry: CreditEntry, kind: str, now, action: str,
          message: str) -> None:  # fmt: skip
    CreditEntryEvent.objects.create(
        organization=organization, entry=entry, kind=kind, at=now, actor=actor,
        amount_before=entry.amount, amount_after=entry.amount, message=message[:500],
    )  # fmt: skip
    audit.record(organization, actor, action, entry, describe(entry))


def _state_words(entry: CreditEntry) -> str:
    return f"This credit is {entry.get_state_display().lower()}"


@in_tenant_scope
@transaction.atomic
def credit_claim(
    *, organization: Organization, actor, entry: CreditEntry, today: date | None = None
) -> bool:
    """
    Claim an assessed credit from the vendor: its amount is fixed from now on,
    and a notice goes to the vendor's contacts. Returns False when it was
    already claimed (a double click, a retry): nothing changes then.
    """
    _check_owner(organization, entry)
    _require_finance(organization, actor)
    today = today or timezone.localdate()
    now = timezone.now()
    if entry.state == State.ASSESSED and rules.is_past_window(
        entry.month, entry.contract.credit_claim_days, today
    ):
        deadline = rules.claim_deadline(entry.month, entry.contract.credit_claim_days)
        raise LedgerStateError(
            f"The claim window for this credit closed on {formatting.day(deadline)}."
        )
    claimed = CreditEntry.objects.filter(pk=entry.pk, state=State.ASSESSED).update(
        state=State.CLAIMED, claimed_at=now, claimed_by=actor
    )
    _reload(entry)
    if not claimed:
        if entry.state == State.CLAIMED:
            return False
        raise LedgerStateError(f"{_state_words(entry)}: only an assessed credit can be claimed.")
    _done(organization, actor, entry, Kind.CLAIMED, now, "credit claimed",
          "Claimed; the notice goes to the vendor's contacts.")  # fmt: skip
    work.later(work.CREDIT_NOTICE, organization_id=organization.pk, entry_id=entry.pk)
    return True


@in_tenant_scope
@transaction.atomic
def credit_apply(
    *, organization: Organization, actor, entry: CreditEntry, invoice_reference: str
) -> bool:
    """
    A claimed credit applied on the vendor's invoice `invoice_reference`.
    Returns False when it was already applied on that invoice (a retry).
    """
    _check_owner(organization, entry)
    _require_finance(organization, actor)
    if problem := rules.invoice_reference_problem(invoice_reference):
        raise ValidationError({"invoice_reference": problem})
    reference = invoice_reference.strip()
    now = timezone.now()
    applied = CreditEntry.objects.filter(pk=entry.pk, state=State.CLAIMED).update(
        state=State.APPLIED, applied_at=now, applied_by=actor, invoice_reference=reference
    )
    _reload(entry)
    if not applied:
        if entry.state == State.APPLIED and entry.invoice_reference == reference:
            return False
        if entry.state == State.APPLIED:
            raise LedgerStateError(
                f"This credit was already applied on invoice {entry.invoice_reference}."
            )
        if entry.state == State.ASSESSED:
            raise LedgerStateError("Claim this credit first: only a claimed credit is applied.")
        raise LedgerStateError(f"{_state_words(entry)}: it can't be applied.")
    _done(organization, actor, entry, Kind.APPLIED, now, "credit applied",
          f"Applied on invoice {reference}.")  # fmt: skip
    return True


@in_tenant_scope
@transaction.atomic
def credit_waive(*, organization: Organization, actor, entry: CreditEntry, reason: str) -> bool:
    """
    Give up an assessed or claimed credit, for `reason`. Returns False when it
    was already waived for the same reason (a retry).
    """
    _check_owner(organization, entry)
    _require_finance(organization, actor)
    if problem := rules.waive_reason_problem(reason):
        raise ValidationError({"reason": problem})
    reason = reason.strip()
    now = timezone.now()
    waived = CreditEntry.objects.filter(
        pk=entry.pk, state__in=[State.ASSESSED, State.CLAIMED]
    ).update(state=State.WAIVED, waived_at=now, waived_by=actor, waive_reason=reason)
    _reload(entry)
    if not waived:
        if entry.state == State.WAIVED and entry.waive_reason == reason:
            return False
        raise LedgerStateError(f"{_state_words(entry)}: it can't be waived.")
    _done(organization, actor, entry, Kind.WAIVED, now, "credit waived", f"Waived: {reason}")
    return True
