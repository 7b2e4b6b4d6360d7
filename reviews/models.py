"""
Joint reviews: meetings of both sides for a contract. For now the record an
escalation needs ("meet within 48 hours"): when, who, what was agreed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from contracts.models import Contract, ServiceLevel
from slagov.models import Organization
from slagov.tenancy import TenantManager


def attendee_lines(text: str) -> list[str]:
    """Who took part, one person per non-blank line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


class Review(models.Model):
    class Kind(models.TextChoices):
        ESCALATION = "escalation", "Escalation meeting"
        SCHEDULED = "scheduled", "Scheduled review"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="reviews")
    service_level = models.ForeignKey(
        ServiceLevel, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews"
    )
    escalation = models.ForeignKey(
        "escalations.Escalation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="meetings",
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.SCHEDULED)
    held_at = models.DateTimeField()
    attendees = models.TextField(help_text="Who took part, from both sides (one per line).")
    notes = models.TextField(blank=True, help_text="What was found and agreed.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantManager(vendor="contract__vendor")

    class Meta:
        ordering = ["-held_at"]
        indexes = [
            models.Index(
                fields=["organization", "contract", "-held_at"], name="review_org_contract"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.contract_id} {self.held_at:%Y-%m-%d}"

    @property
    def attendee_list(self) -> list[str]:
        return attendee_lines(self.attendees)
