"""Filters of the escalation list page and API."""

from __future__ import annotations

import django_filters

from contracts.filters import contract_choices, vendor_choices
from escalations.models import (
    Escalation,
)
from slagov.filters import FilterSet, QuickSelect


class EscalationFilter(FilterSet):
    level = django_filters.NumberFilter()
    state = django_filters.MultipleChoiceFilter(choices=Escalation.State.choices)
    vendor = django_filters.NumberFilter(field_name="contract__vendor")
    contract = django_filters.NumberFilter(field_name="contract")

    class Meta:
        model = Escalation
        fields = ["level", "state", "vendor", "contract"]


class EscalationListFilter(FilterSet):
    state = django_filters.ChoiceFilter(
        choices=[("active", "Open or acknowledged"), *Escalation.State.choices],
        method="by_state",
        empty_label="Any state",
    )
    level = django_filters.NumberFilter(field_name="level", label="Level")
    vendor = django_filters.ModelChoiceFilter(
        field_name="contract__vendor", queryset=vendor_choices, empty_label="All vendors",
        widget=QuickSelect,
    )  # fmt: skip
    contract = django_filters.ModelChoiceFilter(
        queryset=contract_choices, empty_label="All contracts", widget=QuickSelect
    )

    class Meta:
        model = Escalation
        fields = ["state", "level", "vendor", "contract"]

    def by_state(self, queryset, name, value):
        if value == "active":
            return queryset.exclude(state=Escalation.State.RESOLVED)
        return queryset.filter(state=value)
