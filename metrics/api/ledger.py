"""
API: the service-credit ledger. The list takes the page's filters and, with
`?format=csv|xlsx`, exports exactly the filtered entries; the actions claim,
apply and waive one entry (customer-side admins and account managers). A
vendor's token reads its own vendor's entries; another's is a 404.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from metrics import ledger_rules, ledger_selectors, ledger_services
from metrics.exports import CREDIT_LEDGER
from metrics.filters import CreditEntryFilter
from metrics.models import CreditEntry, CreditEntryEvent
from slagov.api import ExportableList, TenantViewSet, service_errors
from slagov.schema import ErrorSerializer, SometimesAbsent


class CreditEntryEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = CreditEntryEvent
        fields = ["id", "kind", "at", "actor", "amount_before", "amount_after", "message"]


class CreditEntrySerializer(SometimesAbsent, serializers.ModelSerializer):
    contract_reference = serializers.CharField(source="contract.reference", read_only=True)
    vendor = serializers.IntegerField(source="contract.vendor_id", read_only=True)
    vendor_name = serializers.CharField(source="contract.vendor.name", read_only=True)
    correction = serializers.SerializerMethodField(
        help_text="The engine's figure minus `amount` when a reading was corrected after the "
        "claim (the ledger keeps the claimed amount), else null."
    )
    claim_by = serializers.SerializerMethodField(
        help_text="The last day the credit can be claimed (the contract's claim window)."
    )
    claimed_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    applied_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    waived_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    events = serializers.SerializerMethodField(help_text="The entry's history (one entry only).")

    SOMETIMES_ABSENT = ("events",)

    class Meta:
        model = CreditEntry
        fields = [
            "id", "contract", "contract_reference", "vendor", "vendor_name", "month",
            "currency", "amount", "engine_amount", "correction", "state", "claim_by",
            "assessed_at", "claimed_at", "claimed_by", "applied_at", "applied_by",
            "invoice_reference", "waived_at", "waived_by", "waive_reason", "expired_at",
            "events",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True))
    def get_correction(self, entry: CreditEntry):
        difference = entry.correction
        return None if difference is None else f"{difference:.2f}"

    @extend_schema_field(OpenApiTypes.DATE)
    def get_claim_by(self, entry: CreditEntry):
        return ledger_rules.claim_deadline(entry.month, entry.contract.credit_claim_days)

    @extend_schema_field(CreditEntryEventSerializer(many=True))
    def get_events(self, entry: CreditEntry) -> list:
        if not self.context.get("with_events"):
            return []
        return CreditEntryEventSerializer(ledger_selectors.entry_events(entry), many=True).data

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("with_events"):
            data.pop("events", None)
        return data


class ApplySerializer(serializers.Serializer):
    invoice_reference = serializers.CharField(
        allow_blank=True, help_text="The invoice the credit was applied on (1 to 100 characters)."
    )


class WaiveSerializer(serializers.Serializer):
    reason = serializers.CharField(
        allow_blank=True, help_text="Why the credit is given up (1 to 500 characters)."
    )


REFUSED = OpenApiResponse(ErrorSerializer, description="The entry's state doesn't allow it.")


class CreditLedgerViewSet(
    ExportableList, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet
):
    """
    The service-credit ledger: one entry per contract and month with a credit,
    `assessed → claimed → applied`, or `waived`, or `expired` past the claim
    window. A repeated claim, apply or waive (a retry) changes nothing.
    """

    queryset = CreditEntry.objects.none()
    serializer_class = CreditEntrySerializer
    filterset_class = CreditEntryFilter
    http_method_names = ["get", "post", "head", "options"]
    export = CREDIT_LEDGER

    def get_queryset(self):
        return ledger_selectors.credit_entries()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "with_events": self.action != "list"}

    def _answer(self, entry: CreditEntry, kind, **arguments) -> Response:
        try:
            with service_errors():
                kind(organization=self.tenant.organization, actor=self.request.user,
                     entry=entry, **arguments)  # fmt: skip
        except ledger_services.LedgerStateError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        fresh = self.get_queryset().get(pk=entry.pk)
        return Response(self.get_serializer(fresh).data)

    @extend_schema(request=None, responses={200: CreditEntrySerializer, 409: REFUSED})
    @action(detail=True, methods=["post"])
    def claim(self, request, *args, **kwargs):
        """Claim an assessed credit: the vendor's contacts get the claim notice once."""
        entry = self.get_object()
        return self._answer(entry, ledger_services.credit_claim, today=timezone.localdate())

    @extend_schema(request=ApplySerializer, responses={200: CreditEntrySerializer, 409: REFUSED})
    @action(detail=True, methods=["post"])
    def apply(self, request, *args, **kwargs):
        """A claimed credit applied on the vendor's invoice."""
        entry = self.get_object()
        body = ApplySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._answer(entry, ledger_services.credit_apply, **body.validated_data)

    @extend_schema(request=WaiveSerializer, responses={200: CreditEntrySerializer, 409: REFUSED})
    @action(detail=True, methods=["post"])
    def waive(self, request, *args, **kwargs):
        """Give up an assessed or claimed credit, with the reason."""
        entry = self.get_object()
        body = WaiveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._answer(entry, ledger_services.credit_waive, **body.validated_data)
