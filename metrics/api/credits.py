"""API: service credits per contract, by month and contract year."""

from __future__ import annotations

from rest_framework import mixins, serializers

from contracts.models import Contract
from metrics import exports
from metrics.filters import CreditFilter
from metrics.selectors import credits_for
from slagov.api import ExportableList, TenantViewSet
from slagov.exports import requested_format


class CreditMonthSerializer(serializers.Serializer):
    month = serializers.DateField()
    assessed = serializers.DecimalField(max_digits=14, decimal_places=2)
    cap = serializers.DecimalField(max_digits=14, decimal_places=2)
    credited = serializers.DecimalField(max_digits=14, decimal_places=2)
    by_sla = serializers.DictField(child=serializers.DecimalField(max_digits=14, decimal_places=2))


class CreditYearSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    start = serializers.DateField()
    assessed = serializers.DecimalField(max_digits=14, decimal_places=2)
    credited = serializers.DecimalField(max_digits=14, decimal_places=2)


class ContractCreditsSerializer(serializers.Serializer):
    contract = serializers.IntegerField()
    reference = serializers.CharField()
    currency = serializers.CharField()
    months = CreditMonthSerializer(many=True)
    years = CreditYearSerializer(many=True)


class CreditViewSet(ExportableList, mixins.ListModelMixin, TenantViewSet):
    """
    Service credits per contract: per month (capped at the at-risk amount) and
    per year. Paginated by contract like every list. `?format=csv|xlsx`: one row
    per contract and month, the contract page's credit export.
    """

    serializer_class = ContractCreditsSerializer
    queryset = Contract.objects.none()
    filterset_class = CreditFilter
    export = exports.CREDITS

    def get_queryset(self):
        return Contract.objects.order_by("reference")

    def list(self, request, *args, **kwargs):
        if fmt := requested_format(request):
            return self.export_response(fmt)
        contracts = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        credits = credits_for(contracts)
        data = [
            {"contract": c.pk, "reference": c.reference, "currency": c.currency,
             "months": credits[c.pk][0], "years": credits[c.pk][1]}
            for c in contracts
        ]  # fmt: skip
        return self.get_paginated_response(ContractCreditsSerializer(data, many=True).data)
