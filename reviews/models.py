"""
The governance loop: joint reviews (planned from the cadence or called by an
escalation, an agenda drafted from the data, held with minutes, signed off by
both sides), the action items that come out of them, and the risks a vendor
raises before the numbers show them.

Every row carries its organisation; every change of state writes an event.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from contracts.models import Contract, ServiceLevel
from slagov.models import Organization
from slagov.tenancy import TenantManager


def attendee_lines(text: str) -> list[str]:
    """Who took part, one person per non-blank line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


class Side(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    VENDOR = "vendor", "Vendor"


class Review(models.Model):
    """
    A meeting of both sides about one contract.

    States (enforced in reviews.services):
      planned → planned          (moved: a new date, place or link; attendees re-invited)
      planned → held             (minutes saved: the agenda is frozen with it)
      held → signed_off          (one person of each side signed the same pack)
      planned → cancelled
    """

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled review"
        ESCALATION = "escalation", "Escalation meeting"
        AD_HOC = "ad_hoc", "Extra review"

    class State(models.TextChoices):
        PLANNED = "planned", "Planned"
        HELD = "held", "Held"
        SIGNED_OFF = "signed_off", "Signed off"
        CANCELLED = "cancelled", "Cancelled"

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
        help_text="The escalation that called this meeting.",
    )
    also_for = models.ManyToManyField(
        "escalations.Escalation",
        blank=True,
        related_name="shared_meetings",
        help_text="The contract's other escalations this meeting answers: one meeting for all.",
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.SCHEDULED)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PLANNED)
    scheduled_at = models.DateTimeField(help_text="When the meeting starts.")
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    location = models.CharField(
        max_length=300, blank=True, help_text="A room, or a link to the call."
    )
    covers_from = models.DateField(
        null=True, blank=True, help_text="The first period the review looks back on."
    )
    held_at = models.DateTimeField(null=True, blank=True)
    attendees = models.TextField(
        blank=True, help_text="Who took part, from both sides (one per line)."
    )
    notes = models.TextField(blank=True, help_text="What was found, in general.")
    decisions = models.TextField(blank=True, help_text="What was decided.")
    agenda_drafted_at = models.DateTimeField(null=True, blank=True)
    # The pack both sides sign: made once after the review is held, then kept as it is.
    pack = models.FileField(upload_to="reviews/packs/%Y/%m/", blank=True)
    pack_sha256 = models.CharField(max_length=64, blank=True)
    sequence = models.PositiveIntegerField(
        default=0, help_text="Bumped each time the invitation changes (iCalendar SEQUENCE)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantManager(vendor="contract__vendor")

    class Meta:
        ordering = ["-scheduled_at"]
        constraints = [
            # The next cadence review is planned once, however often the planner runs.
            models.UniqueConstraint(
                fields=["organization", "contract"],
                condition=Q(kind="scheduled", state="planned"),
                name="review_one_planned_per_contract",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["held", "signed_off"]) | Q(held_at__isnull=False),
                name="review_held_has_a_time",
            ),
        ]
        indexes = [
            # The contract page's reviews, newest first.
            models.Index(
                fields=["organization", "contract", "-scheduled_at"], name="review_org_contract"
            ),
            # The calendar: the organisation's reviews by date.
            models.Index(fields=["organization", "scheduled_at"], name="review_org_date"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.contract_id} {self.scheduled_at:%Y-%m-%d}"

    @property
    def attendee_list(self) -> list[str]:
        return attendee_lines(self.attendees)

    def escalation_ids(self) -> list[int]:
        """The ids of escalations answered (no query for a review no escalation called)."""
        if not self.escalation_id:
            return []
        others = self.also_for.exclude(pk=self.escalation_id).order_by("pk")
        return [self.escalation_id, *others.values_list("pk", flat=True)]

    def escalations_answered(self) -> list:
        """The escalations whose meeting this is: the one that called it, then the others."""
        first = [self.escalation] if self.escalation_id else []
        return first + [e for e in self.also_for.order_by("pk") if e.pk != self.escalation_id]

    @property
    def frozen(self) -> bool:
        """Held, signed or cancelled: the agenda is what both sides saw."""
        return self.state != self.State.PLANNED


class AgendaItem(models.Model):
    """
    One item of a review's agenda: drafted from the data (with the numbers both
    sides saw, in `data`), or a topic added by either side. Minutes are kept per
    item. Drafted items are redrafted until the review is held, then frozen.
    """

    class Section(models.TextChoices):
        PERFORMANCE = "performance", "Performance since the last review"
        RISKS = "risks", "Upcoming risks"
        ACTIONS = "actions", "Open and overdue action items"
        IMPROVEMENT = "improvement", "Improvement-clause progress"
        CREDITS = "credits", "Service credits (the backstop)"
        TIMELINESS = "timeliness", "Data timeliness"
        TOPIC = "topic", "Topics raised by either side"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="items")
    section = models.CharField(max_length=12, choices=Section.choices)
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=200)
    details = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True, help_text="The figures, as drafted.")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    side = models.CharField(max_length=8, choices=Side.choices, blank=True)
    minutes = models.TextField(blank=True)

    objects = TenantManager(vendor="review__contract__vendor")

    class Meta:
        ordering = ["review", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.review_id} {self.section}: {self.title}"

    @property
    def drafted(self) -> bool:
        return self.section != self.Section.TOPIC


