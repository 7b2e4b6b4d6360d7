"""
Vendors, contracts, service levels and their effective-dated terms.

Every row carries its organisation (even where a join could find it) so the
data can be sharded by tenant; constraints and indexes start with it.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from contracts import bounds, periods, rules
from contracts.governance import Mode, Recommendation, recommend_mode
from slagov.models import Organization
from slagov.tenancy import TenantManager


class Vendor(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    website = models.URLField(blank=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantManager(vendor="pk")
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="vendor_unique_name"),
        ]

    # The columns `__str__` reads: a filter offering every vendor reads only these.
    LABEL_COLUMNS = ("name",)

    def __str__(self) -> str:
        return self.label_of(self.name)

    @staticmethod
    def label_of(name: str) -> str:
        return name


class VendorContact(models.Model):
    """A person at the vendor: receives data reminders and escalations."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    role = models.CharField(max_length=120, blank=True, help_text="e.g. service delivery manager")

    objects = TenantManager(vendor="vendor")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "vendor", "email"], name="vendorcontact_unique_email"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class Contract(models.Model):
    class Category(models.TextChoices):
        IT_OUTSOURCING = "it_outsourcing", "IT outsourcing"
        CLOUD = "cloud", "Cloud"
        FACILITIES = "facilities", "Facilities"
        PROFESSIONAL_SERVICES = "professional_services", "Professional services"
        LOGISTICS = "logistics", "Logistics and fleet"
        TELECOM = "telecom", "Telecom"
        INTERNAL = "internal", "Internal"
        COMMODITY = "commodity", "Commodity"

    class Cadence(models.TextChoices):
        MONTHLY = "monthly", "Monthly"
        QUARTERLY = "quarterly", "Quarterly"

    class ModeChoice(models.TextChoices):
        AUTO = "auto", "As recommended"
        PROACTIVE = "proactive", "Proactive"
        COMPLIANCE = "compliance", "Compliance"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="contracts")
    reference = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    category = models.CharField(max_length=30, choices=Category.choices)
    annual_value = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(max_length=3, default="EUR")
    start_date = models.DateField()
    end_date = models.DateField(help_text="The last day of the contract.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_contracts",
        help_text="The account manager who owns the contract.",
    )
    vendor_contacts = models.ManyToManyField(
        VendorContact, through="ContractContact", blank=True, related_name="contracts"
    )
    review_cadence = models.CharField(
        max_length=10, choices=Cadence.choices, default=Cadence.MONTHLY
    )
    submission_deadline_days = models.PositiveSmallIntegerField(
        default=5,
        validators=[MaxValueValidator(bounds.DEADLINE_DAYS_MAX)],
        help_text="Days after a period ends by which the vendor must submit its data.",
    )
    clause_performance_reviews = models.BooleanField("performance review clause", default=True)
    clause_data_sharing = models.BooleanField("data sharing clause", default=True)
    clause_continuous_improvement = models.BooleanField(
        "continuous improvement clause", default=False
    )
    adversarial = models.BooleanField(
        "adversarial relationship",
        default=False,
        help_text="A history of bad faith: governance falls back to strict compliance.",
    )
    governance_mode = models.CharField(
        max_length=12, choices=ModeChoice.choices, default=ModeChoice.AUTO
    )
    at_risk_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("12"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Cap on service credits per period, in % of the monthly charge.",
    )
    credit_claim_days = models.PositiveSmallIntegerField(
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(bounds.CLAIM_DAYS_MAX)],
        help_text="Days after a month ends within which its service credit can be claimed.",
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager(vendor="vendor")
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["reference"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "reference"], name="contract_unique_reference"
            ),
            models.CheckConstraint(
                condition=Q(end_date__gt=F("start_date")), name="contract_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(at_risk_percent__gte=0) & Q(at_risk_percent__lte=100),
                name="contract_at_risk_percent_range",
            ),
        ]
        indexes = [
            # Portfolio filtered by vendor; a vendor user's whole view.
            models.Index(fields=["organization", "vendor"], name="contract_org_vendor"),
            # Portfolio filtered by owner ("my contracts").
            models.Index(fields=["organization", "owner"], name="contract_org_owner"),
        ]

    # The columns `__str__` reads: a filter offering every contract (thousands) reads
    # only these, without building a model per contract (slagov.filters).
    LABEL_COLUMNS = ("reference", "title")

    def __str__(self) -> str:
        return self.label_of(self.reference, self.title)

    @staticmethod
    def label_of(reference: str, title: str) -> str:
        return f"{reference} {title}"

    def clean(self) -> None:
        """The number ranges (`bounds`), for every way in, the admin included."""
        if problems := bounds.contract_numbers_problems(
            annual_value=self.annual_value,
            at_risk_percent=self.at_risk_percent,
            deadline_days=self.submission_deadline_days,
            claim_days=self.credit_claim_days,
        ):
            raise ValidationError(problems)

    @property
    def monthly_charge(self) -> Decimal:
        return (self.annual_value / 12).quantize(Decimal("0.01"))

    def recommendation(self) -> Recommendation:
        org = self.organization
        return recommend_mode(
            annual_value=self.annual_value,
            currency=self.currency,
            threshold=org.compliance_threshold,
            threshold_currency=org.currency,
            start=self.start_date,
            # A stored end on the calendar's last day (from before the date
            # rules) is read as the day before: the term is long either way.
            end=min(self.end_date, date.max - timedelta(days=1)),
            is_commodity=self.category == self.Category.COMMODITY,
            adversarial=self.adversarial,
            clauses={
                "performance reviews": self.clause_performance_reviews,
                "data sharing": self.clause_data_sharing,
                "continuous improvement": self.clause_continuous_improvement,
            },
        )

    @property
    def effective_mode(self) -> str:
        if self.governance_mode == self.ModeChoice.AUTO:
            return self.recommendation().mode
        return self.governance_mode

    @property
    def is_proactive(self) -> bool:
        return self.effective_mode == Mode.PROACTIVE

    def contract_year(self, day: date) -> int:
        return periods.contract_year(self.start_date, day)


