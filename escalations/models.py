"""
Escalation policies, escalations with their timeline, and the notification
outbox that gets them to people at least once (a re-send carries the same
Message-ID).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from contracts.models import Contract, ServiceLevel
from slagov.models import Organization
from slagov.tenancy import TenantManager


class Recipient(models.TextChoices):
    OWNER = "owner", "Contract owner"
    VENDOR_CONTACTS = "vendor_contacts", "The vendor's contacts"
    ACCOUNT_MANAGERS = "account_managers", "Account managers"
    LEADERSHIP = "leadership", "Leadership"
    ADMINS = "admins", "Organisation admins"


class EscalationPolicy(models.Model):
    """
    Ordered steps for one organisation (`contract` empty: the default) or for
    one contract (an override, used instead of the default).
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    contract = models.ForeignKey(
        Contract, null=True, blank=True, on_delete=models.CASCADE, related_name="policies"
    )
    name = models.CharField(max_length=120, default="Escalation policy")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()

    class Meta:
        verbose_name_plural = "escalation policies"
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(contract__isnull=True),
                name="escalationpolicy_one_default",
            ),
            models.UniqueConstraint(
                fields=["organization", "contract"],
                condition=Q(contract__isnull=False),
                name="escalationpolicy_one_per_contract",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class EscalationStep(models.Model):
    """
    One condition and what follows from it.

    - `state`: the SLA has been `colour` (yellow-or-worse, or red) for at least
      `threshold` days: the days covered by the unbroken trailing run of
      periods in that state (one red monthly reading is that month's days).
    - `forecast`: forecast to turn red within `threshold` periods while still
      green or yellow (an early warning; not for compliance-mode contracts).
    - `missed_due`: an escalation's due-by passed unmet: one level up.
    - `data_late`: the SLA's data is late by at least `threshold` days.
    - `vendor_warning`: the vendor raised a warning on the SLA that is still open
      (an early warning; the owner is told once per warning).
    """

    class Condition(models.TextChoices):
        STATE = "state", "In a state for N days"
        FORECAST = "forecast", "Forecast to turn red within N periods"
        MISSED_DUE = "missed_due", "Due-by missed"
        DATA_LATE = "data_late", "Data late by N days"
        VENDOR_WARNING = "vendor_warning", "The vendor raised a warning on it"

    class State(models.TextChoices):
        YELLOW_OR_WORSE = "yellow_or_worse", "Yellow or worse"
        RED = "red", "Red"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    condition = models.CharField(max_length=16, choices=Condition.choices)
    state = models.CharField(max_length=16, choices=State.choices, blank=True)
    threshold = models.PositiveSmallIntegerField(
        default=0, help_text="Days (state, data late) or periods (forecast)."
    )
    level = models.PositiveSmallIntegerField(help_text="0 early warning, 1 managers, 2 leadership…")
    recipients = models.JSONField(default=list, help_text="Roles to notify.")
    due_hours = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="A meeting must be recorded within this many hours."
    )
    action = models.CharField(max_length=200, help_text="What has to happen, in words.")

    objects = TenantManager()

    class Meta:
        ordering = ["policy", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "policy", "order"], name="escalationstep_unique_order"
            ),
            models.CheckConstraint(
                condition=~Q(condition="state") | Q(state__in=["yellow_or_worse", "red"]),
                name="escalationstep_state_needs_colour",
            ),
            models.CheckConstraint(condition=Q(level__lte=5), name="escalationstep_level_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_condition_display()} → level {self.level}"

    @property
    def condition_text(self) -> str:
        """The condition in words: `Yellow or worse for 14 days`, `Data late by 7 days`."""
        match self.condition:
            case self.Condition.STATE:
                return f"{self.get_state_display()} for {self.threshold} days"
            case self.Condition.FORECAST:
                return f"Forecast to turn red within {self.threshold} periods"
            case self.Condition.DATA_LATE:
                return f"Data late by {self.threshold} days"
        return self.get_condition_display()

    @property
    def recipient_labels(self) -> list[str]:
        return [Recipient(r).label for r in self.recipients if r in Recipient.values]

    @property
    def early_warning(self) -> bool:
        """Steps that act before a breach: not for compliance-mode contracts."""
        return self.condition in (self.Condition.FORECAST, self.Condition.VENDOR_WARNING) or (
            self.condition == self.Condition.STATE and self.state == self.State.YELLOW_OR_WORSE
        )


class Escalation(models.Model):
    """
    Opened by a step for an SLA. One open escalation per SLA and kind
    (performance, or data late), however often conditions are evaluated.

    Transitions (enforced in escalations.services):
      open → acknowledged                 (someone takes it on)
      open | acknowledged → open          (a new level: a new step, a new acknowledgement)
      open | acknowledged → resolved      (back to green or the forecast cleared on its own,
                                           or by hand with a reason and a quiet period)
      resolved → open                     (reopened: the condition returned within
                                           `FLAP_PERIODS` periods, or a quiet period ended
                                           while it still holds, or it got worse)
    A resolved one that recurs later opens anew.
    """

    class Kind(models.TextChoices):
        PERFORMANCE = "performance", "Performance"
        DATA = "data", "Data late"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    class Resolution(models.TextChoices):
        BACK_TO_GREEN = "back_to_green", "Back to green"
        FORECAST_CLEARED = "forecast_cleared", "Forecast cleared"
        WARNING_CLOSED = "warning_closed", "Vendor warning closed"
        DATA_RECEIVED = "data_received", "No data late any more"
        BY_HAND = "by_hand", "Resolved by hand"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="escalations")
    service_level = models.ForeignKey(
        ServiceLevel, on_delete=models.CASCADE, related_name="escalations"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    level = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN)
    step = models.ForeignKey(EscalationStep, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(
        max_length=200, blank=True, help_text="What has to happen (kept if the policy changes)."
    )
    reason = models.CharField(max_length=300, help_text="The condition, in words.")
    opened_at = models.DateTimeField()
    due_by = models.DateTimeField(null=True, blank=True)
    due_met_at = models.DateTimeField(null=True, blank=True)
    due_missed_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_by_email = models.EmailField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    resolution_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A known risk accepted by hand: quiet at or below `quiet_level` until
    # `quiet_until` (or, without a date, until the condition gets worse or the
    # SLA is back to green); `quiet_ended_at` once it ends.
    quiet_level = models.PositiveSmallIntegerField(null=True, blank=True)
    quiet_until = models.DateField(null=True, blank=True)
    quiet_ended_at = models.DateTimeField(null=True, blank=True)
    reached_red = models.BooleanField(
        default=False, help_text="Did the SLA turn red while this was open? (breaches avoided)"
    )

    objects = TenantManager(vendor="contract__vendor")

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "service_level", "kind"],
                condition=~Q(state="resolved"),
                name="escalation_one_open_per_sla_and_kind",
            ),
        ]
        indexes = [
            # The escalation list: open ones first, newest first.
            models.Index(
                fields=["organization", "state", "-opened_at"], name="escalation_org_state"
            ),
            # Time-based sweep: open escalations past their due-by.
            models.Index(fields=["organization", "due_by"], name="escalation_org_due"),
            # The evaluation's latest resolved escalation per SLA and kind (relapses,
            # quiet periods).
            models.Index(
                fields=["organization", "service_level", "kind", "-resolved_at"],
                name="escalation_sla_resolved",
                condition=Q(state="resolved"),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} level {self.level} {self.service_level_id} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state != self.State.RESOLVED

    @property
    def quiet(self) -> bool:
        """Resolved by hand with a quiet period that has not ended."""
        return (
            self.state == self.State.RESOLVED
            and self.quiet_level is not None
            and self.quiet_ended_at is None
        )

    @property
    def overdue(self) -> bool:
        from django.utils import timezone

        return (
            self.is_open
            and self.due_by is not None
            and self.due_met_at is None
            and self.due_by < timezone.now()
        )


class EscalationEvent(models.Model):
    """The timeline: every change of an escalation, with who and why."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        FORECAST = "forecast", "Breach forecast"
        FORECAST_CLEARED = "forecast_cleared", "Forecast cleared"
        RAISED = "raised", "Level raised"
        DUE_MISSED = "due_missed", "Due-by missed"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        MEETING = "meeting", "Meeting recorded"
        RESOLVED = "resolved", "Resolved"
        REOPENED = "reopened", "Reopened"
        QUIET_ENDED = "quiet_ended", "Quiet period ended"
        NOTE = "note", "Note"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField()
    level = models.PositiveSmallIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.CharField(max_length=500)
    due_by = models.DateTimeField(
        null=True, blank=True, help_text="The due-by this event set (its e-mail shows it)."
    )

    objects = TenantManager(vendor="escalation__contract__vendor")

    class Meta:
        ordering = ["escalation", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.escalation_id} {self.kind} at {self.at:%Y-%m-%d %H:%M}"


class ForecastEpisode(models.Model):
    """
    One early warning: from the evaluation at which an SLA that is not red is
    first forecast to cross its minimum within the policy's horizon, until the
    forecast has cleared (the SLA is not red and the forecast no longer
    warns). People are told once per episode, on the SLA's escalation
    timeline. A breach during the episode is recorded (`breached_period`):
    the warning came ahead of it.

    States: open (`cleared_at` empty) → cleared.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="+")
    service_level = models.ForeignKey(
        ServiceLevel, on_delete=models.CASCADE, related_name="forecast_episodes"
    )
    escalation = models.ForeignKey(
        Escalation, null=True, on_delete=models.SET_NULL, related_name="forecast_episodes"
    )
    started_at = models.DateTimeField()
    period = models.DateField(help_text="The latest period with data when the forecast warned.")
    horizon = models.PositiveSmallIntegerField(help_text="Periods ahead the policy looks.")
    risk = models.JSONField(default=list, help_text="The risk per period ahead when it warned.")
    breached_period = models.DateField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager(vendor="contract__vendor")

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "service_level"],
                condition=Q(cleared_at__isnull=True),
                name="forecastepisode_one_open_per_sla",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_level_id} forecast from {self.period}"


