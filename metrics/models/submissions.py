"""
Submissions: one upload or API batch of readings, validated before anything
is applied, with every row-level error kept.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q

from contracts.models import Contract, ServiceLevel, Vendor
from contracts.periods import period_label
from contracts.rules import Colour
from slagov.models import Organization
from slagov.tenancy import TenantManager


def submission_path(instance: Submission, filename: str) -> str:
    # Stored under a name we choose: the user's file name is kept in a field,
    # never used as a path.
    stamp = instance.created_at or None
    month = stamp.strftime("%Y/%m") if stamp else "unsorted"
    return f"submissions/{instance.organization_id}/{month}/{instance.sha256}{instance.extension}"


class Submission(models.Model):
    """
    One upload or API batch for one vendor.

    States and their transitions (enforced by metrics.services):
      received   → validating              (the validation task claims it)
      validating → ready | invalid         (every problem collected in one pass)
      ready      → applying → applied      (one confirmation claims it; all or nothing)
      ready      → received                (the data changed since the preview: re-validated)
      received   → duplicate               (byte-identical to an applied submission whose
                                            values are all still the stored ones)
      received | validating → failed       (an unexpected error, or MAX_ATTEMPTS attempts that
                                            never finished: a worker died reading the file)
      ready | invalid | failed | expired → received
                                           (validated again, by hand: attempts start over)
      received | validating | invalid | ready | failed | duplicate → discarded
                                           (by an uploader; its staged rows are deleted)
      ready → expired                      (a preview not applied within PREVIEW_DAYS of
                                            its validation; its staged rows are deleted)
    """

    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        VALIDATING = "validating", "Validating"
        INVALID = "invalid", "Has errors"
        READY = "ready", "Ready to apply"
        APPLYING = "applying", "Applying"
        APPLIED = "applied", "Applied"
        DUPLICATE = "duplicate", "Identical to an earlier file"
        FAILED = "failed", "Failed"
        DISCARDED = "discarded", "Discarded"
        EXPIRED = "expired", "Expired"

    class Source(models.TextChoices):
        UPLOAD = "upload", "Upload"
        API = "api", "API"

    FINISHED = {
        State.INVALID, State.READY, State.APPLIED, State.DUPLICATE, State.FAILED, State.DISCARDED,
        State.EXPIRED,
    }  # fmt: skip
    DISCARDABLE = {
        State.RECEIVED, State.VALIDATING, State.INVALID, State.READY, State.FAILED,
        State.DUPLICATE,
    }  # fmt: skip
    REVALIDATABLE = {State.READY, State.INVALID, State.FAILED, State.EXPIRED}
    MAX_ATTEMPTS = 3  # validation attempts before a submission that never finishes is failed
    # A preview shows the data as it was when it was made: after this many days
    # unapplied it expires (a scheduled job), and leaves the pending list.
    PREVIEW_DAYS = 7

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="submissions")
    source = models.CharField(max_length=6, choices=Source.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    file = models.FileField(upload_to=submission_path, max_length=300)
    original_name = models.CharField(max_length=255)
    extension = models.CharField(max_length=8)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RECEIVED)
    progress = models.PositiveSmallIntegerField(default=0)
    apply_when_valid = models.BooleanField(
        default=False, help_text="API batches without dry_run are applied as soon as they validate."
    )
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_new = models.PositiveIntegerField(default=0)
    rows_changed = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_with_errors = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    failure = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Validation attempts since it was received or last tried again."
    )
    claimed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the current validation attempt started."
    )
    discarded_at = models.DateTimeField(null=True, blank=True)
    discarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    validated_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = TenantManager(vendor="vendor")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The submissions list of a vendor, newest first.
            models.Index(
                fields=["organization", "vendor", "-created_at"], name="submission_org_vendor_new"
            ),
            # "Identical to submission #12": byte-identical re-uploads.
            models.Index(fields=["organization", "vendor", "sha256"], name="submission_org_sha"),
            # The expiry job: previews still ready, oldest first (few rows: a partial index).
            models.Index(
                fields=["organization", "validated_at"],
                name="submission_ready_since",
                condition=Q(state="ready"),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.original_name} ({self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED

    @property
    def can_discard(self) -> bool:
        return self.state in self.DISCARDABLE

    @property
    def can_revalidate(self) -> bool:
        return self.state in self.REVALIDATABLE

    @property
    def expires_at(self):
        """When a ready preview expires (None for any other state)."""
        if self.state != self.State.READY:
            return None
        return (self.validated_at or self.created_at) + timedelta(days=self.PREVIEW_DAYS)

    @property
    def can_confirm(self) -> bool:
        return self.state == self.State.READY and (self.rows_new or self.rows_changed) > 0


class SubmissionRow(models.Model):
    """A validated row waiting to be applied: what the preview shows and the apply writes."""

    class Action(models.TextChoices):
        NEW = "new", "New"
        CHANGED = "changed", "Changed"
        UNCHANGED = "unchanged", "Unchanged"

    # Staged rows are bulk-written: only the submission is checked by a database
    # foreign key (PostgreSQL checks each one at commit); the organisation is the
    # submission's, and the SLA is checked again by the readings' own key on apply.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="rows")
    row_number = models.PositiveIntegerField()
    service_level = models.ForeignKey(
        ServiceLevel, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    period_start = models.DateField()
    value = models.DecimalField(max_digits=18, decimal_places=6)
    note = models.CharField(max_length=500, blank=True)
    action = models.CharField(max_length=9, choices=Action.choices)
    old_value = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    colour = models.CharField(max_length=8, choices=Colour.choices)

    objects = TenantManager(vendor="submission__vendor")

    class Meta:
        ordering = ["submission", "row_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "submission", "service_level", "period_start"],
                name="submissionrow_one_per_sla_and_period",
            ),
        ]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.action}"

    @property
    def period_label(self) -> str:
        return period_label(self.period_start, self.service_level.period)


class SubmissionError(models.Model):
    """One problem, where it is: row as the user sees it in the file, column, value."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="errors")
    row_number = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the file.")
    # The row's SLA when its contract and code were found (bulk-written, as staged rows are).
    service_level = models.ForeignKey(
        ServiceLevel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_constraint=False,
    )  # fmt: skip
    column = models.CharField(max_length=60, blank=True)
    value = models.CharField(max_length=200, blank=True)
    message = models.CharField(max_length=500)

    objects = TenantManager(vendor="submission__vendor")

    class Meta:
        ordering = ["submission", "row_number", "pk"]
        indexes = [
            models.Index(fields=["organization", "submission"], name="submissionerror_sub"),
        ]

    def __str__(self) -> str:
        where = f"row {self.row_number}" if self.row_number else "file"
        return f"{where} {self.column}: {self.message}"


class IdempotencyKey(models.Model):
    """
    An API request made with an `Idempotency-Key` header. The same key with the
    same body returns the stored response; with another body it is a 422; while
    the first request is still running it is a 409.
    """

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight", "In flight"
        DONE = "done", "Done"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=9, choices=State.choices, default=State.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "key"], name="idempotencykey_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"


class DataReminder(models.Model):
    """
    A data-deadline e-mail for one contract and period: `upcoming` a few days
    before the deadline, `late` after it. One row each, so each is sent once.
    """

    class Kind(models.TextChoices):
        UPCOMING = "upcoming", "Deadline coming up"
        LATE = "late", "Data late"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="+")
    period_start = models.DateField()
    kind = models.CharField(max_length=8, choices=Kind.choices)
    deadline = models.DateField()
    missing = models.JSONField(default=list, help_text="SLA codes without data when it was sent.")
    recipients = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager(vendor="contract__vendor")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contract", "period_start", "kind"],
                name="datareminder_once_per_period_and_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["upcoming", "late"]), name="datareminder_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.period_start} {self.kind}"
