from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q

from contracts.models import Contract, ServiceLevel, Vendor
from contracts.rules import SEVERITY, Colour
from slagov.filters import FilterSet, QuickSelect


def vendor_choices(request):
    """The vendors a filter offers: those the page's scope shows."""
    return Vendor.objects.all()


def contract_choices(request):
    """The contracts a filter offers: those the page's scope shows, by reference."""
    return Contract.objects.order_by("reference")


def _owners(request):
    owner_ids = Contract.objects.values("owner_id")
    return get_user_model().objects.filter(pk__in=owner_ids).order_by("first_name", "username")


class PortfolioFilter(FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    vendor = django_filters.ModelChoiceFilter(
        queryset=vendor_choices, empty_label="All vendors", widget=QuickSelect
    )
    category = django_filters.ChoiceFilter(
        choices=Contract.Category.choices, empty_label="All categories"
    )
    owner = django_filters.ModelChoiceFilter(
        queryset=_owners, empty_label="All owners", widget=QuickSelect
    )
    status = django_filters.ChoiceFilter(
        choices=Colour.choices,
        method="by_status",
        empty_label="Any status",
        label="Worst status",
    )

    class Meta:
        model = Contract
        fields = ["q", "vendor", "category", "owner", "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["owner"].field.label_from_instance = lambda u: u.get_full_name() or u.username

    def search(self, queryset, name, value):
        return queryset.filter(Q(reference__icontains=value) | Q(title__icontains=value))

    def by_status(self, queryset, name, value):
        if value == Colour.NO_DATA:
            return queryset.filter(Q(worst_rank=SEVERITY[Colour.NO_DATA]) | Q(worst_rank=None))
        return queryset.filter(worst_rank=SEVERITY[value])


class ContractFilter(FilterSet):
    vendor = django_filters.NumberFilter(field_name="vendor")
    category = django_filters.ChoiceFilter(choices=Contract.Category.choices)
    review_cadence = django_filters.ChoiceFilter(choices=Contract.Cadence.choices)

    class Meta:
        model = Contract
        fields = ["vendor", "category", "review_cadence"]


class ServiceLevelFilter(FilterSet):
    contract = django_filters.NumberFilter(field_name="contract")
    kind = django_filters.ChoiceFilter(choices=ServiceLevel.Kind.choices)
    code = django_filters.CharFilter(field_name="code")
    is_active = django_filters.BooleanFilter(field_name="is_active")

    class Meta:
        model = ServiceLevel
        fields = ["contract", "kind", "code", "is_active"]
