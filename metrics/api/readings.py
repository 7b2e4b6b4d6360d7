"""API: readings, listed and filtered (they are written by submissions and by hand)."""

from __future__ import annotations

from rest_framework import mixins, serializers

from contracts.periods import period_label
from metrics.filters import ReadingFilter
from metrics.models import Reading
from slagov.api import TenantViewSet


class ReadingSerializer(serializers.ModelSerializer):
    contract = serializers.IntegerField(source="service_level.contract_id", read_only=True)
    sla_code = serializers.CharField(source="service_level.code", read_only=True)
    period = serializers.SerializerMethodField()
    submitted_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Reading
        fields = [
            "id", "contract", "service_level", "sla_code", "period", "period_start", "value",
            "source", "note", "submitted_by", "submitted_at", "revision",
        ]  # fmt: skip

    def get_period(self, reading: Reading) -> str:
        return period_label(reading.period_start, reading.service_level.period)


class ReadingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Readings, filtered by contract, SLA and period range."""

    serializer_class = ReadingSerializer
    queryset = Reading.objects.none()
    filterset_class = ReadingFilter

    def get_queryset(self):
        return Reading.objects.select_related("service_level", "submitted_by").order_by(
            "service_level_id", "period_start"
        )