class ReviewAttendee(models.Model):
    """Who is invited to (and who came to) a review: a member of either side, or a guest."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="people")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    side = models.CharField(max_length=8, choices=Side.choices)
    attended = models.BooleanField(null=True, help_text="Unknown until the review is held.")

    objects = TenantManager(vendor="review__contract__vendor")

    class Meta:
        ordering = ["review", "side", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "review", "user"],
                condition=Q(user__isnull=False),
                name="reviewattendee_once_per_member",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.side})"


class ReviewEvent(models.Model):
    """A review's history: planned, moved, agenda drafted, topic added, held, signed…"""

    class Kind(models.TextChoices):
        PLANNED = "planned", "Planned"
        MOVED = "moved", "Moved"
        DRAFTED = "drafted", "Agenda drafted"
        TOPIC = "topic", "Topic added"
        HELD = "held", "Held"
        SIGNED = "signed", "Signed off"
        CANCELLED = "cancelled", "Cancelled"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.CharField(max_length=500)

    objects = TenantManager(vendor="review__contract__vendor")

    class Meta:
        ordering = ["review", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.review_id} {self.kind} at {self.at:%Y-%m-%d %H:%M}"


class ReviewSignature(models.Model):
    """One side's sign-off: who, when, and the SHA-256 of the exact pack signed."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="signatures")
    side = models.CharField(max_length=8, choices=Side.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=200, help_text="As signed, kept if the account goes.")
    signed_at = models.DateTimeField()
    sha256 = models.CharField(max_length=64)

    objects = TenantManager(vendor="review__contract__vendor")

    class Meta:
        ordering = ["review", "signed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "review", "side"], name="reviewsignature_once_per_side"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.review_id} signed by {self.name} ({self.side})"


class VendorWarning(models.Model):
    """
    A risk the vendor raises on an SLA before the numbers show it ("parts
    shortage will slow repairs"). Data is for improvement, not a weapon.

    States (enforced in reviews.vendor_warnings):
      open → acknowledged   (the customer side has read it, with an answer)
      open | acknowledged → closed
    When the SLA breaches while it is open, the warning is kept as raised
    `periods_ahead` periods before the breach.
    """

    class State(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        CLOSED = "closed", "Closed"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="warnings")
    service_level = models.ForeignKey(
        ServiceLevel, on_delete=models.CASCADE, related_name="vendor_warnings"
    )
    title = models.CharField(max_length=200, help_text="What is at risk, in a line.")
    impact = models.TextField(help_text="What it will do to the service.")
    period_from = models.DateField(help_text="The first period it affects.")
    period_to = models.DateField(null=True, blank=True, help_text="The last (empty: not known).")
    mitigation = models.TextField(blank=True, help_text="What the vendor is doing about it.")
    attachment = models.FileField(upload_to="warnings/%Y/%m/", blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    raised_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    answer = models.TextField(blank=True, help_text="The customer side's answer.")
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    breached_period = models.DateField(
        null=True, blank=True, help_text="The first red period after it was raised."
    )
    periods_ahead = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="How many periods before that breach it was raised."
    )

    objects = TenantManager(vendor="contract__vendor")

    class Meta:
        ordering = ["-raised_at"]
        indexes = [
            # Open warnings of a contract (contract page, agenda, watch list).
            models.Index(fields=["organization", "contract", "state"], name="warning_contract"),
        ]

    def __str__(self) -> str:
        return f"{self.service_level_id}: {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state != self.State.CLOSED


class ActionItem(models.Model):
    """
    A follow-up owned by one person of either side.

    States (enforced in reviews.actions):
      open → in_progress → done
      open | in_progress → done | cancelled
      in_progress → open     (put back)
    Each change is an event with its actor and time.
    """

    class State(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="action_items")
    review = models.ForeignKey(
        Review, null=True, blank=True, on_delete=models.SET_NULL, related_name="action_items"
    )
    service_level = models.ForeignKey(
        ServiceLevel, null=True, blank=True, on_delete=models.SET_NULL, related_name="action_items"
    )
    escalation = models.ForeignKey(
        "escalations.Escalation", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="action_items",
    )  # fmt: skip
    warning = models.ForeignKey(
        VendorWarning, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="action_items",
    )  # fmt: skip
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="action_items"
    )
    owner_side = models.CharField(max_length=8, choices=Side.choices)
    due_date = models.DateField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager(vendor="contract__vendor")

    class Meta:
        ordering = ["due_date", "pk"]
        indexes = [
            # "My action items" and the reminder job: open items by owner and due date.
            models.Index(fields=["organization", "owner", "due_date"], name="action_owner_due"),
            # The contract page and the agenda: a contract's items by state.
            models.Index(fields=["organization", "contract", "state"], name="action_contract"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.state in (self.State.OPEN, self.State.IN_PROGRESS)


class ActionItemEvent(models.Model):
    """An action item's history: created, state changes, owner and due date changes, comments."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        STATE = "state", "State changed"
        CHANGED = "changed", "Owner or due date changed"
        COMMENT = "comment", "Comment"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    item = models.ForeignKey(ActionItem, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    side = models.CharField(max_length=8, choices=Side.choices, blank=True)
    message = models.TextField()

    objects = TenantManager(vendor="item__contract__vendor")

    class Meta:
        ordering = ["item", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.item_id} {self.kind} at {self.at:%Y-%m-%d %H:%M}"


class RelevanceCheck(models.Model):
    """
    "Is this still the right measure?", answered for one SLA at a review: kept,
    or to be changed (with why). An SLA nobody has asked this of for a quarter
    counts against the contract's governance health (`reviews.health`).
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="relevance_checks")
    service_level = models.ForeignKey(
        ServiceLevel, on_delete=models.CASCADE, related_name="relevance_checks"
    )
    still_right = models.BooleanField(help_text="Still the right measure of the service?")
    note = models.CharField(max_length=500, blank=True, help_text="Why, or what should change.")
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_at = models.DateTimeField()

    objects = TenantManager(vendor="review__contract__vendor")

    class Meta:
        ordering = ["review", "service_level"]
        constraints = [
            # One answer per SLA and review; answering again replaces it.
            models.UniqueConstraint(
                fields=["organization", "review", "service_level"],
                name="relevancecheck_once_per_review_and_sla",
            ),
        ]
        indexes = [
            # Governance health: the latest check of each SLA.
            models.Index(
                fields=["organization", "service_level", "checked_at"], name="relevance_sla"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_level_id} at {self.review_id}: {self.still_right}"