class ContractContact(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE)
    contact = models.ForeignKey(VendorContact, on_delete=models.CASCADE)

    objects = TenantManager(vendor="contract__vendor")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contract", "contact"], name="contractcontact_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} ↔ {self.contact_id}"


class ServiceLevelManager(models.Manager):
    def bulk_create(self, objs, *args, **kwargs):
        """Rows built in bulk (benchmarks, imports) get the default data start too."""
        objs = list(objs)
        for sla in objs:
            sla.data_start_fill()
        return super().bulk_create(objs, *args, **kwargs)


class ServiceLevel(models.Model):
    """
    An SLA (with credits) or a KPI (a leading indicator, no credits) on a
    contract. Its thresholds live in effective-dated `ServiceLevelTerms`.
    The direction can't change once terms exist (the service enforces it).

    `data_start` is the first period for which data is owed: a period without
    data turns late only from it on; earlier periods may be backfilled and are
    judged like any other, but never late. Left empty it is the first period
    that ends after the SLA was added, not before the contract's first period
    (`periods.default_data_start`).
    """

    class Kind(models.TextChoices):
        SLA = "sla", "SLA"
        KPI = "kpi", "KPI (leading indicator)"

    class Unit(models.TextChoices):
        PERCENT = "percent", "%"
        HOURS = "hours", "hours"
        MINUTES = "minutes", "minutes"
        DAYS = "days", "days"
        COUNT = "count", "count"
        SCORE = "score", "score"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="service_levels")
    code = models.SlugField(
        max_length=40, help_text="Short code used in uploads, unique within the contract."
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=3, choices=Kind.choices, default=Kind.SLA)
    unit = models.CharField(max_length=10, choices=Unit.choices)
    counts = models.CharField(
        "what it counts",
        max_length=40,
        blank=True,
        help_text="For a count, what is counted, in the plural (tickets, incidents): "
        "values read “5,700 tickets”.",
    )
    direction = models.CharField(max_length=6, choices=rules.Direction.choices)
    period = models.CharField(
        max_length=7, choices=periods.Period.choices, default=periods.Period.MONTHLY
    )
    description = models.TextField(blank=True)
    weight = models.PositiveSmallIntegerField(
        default=1, help_text="Weight in the contract's health score."
    )
    measures_time = models.BooleanField(
        "percent of time (availability)",
        default=False,
        help_text="A percentage of the period's time: the page shows its downtime budget.",
    )
    is_active = models.BooleanField(default=True)
    relevance_reviewed_at = models.DateField(
        null=True, blank=True, help_text="When the SLA was last reviewed for relevance."
    )
    data_start = models.DateField(
        "data owed from",
        blank=True,
        help_text="The first day of the first period for which data is owed; earlier periods "
        "may be backfilled but are never late.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantManager(vendor="contract__vendor", manager_class=ServiceLevelManager)
    history = HistoricalRecords()

    class Meta:
        ordering = ["contract", "kind", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contract", "code"], name="servicelevel_unique_code"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "contract"], name="servicelevel_org_contract"),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    def save(self, *args, **kwargs) -> None:
        # Every way in gets a data start, the ones that bypass the service too.
        if self.data_start_fill() and kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "data_start"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.weight is not None and (problem := bounds.weight_problem(self.weight)):
            raise ValidationError({"weight": problem})

    def default_data_start(self, added_on: date | None = None) -> date:
        """The data start when none is given: from the day the SLA was added (today if new)."""
        if added_on is None:
            added_on = timezone.localdate(self.created_at) if self.created_at else None
        return periods.default_data_start(
            added_on or timezone.localdate(), self.period, self.contract.start_date
        )

    def data_start_fill(self) -> bool:
        """Set the default data start if there is none. Returns whether it did."""
        if self.data_start is not None:
            return False
        self.data_start = self.default_data_start()
        return True

    def owed_problem(self, start: date, today: date) -> str | None:
        """Why no data is owed for the period starting `start` (None: it is owed)."""
        if not self.is_active:
            return f"No data is owed for {self.code}: it is no longer active."
        contract = self.contract
        return periods.owed_problem(
            start, self.period, data_start=self.data_start, contract_start=contract.start_date,
            contract_end=contract.end_date, today=today,
        )  # fmt: skip

    def owed_span(self, today: date) -> tuple[date, date] | None:
        """The first and last period owed by `today` (None: none), as `owed_problem` says."""
        if not self.is_active:
            return None
        contract = self.contract
        return periods.owed_span(
            self.period, data_start=self.data_start, contract_start=contract.start_date,
            contract_end=contract.end_date, today=today,
        )  # fmt: skip

    @property
    def is_kpi(self) -> bool:
        return self.kind == self.Kind.KPI

    @property
    def unit_label(self) -> str:
        """`%`, `hours`, `tickets` (a count that names what it counts), `count`."""
        if self.unit == self.Unit.COUNT and self.counts:
            return self.counts
        return self.get_unit_display()

    @property
    def display_unit(self) -> str:
        """The unit for `slagov.formatting.with_unit`: `count:tickets` for a named count."""
        if self.unit == self.Unit.COUNT and self.counts:
            return f"count:{self.counts}"
        return self.unit


class ServiceLevelTerms(models.Model):
    """
    The agreed thresholds of an SLA from `effective_from` on: target (green
    boundary), minimum (red boundary), improvement clause and credit tiers.

    A period is judged by the terms in force on its first day. Renegotiating
    adds a new row; old periods keep the terms that were in force for them.
    The improvement ratchet counts contract years from the year these terms
    took effect. `direction` is copied from the SLA so that the database can
    check the order of target and minimum.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    service_level = models.ForeignKey(ServiceLevel, on_delete=models.CASCADE, related_name="terms")
    effective_from = models.DateField()
    direction = models.CharField(max_length=6, choices=rules.Direction.choices)
    target = models.DecimalField(max_digits=18, decimal_places=6)
    minimum = models.DecimalField(max_digits=18, decimal_places=6)
    improvement = models.CharField(
        max_length=10, choices=rules.Improvement.choices, default=rules.Improvement.NONE
    )
    improvement_rate = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        default=Decimal(0),
        validators=[MinValueValidator(0)],
        help_text="Percent (relative) or units (absolute) per contract year, toward better.",
    )
    improvement_bound = models.DecimalField(
        max_digits=18,
        decimal_places=6,
        null=True,
        blank=True,
        help_text="The thresholds never tighten past this (e.g. 100 for availability).",
    )
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantManager(vendor="service_level__contract__vendor")
    history = HistoricalRecords()

    class Meta:
        ordering = ["service_level", "effective_from"]
        verbose_name_plural = "service level terms"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "service_level", "effective_from"],
                name="terms_one_per_effective_date",
            ),
            models.CheckConstraint(
                condition=(Q(direction="higher") & Q(target__gte=F("minimum")))
                | (Q(direction="lower") & Q(target__lte=F("minimum"))),
                name="terms_target_not_worse_than_minimum",
            ),
            models.CheckConstraint(
                condition=Q(improvement="none")
                | (Q(improvement__in=["relative", "absolute"]) & Q(improvement_rate__gt=0)),
                name="terms_improvement_has_rate",
            ),
            models.CheckConstraint(
                condition=~Q(improvement="relative") | Q(improvement_rate__lt=100),
                name="terms_relative_rate_below_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_level.code} from {self.effective_from}"

    def clean(self) -> None:
        """The number ranges of the SLA's unit (`bounds`), for the admin as for the services."""
        unit = self.service_level.unit if self.service_level_id else None
        problems = {
            field: bounds.value_problem(value, unit, what)
            for field, value, what in (
                ("target", self.target, "The target"),
                ("minimum", self.minimum, "The minimum"),
                ("improvement_bound", self.improvement_bound, "The bound"),
            )
            if value is not None
        }
        if self.improvement != rules.Improvement.NONE and self.improvement_rate is not None:
            problems["improvement_rate"] = bounds.improvement_rate_problem(
                self.improvement, self.improvement_rate, unit
            )
        if problems := {field: message for field, message in problems.items() if message}:
            raise ValidationError(problems)

    def spec(self, unit: str | None = None) -> rules.Terms:
        """The terms as the rules read them; `unit` (the SLA's) keeps thresholds in its range."""
        if unit is None and ServiceLevelTerms.service_level.is_cached(self):
            unit = self.service_level.unit
        return rules.Terms(
            target=self.target,
            minimum=self.minimum,
            direction=self.direction,
            improvement=self.improvement,
            improvement_rate=self.improvement_rate,
            improvement_bound=self.improvement_bound,
            unit=unit,
        )

    def credit_spec(self) -> list[rules.CreditTier]:
        return [
            rules.CreditTier(worse_than=t.worse_than, percent=t.percent)
            for t in self.credit_tiers.all()
        ]


class CreditTier(models.Model):
    """A service credit owed when a period's value is worse than `worse_than`."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    terms = models.ForeignKey(
        ServiceLevelTerms, on_delete=models.CASCADE, related_name="credit_tiers"
    )
    worse_than = models.DecimalField(max_digits=18, decimal_places=6)
    percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Percent of the monthly charge.",
    )

    objects = TenantManager(vendor="terms__service_level__contract__vendor")

    class Meta:
        ordering = ["terms", "percent"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "terms", "worse_than"], name="credittier_unique_level"
            ),
            models.CheckConstraint(
                condition=Q(percent__gt=0) & Q(percent__lte=100), name="credittier_percent_range"
            ),
        ]

    def __str__(self) -> str:
        return f"worse than {self.worse_than} → {self.percent} %"

    def clean(self) -> None:
        unit = self.terms.service_level.unit if self.terms_id else None
        problems = {
            "worse_than": self.worse_than is not None
            and bounds.value_problem(self.worse_than, unit, "The level"),
            "percent": self.percent is not None and bounds.credit_percent_problem(self.percent),
        }
        if problems := {field: message for field, message in problems.items() if message}:
            raise ValidationError(problems)
