"""API: period statuses and each SLA's trend, forecast and headroom."""

from __future__ import annotations

from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers

from contracts.periods import period_label
from metrics import exports, selectors
from metrics.filters import StatusFilter, TrendFilter
from metrics.headroom import headroom_of
from metrics.models import PeriodStatus, SlaHealth
from slagov.api import ExportableList, PreparedListSerializer, TenantViewSet


class PeriodStatusSerializer(serializers.ModelSerializer):
    contract = serializers.IntegerField(source="service_level.contract_id")
    contract_reference = serializers.CharField(source="service_level.contract.reference")
    sla = serializers.CharField(source="service_level.code")
    period = serializers.SerializerMethodField()

    class Meta:
        model = PeriodStatus
        fields = [
            "contract", "contract_reference", "service_level", "sla", "period", "period_start",
            "colour", "value", "target", "minimum", "credit_percent", "credit_amount",
            "reading_revision", "computed_at",
        ]  # fmt: skip
        list_serializer_class = PreparedListSerializer

    def get_period(self, status: PeriodStatus) -> str:
        return period_label(status.period_start, status.service_level.period)


class StatusViewSet(ExportableList, mixins.ListModelMixin, TenantViewSet):
    """
    Period statuses: the colour of every SLA for every period, with thresholds in force.
    `?format=csv|xlsx`: the contract and vendor pages' status export.
    """

    serializer_class = PeriodStatusSerializer
    queryset = PeriodStatus.objects.none()
    filterset_class = StatusFilter
    export = exports.STATUSES

    def get_queryset(self):
        return selectors.period_statuses()

    def page_slice(self, queryset, offset: int, limit: int) -> list:
        """The page, walked SLA by SLA (the pagination calls it)."""
        filtered = any(name in self.filterset_class.base_filters for name in self.request.GET)
        return selectors.period_statuses_slice(queryset, offset, limit, filtered=filtered)


class ForecastPointSerializer(serializers.Serializer):
    period = serializers.DateField()
    value = serializers.FloatField()
    low = serializers.FloatField()
    high = serializers.FloatField()


class HeadroomSerializer(serializers.Serializer):
    to_yellow = serializers.DecimalField(max_digits=20, decimal_places=6)
    to_red = serializers.DecimalField(max_digits=20, decimal_places=6)
    share_to_yellow = serializers.FloatField(allow_null=True)
    share_to_red = serializers.FloatField(allow_null=True)
    downtime_minutes_allowed = serializers.FloatField(allow_null=True)
    downtime_minutes_used = serializers.FloatField(allow_null=True)


class TrendSerializer(serializers.ModelSerializer):
    contract = serializers.IntegerField(source="service_level.contract_id")
    contract_reference = serializers.CharField(source="service_level.contract.reference")
    sla = serializers.CharField(source="service_level.code")
    forecast = ForecastPointSerializer(many=True)
    risk = serializers.ListField(
        child=serializers.FloatField(),
        help_text="Probability that each of the next periods (1, 2, 3 ahead) is worse than "
        "the minimum.",
    )
    headroom = serializers.SerializerMethodField()

    class Meta:
        model = SlaHealth
        fields = [
            "service_level", "contract", "contract_reference", "sla", "latest_period", "colour",
            "value", "target", "minimum", "enough_data", "points", "method", "seasonal", "slope",
            "forecast", "risk", "periods_to_breach", "forecast_red_next", "drifting",
            "drift_note", "anomaly", "improvement", "anomaly_note", "headroom", "computed_at",
        ]  # fmt: skip
        list_serializer_class = PreparedListSerializer

    @cached_property
    def _headroom_serializer(self) -> HeadroomSerializer:
        return HeadroomSerializer()  # one per list, not one per row

    @extend_schema_field(HeadroomSerializer(allow_null=True))
    def get_headroom(self, health: SlaHealth) -> dict | None:
        room = headroom_of(health)
        if room is None:
            return None
        return self._headroom_serializer.to_representation(
            {
                "to_yellow": room.to_yellow,
                "to_red": room.to_red,
                "share_to_yellow": room.share_to_yellow,
                "share_to_red": room.share_to_red,
                "downtime_minutes_allowed": room.downtime.allowed_at_target
                if room.downtime
                else None,
                "downtime_minutes_used": room.downtime.used if room.downtime else None,
            }
        )


class TrendViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """The latest state and trend of each SLA: slope, forecast, breach, drift, anomaly, headroom."""

    serializer_class = TrendSerializer
    queryset = SlaHealth.objects.none()
    filterset_class = TrendFilter
    lookup_field = "service_level"  # /trends/<SLA id>/
    lookup_url_kwarg = "pk"

    def get_queryset(self):
        return SlaHealth.objects.select_related("service_level__contract").order_by(
            "service_level__contract__reference", "service_level__code"
        )
