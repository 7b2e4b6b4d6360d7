"""Filters of the metrics API and pages: readings, statuses, trends, credits, the ledger."""

from __future__ import annotations

import re
from datetime import date

import django_filters
from django import forms
from django.core.exceptions import ValidationError

from contracts import periods
from contracts.filters import contract_choices, vendor_choices
from contracts.models import Contract
from contracts.rules import Colour
from metrics.models import CreditEntry, PeriodStatus, Reading, SlaHealth
from metrics.selectors import AT_RISK
from slagov.filters import FilterSet


class ReadingFilter(FilterSet):
    service_level = django_filters.NumberFilter(field_name="service_level")
    contract = django_filters.NumberFilter(field_name="service_level__contract")
    vendor = django_filters.NumberFilter(field_name="service_level__contract__vendor")
    contract_reference = django_filters.CharFilter(field_name="service_level__contract__reference")
    sla = django_filters.CharFilter(field_name="service_level__code", label="SLA code")
    period_from = django_filters.DateFilter(field_name="period_start", lookup_expr="gte")
    period_to = django_filters.DateFilter(field_name="period_start", lookup_expr="lte")

    class Meta:
        model = Reading
        fields = [
            "service_level",
            "contract",
            "vendor",
            "contract_reference",
            "sla",
            "period_from",
            "period_to",
        ]


class StatusFilter(FilterSet):
    contract = django_filters.NumberFilter(field_name="service_level__contract")
    vendor = django_filters.NumberFilter(field_name="service_level__contract__vendor")
    contract_reference = django_filters.CharFilter(field_name="service_level__contract__reference")
    service_level = django_filters.NumberFilter(field_name="service_level")
    sla = django_filters.CharFilter(field_name="service_level__code", label="SLA code")
    colour = django_filters.MultipleChoiceFilter(choices=Colour.choices)
    period_from = django_filters.DateFilter(field_name="period_start", lookup_expr="gte")
    period_to = django_filters.DateFilter(field_name="period_start", lookup_expr="lte")

    class Meta:
        model = PeriodStatus
        fields = ["contract", "vendor", "contract_reference", "service_level", "sla", "colour",
                  "period_from", "period_to"]  # fmt: skip


class TrendFilter(FilterSet):
    contract = django_filters.NumberFilter(field_name="service_level__contract")
    colour = django_filters.MultipleChoiceFilter(choices=Colour.choices)
    drifting = django_filters.BooleanFilter()
    at_risk = django_filters.BooleanFilter(
        method="filter_at_risk", label="Drifting or forecast to breach"
    )

    class Meta:
        model = SlaHealth
        fields = ["contract", "colour", "drifting", "at_risk"]

    def filter_at_risk(self, queryset, name, value):
        return queryset.filter(AT_RISK) if value else queryset.exclude(AT_RISK)


class CreditFilter(FilterSet):
    contract = django_filters.NumberFilter(field_name="id", label="Contract id")

    class Meta:
        model = Contract
        fields = ["contract"]


MONTH_TEXT = re.compile(r"([0-9]{4})-([0-9]{2})(-[0-9]{2})?")
MONTH_MESSAGE = "A month written YYYY-MM with the digits 0-9, e.g. 2026-03."


class MonthInput(forms.TextInput):
    input_type = "month"


class MonthField(forms.DateField):
    """A month in a query string: `2026-03` (or a day inside it), read as its first day."""

    widget = MonthInput

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        match = MONTH_TEXT.fullmatch(text)
        if not match:
            raise ValidationError(MONTH_MESSAGE, code="invalid")
        try:
            day = date.fromisoformat(text if match.group(3) else f"{text}-01")
        except ValueError:
            raise ValidationError(MONTH_MESSAGE, code="invalid") from None
        if problem := periods.query_day_problem(day):
            raise ValidationError(problem, code="invalid")
        return day.replace(day=1)


class MonthFilter(django_filters.Filter):
    field_class = MonthField


class LedgerFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        first, last = data.get("month_from"), data.get("month_to")
        if first and last and first > last:
            self.add_error("month_to", "The last month comes before the first: swap them.")
        return data


class CreditEntryFilter(FilterSet):
    """The ledger's filters, the same on the page, in its exports and on the API."""

    state = django_filters.MultipleChoiceFilter(
        choices=CreditEntry.State.choices, widget=forms.CheckboxSelectMultiple
    )
    vendor = django_filters.ModelChoiceFilter(
        field_name="contract__vendor", queryset=vendor_choices, empty_label="All vendors",
        label="Vendor",
    )  # fmt: skip
    contract = django_filters.ModelChoiceFilter(
        queryset=contract_choices, empty_label="All contracts"
    )
    month_from = MonthFilter(field_name="month", lookup_expr="gte", label="From month")
    month_to = MonthFilter(field_name="month", lookup_expr="lte", label="To month")

    class Meta:
        model = CreditEntry
        fields = ["state", "vendor", "contract", "month_from", "month_to"]
        form = LedgerFilterForm
