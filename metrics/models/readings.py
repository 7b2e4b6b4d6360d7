"""
Readings and the statuses computed from them.

Pages and dashboards read `PeriodStatus` and `SlaHealth`; they never
recompute on a page view. The status engine (`metrics.engine`) writes both.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from contracts.models import ServiceLevel
from contracts.periods import period_label
from contracts.rules import Colour
from slagov.models import Organization
from slagov.tenancy import TenantManager


class Reading(models.Model):
    """
    One value for one SLA and one period. A correction replaces the value (and
    bumps `revision`); the superseded values are kept as revisions.
    """

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual entry"
        UPLOAD = "upload", "Upload"
        API = "api", "API"
        DEMO = "demo", "Demo data"

    # No separate index: the unique constraint starts with the organisation.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, db_index=False)
    service_level = models.ForeignKey(
        ServiceLevel, on_delete=models.CASCADE, related_name="readings"
    )
    period_start = models.DateField()
    value = models.DecimalField(max_digits=18, decimal_places=6)
    source = models.CharField(max_length=10, choices=Source.choices)
    note = models.CharField(max_length=500, blank=True)
    # Provenance columns: kept consistent by the ORM's on_delete, without a
    # database check per row (a 100,000-row upload would pay for each at commit).
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    submitted_at = models.DateTimeField()
    submission = models.ForeignKey(
        "metrics.Submission",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    revision = models.PositiveIntegerField(default=1)

    objects = TenantManager(vendor="service_level__contract__vendor")

    class Meta:
        ordering = ["service_level", "period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "service_level", "period_start"],
                name="reading_one_per_sla_and_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_level.code} {self.period_start}: {self.value}"

    @property
    def period_label(self) -> str:
        return period_label(self.period_start, self.service_level.period)


class PeriodStatus(models.Model):
    """
    The colour of one SLA for one period, judged against the thresholds in
    force for that period, with the credit it earns. Rows exist for every
    period from the contract start to the last closed period; a period without
    a reading is `no_data` until its submission deadline, then `late`.

    Derived data, written in bulk by the engine: no database foreign key (a
    check per row at commit, for 1,000,000s of rows). The engine writes rows
    only for the SLAs it reads, and the ORM's on_delete removes them with
    their SLA, organisation or reading; a row left behind is deleted by the
    engine's next recompute or dropped with its tenant.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    # The unique constraint (organisation, SLA, period) serves lookups by SLA
    # within a tenant; this index, the ORM's cascade from an SLA.
    service_level = models.ForeignKey(
        ServiceLevel, on_delete=models.CASCADE, related_name="statuses", db_constraint=False
    )
    period_start = models.DateField()
    colour = models.CharField(max_length=8, choices=Colour.choices)
    value = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    target = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    minimum = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    reading = models.ForeignKey(
        Reading,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    reading_revision = models.PositiveIntegerField(null=True, blank=True)
    credit_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    credit_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    computed_at = models.DateTimeField()

    objects = TenantManager(vendor="service_level__contract__vendor")

    class Meta:
        ordering = ["service_level", "period_start"]
        verbose_name_plural = "period statuses"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "service_level", "period_start"],
                name="periodstatus_one_per_sla_and_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_level_id} {self.period_start}: {self.colour}"


class SlaHealth(models.Model):
    """
    The latest state of one SLA (what the portfolio and contract pages show),
    with its trend: robust slope, forecast with an 80 % band, the risk that
    each of the next periods is red, periods until the forecast crosses the
    minimum, and the drifting and unusual-value flags with their reasons.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    service_level = models.OneToOneField(
        ServiceLevel, on_delete=models.CASCADE, related_name="health"
    )
    latest_period = models.DateField(null=True, blank=True)
    colour = models.CharField(max_length=8, choices=Colour.choices, default=Colour.NO_DATA)
    value = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    target = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    minimum = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    points = models.PositiveSmallIntegerField(default=0, help_text="Values the trend is based on.")
    enough_data = models.BooleanField(default=False)
    method = models.CharField(max_length=40, blank=True)
    slope = models.FloatField(null=True, blank=True, help_text="Per period, in the SLA's unit.")
    forecast = models.JSONField(default=list, blank=True)
    risk = models.JSONField(
        default=list, blank=True,
        help_text="Probability that each of the next periods is worse than the minimum.",
    )  # fmt: skip
    periods_to_breach = models.PositiveSmallIntegerField(null=True, blank=True)
    drifting = models.BooleanField(default=False)
    drift_note = models.CharField(max_length=200, blank=True, help_text="The drift in words.")
    anomaly = models.BooleanField(
        default=False, help_text="The latest value is unusually bad (far outside its range)."
    )
    improvement = models.BooleanField(
        default=False, help_text="The latest value is unusually good: shown, never escalated."
    )
    anomaly_note = models.CharField(max_length=200, blank=True)
    seasonal = models.BooleanField(
        default=False, help_text="The forecast follows last year's pattern."
    )
    computed_at = models.DateTimeField()
    # What the statuses and this row were last computed from in full
    # (`metrics.engine.changes`): a digest of the inputs, and the days on
    # which the passing of time leaves them as they are [clock_from, clock_until).
    # A database default: code from before these columns still inserts rows.
    input_digest = models.CharField(max_length=32, blank=True, default="", db_default="")
    clock_from = models.DateField(null=True, blank=True)
    clock_until = models.DateField(null=True, blank=True)

    objects = TenantManager(vendor="service_level__contract__vendor")

    class Meta:
        verbose_name_plural = "SLA health"
        indexes = [
            # Portfolio filter "contracts with an SLA in colour X".
            models.Index(fields=["organization", "colour"], name="slahealth_org_colour"),
        ]

    def __str__(self) -> str:
        return f"{self.service_level_id}: {self.colour}"

    @property
    def forecast_red_next(self) -> bool:
        """Red now, or forecast red in the next period."""
        return self.periods_to_breach is not None and self.periods_to_breach <= 1


class ReadingRevision(models.Model):
    """A superseded value of a reading: who gave it, when, and why it was replaced."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    reading = models.ForeignKey(Reading, on_delete=models.CASCADE, related_name="revisions")
    revision = models.PositiveIntegerField()
    value = models.DecimalField(max_digits=18, decimal_places=6)
    source = models.CharField(max_length=10, choices=Reading.Source.choices)
    note = models.CharField(max_length=500, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField()
    superseded_at = models.DateTimeField()
    superseded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, help_text="Why the value was corrected.")
    submission = models.ForeignKey(
        "metrics.Submission",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The submission that gave the superseded value.",
    )
    replaced_by_submission = models.ForeignKey(
        "metrics.Submission",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The submission whose value replaced this one.",
    )

    objects = TenantManager(vendor="reading__service_level__contract__vendor")

    class Meta:
        ordering = ["reading", "-revision"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "reading", "revision"], name="readingrevision_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reading_id} r{self.revision}: {self.value}"
