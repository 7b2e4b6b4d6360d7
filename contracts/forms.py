"""Forms: field-level validation only; the services do the writing."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django_scopes.forms import SafeModelChoiceField, SafeModelMultipleChoiceField

from contracts import periods, rules, services
from contracts.models import Contract, ServiceLevel, ServiceLevelTerms, Vendor, VendorContact
from slagov.models import Membership
from slagov.numbers import NumberField, WholeNumberField
from slagov.tenancy import Tenant

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class VendorForm(forms.ModelForm):
    website = forms.URLField(required=False, assume_scheme="https")

    class Meta:
        model = Vendor
        fields = ["name", "website", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        clash = Vendor.objects.filter(name__iexact=name).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("A vendor with this name already exists.")
        return name


class VendorContactForm(forms.ModelForm):
    class Meta:
        model = VendorContact
        fields = ["name", "email", "phone", "role"]

    def clean_email(self):
        email = self.cleaned_data["email"]
        try:
            services.vendor_contact_validate_email(
                vendor=self.instance.vendor, email=email, contact=self.instance
            )
        except forms.ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["email"]) from None
        return email


class ContractForm(forms.ModelForm):
    class Meta:
        model = Contract
        fields = [
            "reference",
            "title",
            "vendor",
            "category",
            "annual_value",
            "currency",
            "start_date",
            "end_date",
            "owner",
            "vendor_contacts",
            "review_cadence",
            "submission_deadline_days",
            "at_risk_percent",
            "credit_claim_days",
            "clause_performance_reviews",
            "clause_data_sharing",
            "clause_continuous_improvement",
            "adversarial",
            "governance_mode",
            "notes",
        ]
        widgets = {
            "start_date": DATE_INPUT,
            "end_date": DATE_INPUT,
            "notes": forms.Textarea(attrs={"rows": 3}),
            "vendor_contacts": forms.CheckboxSelectMultiple,
        }
        # Querysets are set per request, inside the tenant's scope.
        field_classes = {
            "vendor": SafeModelChoiceField,
            "vendor_contacts": SafeModelMultipleChoiceField,
            "annual_value": NumberField,
            "at_risk_percent": NumberField,
            "submission_deadline_days": WholeNumberField,
            "credit_claim_days": WholeNumberField,
        }

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.fields["credit_claim_days"].required = False
        self.fields["vendor"].queryset = Vendor.objects.all()
        contacts = VendorContact.objects.select_related("vendor").order_by("vendor__name", "name")
        vendor_id = self._vendor_id()
        if vendor_id is not None:  # the contract's vendor is known: only its contacts
            contacts = contacts.filter(vendor_id=vendor_id)
            self.fields["vendor_contacts"].label_from_instance = lambda c: f"{c.name} <{c.email}>"
        else:
            self.fields["vendor_contacts"].label_from_instance = lambda c: (
                f"{c.name} ({c.vendor.name}) <{c.email}>"
            )
        self.fields["vendor_contacts"].queryset = contacts
        self.fields["vendor_contacts"].error_messages["invalid_choice"] = (
            "Pick contacts of the contract's vendor only."
        )
        owners = Membership.objects.filter(
            organization=tenant.organization,
            is_active=True,
            role__in=[Membership.Role.ADMIN, Membership.Role.ACCOUNT_MANAGER],
        ).values("user_id")
        self.fields["owner"].queryset = get_user_model().objects.filter(pk__in=owners)
        self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.username
        self.fields["currency"].widget.attrs["size"] = 3

    def _vendor_id(self) -> int | None:
        """The vendor chosen (posted, asked for with ?vendor=, or the contract's)."""
        if self.is_bound:
            posted = str(self.data.get("vendor") or "")
            return int(posted) if posted.isdigit() and len(posted) < 10 else None
        initial = self.initial.get("vendor")
        initial = getattr(initial, "pk", initial)
        if initial is not None and str(initial).isdigit():
            return int(initial)
        return self.instance.vendor_id

    def clean_reference(self):
        try:
            return services.contract_reference_clean(
                reference=self.cleaned_data["reference"], contract=self.instance
            )
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["reference"]) from None

    def clean_credit_claim_days(self):
        """Left empty (a form from before the claim window existed): the contract's, or 90."""
        days = self.cleaned_data.get("credit_claim_days")
        if days is None:
            return self.instance.credit_claim_days
        return days

    def clean_currency(self):
        try:
            return services.contract_currency_clean(currency=self.cleaned_data["currency"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["currency"]) from None

    def clean(self):
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end:
            try:
                services.contract_dates_validate(start_date=start, end_date=end)
            except ValidationError as exc:
                self.add_error(None, exc)
        numbers = (
            "annual_value", "at_risk_percent", "submission_deadline_days", "credit_claim_days",
        )  # fmt: skip
        try:
            services.contract_numbers_validate(**{name: data.get(name) for name in numbers})
        except ValidationError as exc:
            self.add_error(None, exc)
        vendor = data.get("vendor")
        contacts = data.get("vendor_contacts") or []
        if vendor and any(c.vendor_id != vendor.pk for c in contacts):
            self.add_error("vendor_contacts", "Pick contacts of the contract's vendor only.")
        return data


class ServiceLevelForm(forms.ModelForm):
    data_start = forms.CharField(
        label="Data owed from",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": "2026-10 or 2026-W42"}),
        help_text="The first period for which the vendor owes data: 2026-10 for a month, "
        "2026-W42 for a week, or any date inside it. Earlier periods can be backfilled but are "
        "never late. Empty: the first period that ends after the SLA is added.",
    )

    class Meta:
        model = ServiceLevel
        fields = [
            "code",
            "name",
            "kind",
            "unit",
            "counts",
            "direction",
            "period",
            "weight",
            "measures_time",
            "is_active",
            "relevance_reviewed_at",
            "data_start",
            "description",
        ]
        widgets = {
            "relevance_reviewed_at": DATE_INPUT,
            "description": forms.Textarea(attrs={"rows": 2}),
        }
        field_classes = {"weight": WholeNumberField}

    def __init__(self, *args, contract: Contract, **kwargs):
        super().__init__(*args, **kwargs)
        self.contract = contract
        if self.instance.pk and (self.instance.terms.exists() or self.instance.readings.exists()):
            for name in ("direction", "period"):
                self.fields[name].disabled = True
                self.fields[name].help_text = "Fixed once the SLA has terms or readings."
        self.stored_data_start = self.instance.data_start if self.instance.pk else None
        if self.stored_data_start is not None:
            self.initial["data_start"] = periods.period_label(
                self.stored_data_start, self.instance.period
            )

    def clean_code(self):
        code = self.cleaned_data["code"].strip().lower()
        clash = ServiceLevel.objects.filter(contract=self.contract, code=code).exclude(
            pk=self.instance.pk
        )
        if clash.exists():
            raise forms.ValidationError("This contract already has an SLA with this code.")
        return code

    def clean(self):
        data = super().clean()
        try:
            services.service_level_dates_validate(
                relevance_reviewed_at=data.get("relevance_reviewed_at")
            )
            services.service_level_numbers_validate(weight=data.get("weight"))
            data["counts"] = services.service_level_counts_clean(
                data.get("counts"), data.get("unit")
            )
        except ValidationError as exc:
            self.add_error(None, exc)
        self._clean_data_start(data)
        return data

    def _clean_data_start(self, data: dict) -> None:
        """The period typed, read with the SLA's (new) kind; left as shown: the stored one."""
        raw = (data.get("data_start") or "").strip()
        kind = data.get("period")
        if not raw:
            data["data_start"] = None
            return
        if self.stored_data_start is not None and raw == self.initial.get("data_start"):
            # Untouched: the service keeps it, moved into the new kind's period if that changed.
            data["data_start"] = self.stored_data_start
            return
        if kind not in periods.Period.values:
            data.pop("data_start", None)  # the period field says what is wrong
            return
        try:
            start = periods.parse_period(raw, kind)
            services.service_level_data_start_validate(
                contract=self.contract, period=kind, data_start=start
            )
        except ValueError as exc:
            self.add_error("data_start", str(exc))
        except ValidationError as exc:
            self.add_error("data_start", exc.message_dict["data_start"])
        else:
            data["data_start"] = start


class TermsForm(forms.Form):
    """Thresholds and improvement clause, in force from a date."""

    effective_from = forms.DateField(
        widget=DATE_INPUT,
        help_text="Periods starting on or after this day are judged by these terms.",
    )
    target = NumberField(max_digits=18, decimal_places=6, help_text="Green at or better than this.")
    minimum = NumberField(
        max_digits=18, decimal_places=6, help_text="Red when worse than this (breach level)."
    )
    improvement = forms.ChoiceField(
        choices=rules.Improvement.choices, initial=rules.Improvement.NONE
    )
    improvement_rate = NumberField(
        max_digits=12,
        decimal_places=6,
        required=False,
        help_text="% per contract year (relative) or units per year (absolute), toward better.",
    )
    improvement_bound = NumberField(
        max_digits=18,
        decimal_places=6,
        required=False,
        help_text="Never tighten past this, e.g. 100 for availability.",
    )
    note = forms.CharField(max_length=300, required=False, help_text="e.g. renegotiated at QBR")

    def __init__(
        self,
        *args,
        service_level: ServiceLevel | None = None,
        direction=None,
        unit=None,
        contract: Contract | None = None,
        **kw,
    ):
        super().__init__(*args, **kw)
        self.service_level = service_level
        self.direction = direction or (service_level.direction if service_level else None)
        self.unit = unit or (service_level.unit if service_level else None)
        self.contract = contract or (service_level.contract if service_level else None)

    def clean_effective_from(self):
        day = self.cleaned_data["effective_from"]
        if self.contract is not None:
            try:
                services.terms_date_validate(contract=self.contract, effective_from=day)
            except ValidationError as exc:
                raise forms.ValidationError(exc.message_dict["effective_from"]) from None
        return day

    def clean(self):
        data = super().clean()
        if self.direction not in rules.Direction.values:
            return data  # the SLA form says what is wrong with the direction
        improvement = data.get("improvement") or rules.Improvement.NONE
        try:
            services.terms_validate(
                unit=self.unit,
                direction=self.direction,
                target=data.get("target"),
                minimum=data.get("minimum"),
                improvement=improvement,
                improvement_rate=data.get("improvement_rate"),
                improvement_bound=data.get("improvement_bound"),
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
        return data


class CreditTierForm(forms.Form):
    worse_than = NumberField(
        max_digits=18, decimal_places=6, label="When worse than", required=False
    )
    percent = NumberField(
        max_digits=5, decimal_places=2, label="credit % of the monthly charge", required=False
    )

    def clean(self):
        data = super().clean()
        level, pct = data.get("worse_than"), data.get("percent")
        if (level is None) != (pct is None):
            raise forms.ValidationError("Give both the level and the credit, or neither.")
        return data


CreditTierFormSet = forms.formset_factory(CreditTierForm, extra=3, max_num=6)


def tiers_from(formset) -> list[tuple[Decimal, Decimal]]:
    return [
        (f.cleaned_data["worse_than"], f.cleaned_data["percent"])
        for f in formset.forms
        if f.cleaned_data.get("worse_than") is not None
    ]


def initial_tiers(terms: ServiceLevelTerms | None) -> list[dict]:
    if terms is None:
        return []
    return [{"worse_than": t.worse_than, "percent": t.percent} for t in terms.credit_tiers.all()]
