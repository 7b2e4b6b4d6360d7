"""API for vendors, contracts and SLAs: scoped exactly like the pages."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers
from rest_framework.exceptions import PermissionDenied

from contracts import exports, periods, selectors, services
from contracts import terms as terms_rules
from contracts.filters import ContractFilter, ServiceLevelFilter
from contracts.models import Contract, ServiceLevel, ServiceLevelTerms, Vendor
from slagov.api import (
    ExportableList,
    PreparedListSerializer,
    ScopedPrimaryKeyRelatedField,
    TenantViewSet,
    service_errors,
)
from slagov.numbers import API_FIELD_MAPPING
from slagov.schema import SometimesAbsent


class VendorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Vendor
        fields = ["id", "name", "website", "description"]

    def validate_name(self, value):
        clash = Vendor.objects.filter(name__iexact=value.strip())
        if self.instance:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError("A vendor with this name already exists.")
        return value.strip()


class RecommendationSerializer(serializers.Serializer):
    mode = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())
    missing_clauses = serializers.ListField(child=serializers.CharField())


class ContractSerializer(SometimesAbsent, serializers.ModelSerializer):
    serializer_field_mapping = API_FIELD_MAPPING  # numbers in the digits 0-9 only
    vendor = ScopedPrimaryKeyRelatedField(Vendor)
    vendor_name = serializers.CharField(source="vendor.name", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    effective_mode = serializers.CharField(read_only=True)
    recommendation = serializers.SerializerMethodField()
    colour = serializers.SerializerMethodField()

    class Meta:
        model = Contract
        fields = [
            "id", "reference", "title", "vendor", "vendor_name", "category", "annual_value",
            "currency", "start_date", "end_date", "owner", "review_cadence",
            "submission_deadline_days", "at_risk_percent", "clause_performance_reviews",
            "clause_data_sharing", "clause_continuous_improvement", "adversarial",
            "governance_mode", "effective_mode", "recommendation", "colour", "notes",
        ]  # fmt: skip
        # The ranges are the service's rule (`validate`), with messages that say them.
        extra_kwargs = {
            name: {"validators": [], "min_value": None, "max_value": None}
            for name in ("annual_value", "at_risk_percent", "submission_deadline_days")
        }
        list_serializer_class = PreparedListSerializer

    @extend_schema_field(RecommendationSerializer)
    def get_recommendation(self, contract: Contract) -> dict:
        rec = contract.recommendation()
        return {
            "mode": rec.mode,
            "reasons": rec.reasons,
            "missing_clauses": rec.missing_clauses,
        }

    # The customer's own judgement of the relationship and its notes stay on its side.
    CUSTOMER_ONLY = ("adversarial", "notes", "recommendation")
    SOMETIMES_ABSENT = CUSTOMER_ONLY

    def to_representation(self, instance):
        return self.finish_row(instance, super().to_representation(instance))

    def finish_row(self, instance, data: dict) -> dict:
        tenant = self.context.get("tenant")
        if tenant is not None and tenant.is_vendor:
            for name in self.CUSTOMER_ONLY:
                data.pop(name, None)
        return data

    def get_colour(self, contract: Contract) -> str:
        return selectors.worst_colour(getattr(contract, "worst_rank", None))

    def validate_reference(self, value):
        try:
            return services.contract_reference_clean(reference=value, contract=self.instance)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["reference"]) from None

    def validate_currency(self, value):
        try:
            return services.contract_currency_clean(currency=value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["currency"]) from None

    def validate(self, attrs):
        start = attrs.get("start_date", getattr(self.instance, "start_date", None))
        end = attrs.get("end_date", getattr(self.instance, "end_date", None))
        with service_errors():
            if start and end:
                services.contract_dates_validate(start_date=start, end_date=end)
            numbers = ("annual_value", "at_risk_percent", "submission_deadline_days")
            services.contract_numbers_validate(**{n: attrs.get(n) for n in numbers})
        return attrs


class CreditTierSerializer(serializers.Serializer):
    worse_than = serializers.DecimalField(max_digits=18, decimal_places=6)
    percent = serializers.DecimalField(max_digits=5, decimal_places=2)

    class Meta:
        list_serializer_class = PreparedListSerializer  # each SLA's terms, on a page of SLAs


class TermsSerializer(serializers.ModelSerializer):
    # `tier_list`: the prefetched tiers, read without a queryset per terms row.
    credit_tiers = CreditTierSerializer(source="tier_list", many=True, read_only=True)

    class Meta:
        model = ServiceLevelTerms
        fields = [
            "effective_from", "target", "minimum", "improvement", "improvement_rate",
            "improvement_bound", "credit_tiers", "note",
        ]  # fmt: skip
        list_serializer_class = PreparedListSerializer


class InForceSerializer(serializers.Serializer):
    period = serializers.CharField()
    target = serializers.DecimalField(max_digits=18, decimal_places=6)
    minimum = serializers.DecimalField(max_digits=18, decimal_places=6)
    terms_effective_from = serializers.DateField()


class HealthSerializer(serializers.Serializer):
    colour = serializers.CharField()
    target = serializers.DecimalField(max_digits=18, decimal_places=6, allow_null=True)
    minimum = serializers.DecimalField(max_digits=18, decimal_places=6, allow_null=True)
    latest_period = serializers.DateField(allow_null=True)
    value = serializers.DecimalField(max_digits=18, decimal_places=6, allow_null=True)


class ServiceLevelListSerializer(PreparedListSerializer):
    """A page of SLAs: the thresholds in force computed once for the page (terms.thresholds_for)."""

    def to_representation(self, data):
        slas = list(data.all() if hasattr(data, "all") else data)
        self.child.in_force = in_force_now(slas)
        try:
            return super().to_representation(slas)
        finally:
            self.child.in_force = None


def in_force_now(slas: list[ServiceLevel]) -> dict:
    """The thresholds in force in each SLA's current period (their terms and contracts loaded)."""
    today = timezone.localdate()
    return terms_rules.thresholds_for(slas, lambda sla: periods.period_start(today, sla.period))


