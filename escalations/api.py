"""API for escalations (list, detail, acknowledge, resolve) and policies (admins write)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from escalations import exports, policy_services, services
from escalations.filters import EscalationFilter
from escalations.models import (
    Escalation,
    EscalationEvent,
    EscalationPolicy,
    EscalationStep,
    Recipient,
)
from slagov.api import ExportableList, PreparedListSerializer, TenantViewSet, service_errors
from slagov.numbers import API_FIELD_MAPPING
from slagov.schema import ErrorSerializer


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = EscalationEvent
        fields = ["kind", "at", "level", "actor", "message", "due_by"]


class EscalationSerializer(serializers.ModelSerializer):
    contract_reference = serializers.CharField(source="contract.reference", read_only=True)
    sla = serializers.CharField(source="service_level.code", read_only=True)
    acknowledged_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Escalation
        fields = [
            "id", "contract", "contract_reference", "service_level", "sla", "kind", "level",
            "state", "reason", "opened_at", "due_by", "due_met_at", "due_missed_at", "overdue",
            "acknowledged_at", "acknowledged_by", "resolved_at", "resolution",
            "resolution_note", "quiet_level", "quiet_until", "quiet_ended_at",
        ]  # fmt: skip
        list_serializer_class = PreparedListSerializer


class EscalationDetailSerializer(EscalationSerializer):
    events = EventSerializer(many=True, read_only=True)

    class Meta(EscalationSerializer.Meta):
        fields = [*EscalationSerializer.Meta.fields, "events"]


class ResolveSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, help_text="Why it is resolved.")
    quiet_until = serializers.DateField(
        required=False, allow_null=True,
        help_text="Quiet while no worse until this day (at most a year ahead); empty: until "
        "it gets worse or is back to green.",
    )  # fmt: skip


class EscalationViewSet(
    ExportableList, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet
):
    """
    Escalations of the organisation (a vendor user's token: that vendor's only).
    `?format=csv|xlsx`: the escalation page's export.
    """

    queryset = Escalation.objects.none()
    filterset_class = EscalationFilter
    export = exports.ESCALATIONS

    def get_queryset(self):
        queryset = Escalation.objects.select_related(
            "contract", "service_level", "acknowledged_by"
        ).order_by("-opened_at")
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("events__actor")
        return queryset

    def get_serializer_class(self):
        if self.action == "resolve":
            return ResolveSerializer
        return EscalationDetailSerializer if self.action != "list" else EscalationSerializer

    def _detail(self, escalation: Escalation) -> Response:
        escalation = self.get_queryset().prefetch_related("events__actor").get(pk=escalation.pk)
        return Response(EscalationDetailSerializer(escalation).data)

    @extend_schema(request=None, responses={200: EscalationDetailSerializer, 409: ErrorSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, *args, **kwargs):
        escalation = self.get_object()
        if not services.escalation_acknowledge(escalation=escalation, actor=request.user):
            return Response({"detail": "Already acknowledged or resolved."}, status=409)
        return self._detail(escalation)

    @extend_schema(request=ResolveSerializer, responses={200: EscalationDetailSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request, *args, **kwargs):
        escalation = self.get_object()
        self.tenant.require_manage()  # who may resolve, before what they sent is judged
        serializer = ResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            services.escalation_resolve(
                escalation=escalation, actor=request.user,
                note=serializer.validated_data["note"],
                quiet_until=serializer.validated_data.get("quiet_until"), tenant=self.tenant,
            )  # fmt: skip
        return self._detail(escalation)


class StepSerializer(serializers.ModelSerializer):
    serializer_field_mapping = API_FIELD_MAPPING  # numbers in the digits 0-9 only
    recipients = serializers.ListField(
        child=serializers.ChoiceField(choices=Recipient.choices), allow_empty=False
    )

    class Meta:
        model = EscalationStep
        fields = ["condition", "state", "threshold", "level", "recipients", "due_hours", "action"]

    def validate(self, attrs):
        if errors := policy_services.step_errors(attrs):
            raise ValidationError(errors)
        return attrs


class PolicySerializer(serializers.ModelSerializer):
    steps = StepSerializer(many=True)

    class Meta:
        model = EscalationPolicy
        fields = ["id", "contract", "name", "steps", "updated_at"]
        read_only_fields = ["contract", "updated_at"]


class PolicyViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, TenantViewSet
):
    """Escalation policies: the default (`contract` null) and per-contract overrides."""

    serializer_class = PolicySerializer
    queryset = EscalationPolicy.objects.none()
    http_method_names = ["get", "put", "head", "options"]

    def get_queryset(self):
        if self.tenant.is_vendor:
            return EscalationPolicy.objects.none()  # customer-side configuration
        return EscalationPolicy.objects.prefetch_related("steps").order_by("contract_id", "pk")

    def perform_update(self, serializer):
        self.tenant.require_admin()
        with service_errors():
            policy_services.policy_save(
                organization=self.tenant.organization, actor=self.request.user,
                policy=serializer.instance, steps=serializer.validated_data["steps"],
            )  # fmt: skip
        if "name" in serializer.validated_data:
            serializer.instance.name = serializer.validated_data["name"]
            serializer.instance.save(update_fields=["name"])
