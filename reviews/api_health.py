"""
API for governance health: each contract's score with its reasons and its
history by month, and the "still the right measure?" answers given at reviews.
`ROUTES` are registered in slagov.api_urls.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.response import Response

from contracts import selectors as contract_selectors
from contracts.filters import PortfolioFilter
from contracts.models import Contract
from reviews import relevance, selectors
from reviews.health_data import health_histories
from reviews.models import RelevanceCheck
from slagov import exports
from slagov.api import ExportableList, TenantViewSet, service_errors
from slagov.filters import BIGINT_MAX


class FindingSerializer(serializers.Serializer):
    rule = serializers.CharField()
    points = serializers.IntegerField(help_text="Points lost.")
    words = serializers.CharField()


class MonthSerializer(serializers.Serializer):
    as_of = serializers.DateField(help_text="The month's last day, or today for the last one.")
    score = serializers.IntegerField(allow_null=True, help_text="Empty outside the term.")


class GovernanceHealthSerializer(serializers.Serializer):
    contract = serializers.IntegerField()
    reference = serializers.CharField()
    proactive = serializers.BooleanField()
    score = serializers.IntegerField(allow_null=True, help_text="0-100; empty outside the term.")
    band = serializers.CharField(allow_null=True, help_text="good (80+), watch (60-79), poor.")
    sliding = serializers.BooleanField(help_text="Health fell two months running.")
    findings = FindingSerializer(many=True)
    history = MonthSerializer(many=True)


def _row(history) -> dict:
    h = history.current
    return {
        "contract": history.contract.pk,
        "reference": history.contract.reference,
        "proactive": history.contract.is_proactive,
        "score": h.score if h else None,
        "band": h.band.value if h else None,
        "sliding": history.sliding,
        "findings": [{"rule": f.rule.value, "points": f.points, "words": f.words}
                     for f in (h.findings if h else ())],
        "history": [{"as_of": m.as_of, "score": m.score} for m in history.months if m],
    }  # fmt: skip


def _with_health(contracts):
    """The contracts (at most the export's cap) with their health history on each."""
    contracts = list(contracts[: exports.EXPORT_MAX + 1])
    histories = health_histories(contracts)
    for contract in contracts:
        contract.governance = histories[contract.pk]
    return contracts


def _current(attribute: str):
    def get(contract):
        health = contract.governance.current
        return getattr(health, attribute) if health else None

    return get


GOVERNANCE_HEALTH = exports.Export(
    name="governance-health",
    columns=[
        exports.Column("Contract", lambda c: c.reference),
        exports.Column("Title", lambda c: c.title),
        exports.Column("Vendor", lambda c: c.vendor.name),
        exports.Column("Governance mode", lambda c: c.effective_mode.capitalize()),
        exports.Column("Owner", lambda c: exports.person(c.owner)),
        exports.Column("Governance health", _current("score")),
        exports.Column("Band", lambda c: c.governance.current.band.label
                       if c.governance.current else None),
        exports.Column("Change since last month", lambda c: c.governance.change),
        exports.Column("Sliding back", lambda c: c.governance.sliding),
        exports.Column("Reasons", lambda c: c.governance.current.summary
                       if c.governance.current else "Outside the contract's term."),
    ],
    related=("organization", "owner", "vendor"),
    prepare=_with_health,
)  # fmt: skip


class GovernanceHealthViewSet(
    ExportableList, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet
):
    """
    Governance health per contract (the id is the contract's): reviews on
    cadence, overdue action items, late data, escalations past due-by, an active
    owner, SLAs checked for relevance, vendor warnings answered. Rules:
    `/o/<org>/help/numbers/#health`.
    """

    serializer_class = GovernanceHealthSerializer
    queryset = Contract.objects.none()
    # The portfolio's filters: its export link keeps them.
    filterset_class = PortfolioFilter
    export = GOVERNANCE_HEALTH

    def get_queryset(self):
        return (
            contract_selectors.contracts_with_worst_colour()
            .select_related("organization", "owner", "vendor")
            .order_by("reference")
        )

    def list(self, request, *args, **kwargs):
        if fmt := exports.requested_format(request):
            return self.export_response(fmt)
        contracts = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        histories = health_histories(contracts)
        data = [_row(histories[c.pk]) for c in contracts]
        return self.get_paginated_response(GovernanceHealthSerializer(data, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        contract = self.get_object()
        return Response(
            GovernanceHealthSerializer(_row(health_histories([contract])[contract.pk])).data
        )


class AnswerSerializer(serializers.Serializer):
    service_level = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    still_right = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class RelevanceInputSerializer(serializers.Serializer):
    review = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    answers = AnswerSerializer(many=True, allow_empty=False, max_length=500)


class RelevanceCheckSerializer(serializers.ModelSerializer):
    class Meta:
        model = RelevanceCheck
        fields = ["id", "review", "service_level", "still_right", "note", "checked_at"]


class RelevanceCheckViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, TenantViewSet):
    """
    "Still the right measure?" answers, one per review and SLA. POST records
    answers at a review (from its day on; "no" needs what should change);
    answering again replaces the answer.
    """

    serializer_class = RelevanceCheckSerializer
    queryset = RelevanceCheck.objects.none()

    def get_queryset(self):
        rows = RelevanceCheck.objects.order_by("-checked_at", "pk")
        review = self.request.query_params.get("review")
        if review is not None:
            if not (review.isascii() and review.isdigit()) or int(review) > BIGINT_MAX:
                raise serializers.ValidationError({"review": ["A review id (ASCII digits)."]})
            rows = rows.filter(review_id=int(review))
        return rows

    @extend_schema(
        request=RelevanceInputSerializer, responses={201: RelevanceCheckSerializer(many=True)}
    )
    def create(self, request, *args, **kwargs):
        data = RelevanceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        named = [a["service_level"] for a in data.validated_data["answers"]]
        if len(named) != len(set(named)):
            raise serializers.ValidationError({"answers": ["Each SLA at most once."]})
        review = selectors.review_get(self.tenant, data.validated_data["review"])
        answers = {
            a["service_level"]: relevance.Answer(a["still_right"], a["note"])
            for a in data.validated_data["answers"]
        }
        with service_errors():
            relevance.relevance_record(review=review, actor=request.user, tenant=self.tenant,
                                       answers=answers)  # fmt: skip
        rows = RelevanceCheck.objects.filter(review=review, service_level_id__in=list(answers))
        return Response(RelevanceCheckSerializer(rows, many=True).data, status=201)


ROUTES: list[tuple[str, type, str]] = [
    ("governance-health", GovernanceHealthViewSet, "governance-health"),
    ("relevance-checks", RelevanceCheckViewSet, "relevance-check"),
]
