"""
The service-credit ledger: what happens to each month's credit after the
engine assessed it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from contracts.models import Contract
from slagov.models import Organization
from slagov.tenancy import TenantManager


class CreditEntry(models.Model):
    """
    One contract's service credit for one month: the month's credited (capped)
    amount from `metrics.selectors.credits_for`, and what finance did with it.

    States (enforced in metrics.ledger_services and metrics.ledger):
      assessed → claimed   (a claim notice goes to the vendor's contacts)
      assessed → waived    (with a reason)
      assessed → expired   (the daily job, once the contract's claim window has passed)
      claimed  → applied   (on an invoice: its reference)
      claimed  → waived    (with a reason)
    applied, waived and expired are final.

    While `assessed`, `amount` follows the engine: a corrected reading changes
    it, and an entry whose credit falls to nothing is deleted (nobody acted on
    it yet; a later credit for the month makes a new one). From `claimed` on,
    `amount` is what was claimed and never changes: the engine's figure is kept
    in `engine_amount`, and each change of it is an event, shown beside the
    entry until someone deals with it.
    """

    class State(models.TextChoices):
        ASSESSED = "assessed", "Assessed"
        CLAIMED = "claimed", "Claimed"
        APPLIED = "applied", "Applied"
        WAIVED = "waived", "Waived"
        EXPIRED = "expired", "Expired"

    # No separate index: the unique constraint starts with the organisation.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, db_index=False)
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="credit_entries")
    month = models.DateField(help_text="The first day of the month the credit is for.")
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, help_text="The credit: as assessed, or as claimed."
    )
    engine_amount = models.DecimalField(
        max_digits=14, decimal_places=2, help_text="What the engine says the credit is now."
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.ASSESSED)
    assessed_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invoice_reference = models.CharField(max_length=100, blank=True)
    waived_at = models.DateTimeField(null=True, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    waive_reason = models.CharField(max_length=500, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)

    objects = TenantManager(vendor="contract__vendor")

    class Meta:
        ordering = ["-month", "contract"]
        verbose_name_plural = "credit entries"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contract", "month"], name="creditentry_one_per_month"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0) & Q(engine_amount__gte=0),
                name="creditentry_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(state="applied") | ~Q(invoice_reference=""),
                name="creditentry_applied_has_invoice",
            ),
            models.CheckConstraint(
                condition=~Q(state="waived") | ~Q(waive_reason=""),
                name="creditentry_waived_has_reason",
            ),
        ]
        indexes = [
            # The ledger page and API: an organisation's entries by state, newest month first.
            models.Index(fields=["organization", "state", "-month"], name="creditentry_org_state"),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.month:%Y-%m}: {self.amount} {self.currency}"

    @property
    def correction(self):
        """The engine's figure minus the ledger's, once they differ (after a claim), else None."""
        difference = self.engine_amount - self.amount
        return difference if difference else None


class CreditEntryEvent(models.Model):
    """An entry's history: assessed, reassessed, corrected after a claim, and each transition."""

    class Kind(models.TextChoices):
        ASSESSED = "assessed", "Assessed"
        REASSESSED = "reassessed", "Reassessed"
        CORRECTED = "corrected", "Engine figure changed"
        CLAIMED = "claimed", "Claimed"
        APPLIED = "applied", "Applied"
        WAIVED = "waived", "Waived"
        EXPIRED = "expired", "Expired"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    entry = models.ForeignKey(CreditEntry, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    amount_before = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    amount_after = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    message = models.CharField(max_length=500, blank=True)

    objects = TenantManager(vendor="entry__contract__vendor")

    class Meta:
        ordering = ["entry", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.kind} at {self.at:%Y-%m-%d %H:%M}"
