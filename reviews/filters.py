"""Filters of the reviews, action items and vendor warnings pages and API."""

from __future__ import annotations

import django_filters

from contracts.filters import contract_choices
from reviews import actions, vendor_warnings
from reviews.models import (
    ActionItem,
    Review,
    VendorWarning,
)
from slagov.filters import FilterSet


class ReviewFilter(FilterSet):
    contract = django_filters.NumberFilter()
    state = django_filters.MultipleChoiceFilter(choices=Review.State.choices)
    kind = django_filters.MultipleChoiceFilter(choices=Review.Kind.choices)

    class Meta:
        model = Review
        fields = ["contract", "state", "kind"]


class ActionItemFilter(FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=ActionItem.State.choices)
    owner = django_filters.ChoiceFilter(
        choices=[("me", "me")], method="by_owner", label="`me`: the items you own."
    )
    contract = django_filters.NumberFilter(field_name="contract")
    overdue = django_filters.BooleanFilter(method="by_overdue", label="Open and past due.")

    class Meta:
        model = ActionItem
        fields = ["state", "owner", "contract", "overdue"]

    def by_owner(self, queryset, name, value):
        return queryset.filter(owner=self.request.user)

    def by_overdue(self, queryset, name, value):
        return queryset.filter(overdue=value)


class WarningFilter(FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=VendorWarning.State.choices)
    contract = django_filters.NumberFilter(field_name="contract")
    service_level = django_filters.NumberFilter(field_name="service_level")

    class Meta:
        model = VendorWarning
        fields = ["state", "contract", "service_level"]


class ActionListFilter(FilterSet):
    show = django_filters.ChoiceFilter(
        choices=[("mine", "Mine"), ("all", "Everyone's")], method="by_owner",
        empty_label=None, label="Whose",
    )  # fmt: skip
    state = django_filters.ChoiceFilter(
        choices=[("open", "Open"), ("closed", "Done or cancelled"), ("all", "Any state")],
        method="by_state", empty_label=None, label="State",
    )  # fmt: skip
    contract = django_filters.ModelChoiceFilter(
        queryset=contract_choices, empty_label="All contracts"
    )

    class Meta:
        model = ActionItem
        fields = ["show", "state", "contract"]

    def by_owner(self, queryset, name, value):
        return queryset.filter(owner=self.request.user) if value == "mine" else queryset

    def by_state(self, queryset, name, value):
        if value == "open":
            return queryset.filter(state__in=actions.OPEN_STATES)
        if value == "closed":
            return queryset.filter(state__in=actions.CLOSED_STATES)
        return queryset


class WarningListFilter(FilterSet):
    state = django_filters.ChoiceFilter(
        choices=[("open", "Open or acknowledged"), ("closed", "Closed"), ("all", "Any state")],
        method="by_state", empty_label=None, label="State",
    )  # fmt: skip
    contract = django_filters.ModelChoiceFilter(
        queryset=contract_choices, empty_label="All contracts"
    )

    class Meta:
        model = VendorWarning
        fields = ["state", "contract"]

    def by_state(self, queryset, name, value):
        if value == "open":
            return queryset.filter(state__in=vendor_warnings.OPEN_STATES)
        if value == "closed":
            return queryset.filter(state=VendorWarning.State.CLOSED)
        return queryset
