"""API: readings, listed and filtered (they are written by submissions and by hand)."""

from __future__ import annotations

from rest_framework import mixins, serializers

from contracts.periods import period_label
from metrics import exports, selectors
from metrics.filters import ReadingFilter
from metrics.models import Reading
from slagov.api import ExportableList, PreparedListSerializer, TenantViewSet


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
        list_serializer_class = PreparedListSerializer

    def get_period(self, reading: Reading) -> str:
        return period_label(reading.period_start, reading.service_level.period)


class ReadingViewSet(
    ExportableList, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet
):
    """
    Readings, filtered by contract, vendor, SLA and period range. `?format=csv|xlsx`:
    the contract and vendor pages' reading export.
    """

    serializer_class = ReadingSerializer
    queryset = Reading.objects.none()
    filterset_class = ReadingFilter
    export = exports.READINGS

    def get_queryset(self):
        return selectors.readings()
