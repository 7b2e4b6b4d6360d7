"""API for joint reviews: `ROUTES` are registered in slagov.api_urls."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from contracts.models import Contract
from reviews import exports, selectors, services
from reviews.filters import ReviewFilter
from reviews.models import (
    AgendaItem,
    Review,
    ReviewAttendee,
    ReviewEvent,
    ReviewSignature,
    Side,
)
from slagov.api import (
    ExportableList,
    ScopedPrimaryKeyRelatedField,
    TenantViewSet,
    service_errors,
)
from slagov.models import Membership
from slagov.schema import ErrorSerializer


class AgendaItemSerializer(serializers.ModelSerializer):
    added_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = AgendaItem
        fields = ["id", "section", "position", "title", "details", "data", "added_by", "side",
                  "minutes"]  # fmt: skip


class AttendeeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReviewAttendee
        fields = ["id", "name", "side", "attended"]


class SignatureSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReviewSignature
        fields = ["side", "name", "signed_at", "sha256"]


class ReviewEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = ReviewEvent
        fields = ["kind", "at", "actor", "message"]


class ReviewSerializer(serializers.ModelSerializer):
    contract_reference = serializers.CharField(source="contract.reference", read_only=True)

    class Meta:
        model = Review
        fields = [
            "id", "contract", "contract_reference", "escalation", "kind", "state",
            "scheduled_at", "duration_minutes", "location", "covers_from", "held_at",
            "decisions", "agenda_drafted_at", "sequence",
        ]  # fmt: skip
        read_only_fields = fields


class ReviewDetailSerializer(ReviewSerializer):
    items = AgendaItemSerializer(many=True, read_only=True)
    people = AttendeeSerializer(many=True, read_only=True)
    signatures = SignatureSerializer(many=True, read_only=True)
    events = ReviewEventSerializer(many=True, read_only=True)

    class Meta(ReviewSerializer.Meta):
        fields = [*ReviewSerializer.Meta.fields, "items", "people", "signatures", "events"]
        read_only_fields = fields


class ScheduleSerializer(serializers.Serializer):
    scheduled_at = serializers.DateTimeField()
    duration_minutes = serializers.IntegerField(default=60)
    location = serializers.CharField(max_length=300, required=False, allow_blank=True,
                                     default="")  # fmt: skip


class PlanSerializer(ScheduleSerializer):
    contract = ScopedPrimaryKeyRelatedField(Contract)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class TopicSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    details = serializers.CharField(required=False, allow_blank=True, default="")


class MinuteSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    text = serializers.CharField(allow_blank=True, max_length=20000)


class GuestSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    side = serializers.ChoiceField(choices=Side.choices)


class ActionSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    owner = serializers.IntegerField(help_text="The user id of a member of either side.")
    due_date = serializers.DateField()


class HoldSerializer(serializers.Serializer):
    held_at = serializers.DateTimeField()
    minutes = MinuteSerializer(many=True, required=False, default=list)
    attended = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list,
        help_text="Ids of the people who came.",
    )  # fmt: skip
    guests = GuestSerializer(many=True, required=False, default=list)
    decisions = serializers.CharField(required=False, allow_blank=True, default="",
                                      max_length=20000)  # fmt: skip
    actions = ActionSerializer(many=True, required=False, default=list, max_length=20)


class ReviewViewSet(
    ExportableList,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    TenantViewSet,
):
    """
    Joint reviews of the organisation's contracts (a vendor token: its vendor's only).
    `?format=csv|xlsx`: every review the filters select, in the calendar's export columns.
    """

    queryset = Review.objects.none()
    filterset_class = ReviewFilter
    export = exports.REVIEWS

    def get_queryset(self):
        rows = Review.objects.select_related("contract").order_by("-scheduled_at")
        if self.action != "list":
            rows = rows.prefetch_related("items__added_by", "people", "signatures",
                                         "events__actor")  # fmt: skip
        return rows

    def get_serializer_class(self):
        return {
            "list": ReviewSerializer, "create": PlanSerializer, "move": ScheduleSerializer,
            "cancel": CancelSerializer, "topics": TopicSerializer, "hold": HoldSerializer,
        }.get(self.action, ReviewDetailSerializer)  # fmt: skip

    def _detail(self, review: Review, status: int = 200) -> Response:
        review = self.get_queryset().get(pk=review.pk)
        return Response(ReviewDetailSerializer(review).data, status=status)

    def _input(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(request=PlanSerializer, responses={201: ReviewDetailSerializer})
    def create(self, request, *args, **kwargs):
        self.tenant.require_manage()
        data = self._input(PlanSerializer)
        with service_errors():
            review = services.review_plan(organization=self.tenant.organization,
                                          actor=request.user, **data)  # fmt: skip
        return self._detail(review, status=201)

    @extend_schema(request=ScheduleSerializer, responses={200: ReviewDetailSerializer})
    @action(detail=True, methods=["post"])
    def move(self, request, *args, **kwargs):
        review = self.get_object()
        self.tenant.require_manage()
        data = self._input(ScheduleSerializer)
        with service_errors():
            services.review_move(review=review, actor=request.user, tenant=self.tenant, **data)
        return self._detail(review)

    @extend_schema(request=CancelSerializer, responses={200: ReviewDetailSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        review = self.get_object()
        self.tenant.require_manage()
        data = self._input(CancelSerializer)
        with service_errors():
            services.review_cancel(review=review, actor=request.user, tenant=self.tenant, **data)
        return self._detail(review)

    @extend_schema(request=TopicSerializer, responses={201: ReviewDetailSerializer})
    @action(detail=True, methods=["post"])
    def topics(self, request, *args, **kwargs):
        review = self.get_object()
        data = self._input(TopicSerializer)
        with service_errors():
            services.topic_add(review=review, actor=request.user, tenant=self.tenant, **data)
        return self._detail(review, status=201)

    @extend_schema(request=HoldSerializer, responses={200: ReviewDetailSerializer})
    @action(detail=True, methods=["post"])
    def hold(self, request, *args, **kwargs):
        review = self.get_object()
        self.tenant.require_manage()
        data = self._input(HoldSerializer)
        owners = _owners(review, [a["owner"] for a in data["actions"]])
        record = services.Minutes(
            held_at=data["held_at"],
            minutes={m["item"]: m["text"] for m in data["minutes"]},
            attended=set(data["attended"]),
            guests=[(g["name"], g["side"]) for g in data["guests"]],
            decisions=data["decisions"],
            actions=[{"title": a["title"], "owner": owners[a["owner"]], "due_date": a["due_date"]}
                     for a in data["actions"]],
        )  # fmt: skip
        with service_errors():
            services.review_hold(review=review, actor=request.user, tenant=self.tenant,
                                 record=record)  # fmt: skip
        return self._detail(review)

    @extend_schema(request=None, responses={200: ReviewDetailSerializer})
    @action(detail=True, methods=["post"])
    def sign(self, request, *args, **kwargs):
        review = self.get_object()
        with service_errors():
            services.review_sign(review=review, actor=request.user, tenant=self.tenant)
        return self._detail(review)

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The pack"),
            409: ErrorSerializer,
            503: ErrorSerializer,
        }
    )
    @action(detail=True, methods=["get"])
    def pack(self, request, *args, **kwargs):
        from reviews.pack import PackUnavailable

        review = self.get_object()
        if review.held_at is None:
            return Response({"detail": "The pack exists once the review is held."}, status=409)
        try:
            pdf, _ = services.review_pack(selectors.review_get(self.tenant, review.pk))
        except PackUnavailable as exc:
            return Response({"detail": str(exc)}, status=503)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="review-{review.pk}.pdf"'
        return response


def _owners(review: Review, ids: list[int]) -> dict:
    """Action owners: members of the organisation, vendor users of this contract's vendor."""
    members = Membership.objects.filter(
        organization_id=review.organization_id, user_id__in=ids, is_active=True
    )
    allowed = {
        m.user_id for m in members if not m.is_vendor or m.vendor_id == review.contract.vendor_id
    }
    missing = sorted(set(ids) - allowed)
    if missing:
        raise ValidationError({"actions": [f"User {pk} can't own an action of this contract."
                                           for pk in missing]})  # fmt: skip
    return {u.pk: u for u in get_user_model().objects.filter(pk__in=allowed)}


ROUTES: list[tuple[str, type, str]] = [("reviews", ReviewViewSet, "review")]