def new_ack_nonce() -> str:
    return secrets.token_urlsafe(16)


class Notification(models.Model):
    """
    The outbox, the one way e-mail leaves slagov: one row per message and
    recipient, written in the same transaction as what it tells (an
    escalation's event, a review's invitation, an action item's or a data
    deadline's reminder, a digest). A worker claims a row for a lease
    (committed before it talks to SMTP), sends it and marks it sent; see
    `escalations.notify`. `key` names the message: one row per key and
    address, however often it is queued.

    States: pending → sent | failed (a permanent error, or too many attempts);
    digest rows stay pending until the digest that carries them is queued.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    class Delivery(models.TextChoices):
        IMMEDIATE = "immediate", "Immediately"
        DIGEST = "digest", "In the daily digest"

    class Kind(models.TextChoices):
        ESCALATION = "escalation", "Escalation"
        INVITATION = "invitation", "Review invitation"
        ACTION_DUE = "action_due", "Action item due soon"
        ACTION_OVERDUE = "action_overdue", "Action item overdue"
        MEMBER_INVITE = "member_invite", "Invitation to join"
        DATA_DUE = "data_due", "Data due soon"
        DATA_LATE = "data_late", "Data late"
        DIGEST = "digest", "Daily digest"
        LEADERSHIP = "leadership", "Leadership digest"
        ACCOUNT = "account", "Account e-mail"
        CREDIT_NOTICE = "credit_notice", "Service credit claim"
        REPORT = "report", "Monthly leadership report"

    # Kinds rendered when queued: their payload holds subject, text and html.
    PRERENDERED = (
        Kind.DATA_DUE, Kind.DATA_LATE, Kind.DIGEST, Kind.LEADERSHIP, Kind.ACCOUNT,
        Kind.CREDIT_NOTICE, Kind.REPORT,
    )  # fmt: skip

    # Empty only for account e-mails (password reset, address check), which belong
    # to a person, not to an organisation: no organisation's page lists them.
    organization = models.ForeignKey(Organization, null=True, on_delete=models.CASCADE)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ESCALATION)
    key = models.CharField(max_length=120, help_text="What message this is (one per address).")
    event = models.ForeignKey(
        EscalationEvent, null=True, blank=True, on_delete=models.CASCADE,
        related_name="notifications",
    )  # fmt: skip
    escalation = models.ForeignKey(
        Escalation, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    review = models.ForeignKey(
        "reviews.Review", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    action_item = models.ForeignKey(
        "reviews.ActionItem", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    payload = models.JSONField(default=dict, blank=True, help_text="What the message says.")
    email = models.EmailField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    delivery = models.CharField(max_length=9, choices=Delivery.choices, default=Delivery.IMMEDIATE)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    ack_nonce = models.CharField(max_length=32, default=new_ack_nonce, unique=True)
    ack_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantManager(vendor="escalation__contract__vendor")

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key", "email"], name="notification_once_per_key"
            ),
        ]
        indexes = [
            # Pending rows by delivery: the digests gather their member's rows.
            models.Index(
                fields=["state", "delivery", "next_attempt_at"],
                name="notification_due",
                condition=Q(state="pending"),
            ),
            # The sender's claim (notify.CLAIM_SQL): the first due immediate row in
            # (next_attempt_at, id) order, an index lookup however many wait (rows
            # queued together share a next_attempt_at, so the id is in the key).
            models.Index(
                fields=["next_attempt_at", "id"],
                name="notification_claim",
                condition=Q(state="pending", delivery="immediate"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.email} ({self.state})"
