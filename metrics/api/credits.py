"""API: service credits per contract, by month and contract year."""

from __future__ import annotations

import decimal
from decimal import Decimal

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


def _decimal_text(field: serializers.DecimalField):
    """`field.to_representation` of a Decimal (its text, quantized), with its context made once."""
    context = decimal.getcontext().copy()
    context.prec = field.max_digits
    step = Decimal(1).scaleb(-field.decimal_places)
    return lambda value: f"{value.quantize(step, rounding=field.rounding, context=context):f}"


def credits_rows(contracts, credits) -> list[dict]:
    """
    What ContractCreditsSerializer(many=True) answers for the contracts' credits
    (`credits_for`), written out directly: a page holds thousands of amounts.
    """
    text = _decimal_text(CreditMonthSerializer().fields["assessed"])
    rows = []
    for c in contracts:
        months, years = credits[c.pk]
        rows.append({
            "contract": c.pk, "reference": c.reference, "currency": c.currency,
            "months": [
                {"month": m.month.isoformat(), "assessed": text(m.assessed), "cap": text(m.cap),
                 "credited": text(m.credited),
                 "by_sla": {code: text(amount) for code, amount in m.by_sla.items()}}
                for m in months
            ],
            "years": [
                {"year": y.year, "start": y.start.isoformat(), "assessed": text(y.assessed),
                 "credited": text(y.credited)}
                for y in years
            ],
        })  # fmt: skip
    return rows


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
        return self.get_paginated_response(credits_rows(contracts, credits_for(contracts)))
