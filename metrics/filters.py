"""Filters of the metrics API: readings, statuses, trends and credits."""

from __future__ import annotations

import django_filters

from contracts.models import Contract
from contracts.rules import Colour
from metrics.models import PeriodStatus, Reading, SlaHealth
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