class ServiceLevelSerializer(serializers.ModelSerializer):
    contract_reference = serializers.CharField(source="contract.reference", read_only=True)
    thresholds_in_force = serializers.SerializerMethodField()
    health = serializers.SerializerMethodField()
    terms = TermsSerializer(source="all_terms", many=True, read_only=True)

    class Meta:
        model = ServiceLevel
        fields = [
            "id", "contract", "contract_reference", "code", "name", "kind", "unit",
            "counts", "direction", "period", "data_start", "is_active", "weight",
            "thresholds_in_force", "health", "terms",
        ]  # fmt: skip
        # The first period for which data is owed (its first day); set on the SLA page.
        read_only_fields = ["data_start"]
        list_serializer_class = ServiceLevelListSerializer

    in_force: dict | None = None  # set by the list for its page

    @cached_property
    def _in_force_serializer(self) -> InForceSerializer:
        return InForceSerializer()  # one per list, not one per row

    @cached_property
    def _health_serializer(self) -> HealthSerializer:
        return HealthSerializer()

    @extend_schema_field(InForceSerializer(allow_null=True))
    def get_thresholds_in_force(self, sla: ServiceLevel) -> dict | None:
        found = (self.in_force if self.in_force is not None else in_force_now([sla]))[sla.pk]
        if found is None:
            return None
        thresholds, terms = found
        start = periods.period_start(timezone.localdate(), sla.period)
        return self._in_force_serializer.to_representation(
            {
                "period": periods.period_label(start, sla.period),
                "target": thresholds.target,
                "minimum": thresholds.minimum,
                "terms_effective_from": terms.effective_from,
            }
        )

    @extend_schema_field(HealthSerializer(allow_null=True))
    def get_health(self, sla: ServiceLevel) -> dict | None:
        health = getattr(sla, "health", None)
        if health is None:
            return None
        return self._health_serializer.to_representation(health)


class VendorViewSet(
    ExportableList,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    TenantViewSet,
):
    """
    Vendors of the organisation (a vendor user sees only its own). `?format=csv|xlsx`:
    the vendors page's export, with their SLAs counted by latest colour.
    """

    serializer_class = VendorSerializer
    queryset = Vendor.objects.none()
    export = exports.VENDORS

    def get_queryset(self):
        return Vendor.objects.order_by("name")

    def export_queryset(self):
        return selectors.vendors_with_counts()

    def perform_create(self, serializer):
        self.tenant.require_manage()
        serializer.instance = services.vendor_save(
            organization=self.tenant.organization,
            actor=self.request.user,
            data=serializer.validated_data,
        )

    def perform_update(self, serializer):
        self.tenant.require_manage()
        services.vendor_save(
            organization=self.tenant.organization,
            actor=self.request.user,
            data=serializer.validated_data,
            vendor=serializer.instance,
        )


class ContractViewSet(
    ExportableList,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    TenantViewSet,
):
    """
    Contracts, with the governance-mode recommendation and the worst SLA colour.
    `?format=csv|xlsx`: the portfolio's export (SLAs counted by latest colour).
    """

    serializer_class = ContractSerializer
    queryset = Contract.objects.none()
    filterset_class = ContractFilter
    export = exports.PORTFOLIO

    def get_queryset(self):
        return (
            selectors.contracts_with_worst_colour()
            .select_related("vendor", "owner", "organization")
            .order_by("reference")
        )

    def export_queryset(self):
        return selectors.portfolio_contracts()

    def _require_manage(self):
        if not self.tenant.can_manage:
            raise PermissionDenied("Only admins and account managers can change contracts.")

    def perform_create(self, serializer):
        self._require_manage()
        with service_errors():
            serializer.instance = services.contract_save(
                organization=self.tenant.organization,
                actor=self.request.user,
                data={"owner": self.request.user, **serializer.validated_data},
            )

    def perform_update(self, serializer):
        self._require_manage()
        contract = serializer.instance
        contacts = list(contract.vendor_contacts.all())
        vendor = serializer.validated_data.get("vendor", contract.vendor)
        if vendor.pk != contract.vendor_id:
            contacts = []  # another vendor: its people aren't this contract's contacts any more
        with service_errors():
            services.contract_save(
                organization=self.tenant.organization,
                actor=self.request.user,
                data=serializer.validated_data,
                contacts=contacts,
                contract=contract,
            )


class ServiceLevelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """SLAs and KPIs with every agreed terms row and the thresholds in force now."""

    serializer_class = ServiceLevelSerializer
    queryset = ServiceLevel.objects.none()
    filterset_class = ServiceLevelFilter

    def get_queryset(self):
        terms = ServiceLevelTerms.objects.prefetch_related(
            Prefetch("credit_tiers", to_attr="tier_list")
        ).order_by("effective_from")
        slas = ServiceLevel.objects.select_related("contract", "health").prefetch_related(
            Prefetch("terms", queryset=terms, to_attr="all_terms")
        )
        if tenant := getattr(self, "tenant", None):
            # The contract's organisation too (it is the SLA's): the planner then walks the
            # contracts in the order of their reference index and stops at the page's end,
            # instead of joining and sorting every SLA of the tenant.
            slas = slas.filter(contract__organization=tenant.organization)
        return slas.order_by("contract__reference", "code")
