"""
API for action items and vendor warnings, scoped exactly like the pages (a
vendor's token sees its own vendor's contracts only; anything else is a 404).
`ROUTES` are registered in slagov.api_urls.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.reverse import reverse

from contracts.models import Contract, ServiceLevel
from escalations.models import Escalation
from reviews import actions, exports, vendor_warnings
from reviews.filters import ActionItemFilter, WarningFilter
from reviews.models import ActionItem, ActionItemEvent, Review, VendorWarning
from slagov.api import (
    ExportableList,
    ScopedPrimaryKeyRelatedField,
    TenantViewSet,
    service_errors,
)
from slagov.schema import ErrorSerializer, SometimesAbsent

# --- Action items --------------------------------------------------------------------------


class ActionItemEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    side = serializers.CharField(
        read_only=True, help_text="`customer` or `vendor`: the side of the person who acted."
    )

    class Meta:
        model = ActionItemEvent
        fields = ["id", "kind", "at", "actor", "side", "message"]


class ActionItemSerializer(SometimesAbsent, serializers.ModelSerializer):
    contract_reference = serializers.CharField(source="contract.reference", read_only=True)
    vendor_name = serializers.CharField(source="contract.vendor.name", read_only=True)
    sla = serializers.CharField(
        source="service_level.code", read_only=True, allow_null=True, default=None
    )
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    overdue = serializers.BooleanField(read_only=True, help_text="Open and past its due date.")
    events = serializers.SerializerMethodField(help_text="Its history and comments (one item).")

    # The history comes with one item, never with a list.
    SOMETIMES_ABSENT = ("events",)

    class Meta:
        model = ActionItem
        fields = [
            "id", "contract", "contract_reference", "vendor_name", "review", "service_level",
            "sla", "escalation", "warning", "title", "description", "owner", "owner_side",
            "due_date", "state", "overdue", "created_by", "created_at", "closed_at", "events",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(ActionItemEventSerializer(many=True))
    def get_events(self, item: ActionItem) -> list:
        if not self.context.get("with_events"):
            return []
        return ActionItemEventSerializer(actions.item_events(item), many=True).data

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("with_events"):
            data.pop("events", None)
        return data


class ActionItemCreateSerializer(serializers.Serializer):
    contract = ScopedPrimaryKeyRelatedField(Contract)
    title = serializers.CharField(max_length=actions.TITLE_MAX)
    description = serializers.CharField(
        max_length=actions.TEXT_MAX, required=False, allow_blank=True, default=""
    )
    owner = serializers.CharField(
        max_length=150,
        help_text="The owner's username: a member of the organisation, or a user of the "
        "contract's vendor.",
    )
    due_date = serializers.DateField(help_text="From today, at most two years ahead.")
    review = ScopedPrimaryKeyRelatedField(Review, required=False, allow_null=True, default=None)
    service_level = ScopedPrimaryKeyRelatedField(
        ServiceLevel, required=False, allow_null=True, default=None,
        help_text="An SLA of the same contract.",
    )  # fmt: skip
    escalation = ScopedPrimaryKeyRelatedField(
        Escalation, required=False, allow_null=True, default=None
    )
    warning = ScopedPrimaryKeyRelatedField(
        VendorWarning, required=False, allow_null=True, default=None,
        help_text="The vendor warning it follows up.",
    )  # fmt: skip


class ActionItemUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=actions.TITLE_MAX, required=False)
    description = serializers.CharField(
        max_length=actions.TEXT_MAX, required=False, allow_blank=True
    )
    owner = serializers.CharField(max_length=150, required=False, help_text="A username.")
    due_date = serializers.DateField(required=False)


class ActionItemTransitionSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=[
            (ActionItem.State.OPEN, "Put back to open"),
            (ActionItem.State.IN_PROGRESS, "Start: in progress"),
            (ActionItem.State.DONE, "Mark done"),
            (ActionItem.State.CANCELLED, "Cancel"),
        ],
        help_text="The state to move to. Done and cancelled are final; the same state again "
        "changes nothing.",
    )


class ActionItemCommentSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=actions.TEXT_MAX)


REFUSED = OpenApiResponse(ErrorSerializer, description="The item's state doesn't allow it.")


class ActionItemViewSet(
    ExportableList, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet
):
    """
    Action items (a vendor's token: its own vendor's contracts only). Admins and
    account managers create and edit; the owner, the vendor's users and the
    managers change the state and comment. `?format=csv|xlsx`: the action items
    page's export.
    """

    queryset = ActionItem.objects.none()
    serializer_class = ActionItemSerializer
    filterset_class = ActionItemFilter
    export = exports.ACTION_ITEMS
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return actions.action_items().select_related("created_by").order_by("due_date", "pk")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "with_events": self.action != "list"}

    def _item(self, item: ActionItem, code: int = 200) -> Response:
        fresh = self.get_queryset().get(pk=item.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(request=ActionItemCreateSerializer, responses={201: ActionItemSerializer})
    def create(self, request, *args, **kwargs):
        tenant = self.tenant
        if not actions.may_edit(tenant):  # who may, before what they sent is judged
            raise PermissionDenied("Only admins and account managers create action items.")
        serializer = ActionItemCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        with service_errors():
            item = actions.action_item_create(
                organization=tenant.organization, actor=request.user, tenant=tenant,
                **serializer.validated_data,
            )  # fmt: skip
        return self._item(item, status.HTTP_201_CREATED)

    @extend_schema(
        request=ActionItemUpdateSerializer, responses={200: ActionItemSerializer, 409: REFUSED}
    )
    def partial_update(self, request, *args, **kwargs):
        item = self.get_object()
        tenant = self.tenant
        if not actions.may_edit(tenant):
            raise PermissionDenied("Only admins and account managers edit action items.")
        serializer = ActionItemUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            with service_errors():
                actions.action_item_update(
                    item=item, actor=request.user, tenant=tenant, **serializer.validated_data
                )
        except actions.ActionStateError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return self._item(item)

    @extend_schema(
        request=ActionItemTransitionSerializer, responses={200: ActionItemSerializer, 409: REFUSED}
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, *args, **kwargs):
        """Move the item to a state; the same state again (a retried request) changes nothing."""
        item = self.get_object()
        if not actions.may_update(self.tenant, item):
            raise PermissionDenied(
                "Only the owner, the vendor's users and account managers change an item's state."
            )
        serializer = ActionItemTransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            with service_errors():
                actions.action_item_transition(
                    item=item, actor=request.user, tenant=self.tenant,
                    to=serializer.validated_data["state"],
                )  # fmt: skip
        except actions.ActionStateError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return self._item(item)

    @extend_schema(request=ActionItemCommentSerializer, responses={201: ActionItemEventSerializer})
    @action(detail=True, methods=["post"])
    def comments(self, request, *args, **kwargs):
        """A comment on the item's timeline, from either side."""
        item = self.get_object()
        if not actions.may_update(self.tenant, item):
            raise PermissionDenied(
                "Only the owner, the vendor's users and account managers comment on an item."
            )
        serializer = ActionItemCommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            event = actions.action_item_comment(
                item=item, actor=request.user, tenant=self.tenant,
                text=serializer.validated_data["text"],
            )  # fmt: skip
        return Response(ActionItemEventSerializer(event).data, status=status.HTTP_201_CREATED)


# --- Vendor warnings -----------------------------------------------------------------------


class VendorWarningSerializer(serializers.ModelSerializer):
    contract_reference = serializers.CharField(source="contract.reference", read_only=True)
    vendor_name = serializers.CharField(source="contract.vendor.name", read_only=True)
    sla = serializers.CharField(source="service_level.code", read_only=True)
    raised_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    acknowledged_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    attachment = serializers.SerializerMethodField(help_text="The attached file's name.")
    attachment_url = serializers.SerializerMethodField(
        help_text="Where people who can see the warning download it, signed in to slagov."
    )

    class Meta:
        model = VendorWarning
        fields = [
            "id", "contract", "contract_reference", "vendor_name", "service_level", "sla",
            "title", "impact", "period_from", "period_to", "mitigation", "attachment",
            "attachment_url", "state", "raised_by", "raised_at", "acknowledged_by",
            "acknowledged_at", "answer", "closed_at", "breached_period", "periods_ahead",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_attachment(self, warning: VendorWarning) -> str | None:
        return vendor_warnings.attachment_filename(warning) or None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_attachment_url(self, warning: VendorWarning) -> str | None:
        if not warning.attachment:
            return None
        return reverse(
            "reviews:warning_attachment",
            kwargs={"org_slug": warning.organization.slug, "warning_id": warning.pk},
            request=self.context.get("request"),
        )


class WarningCreateSerializer(serializers.Serializer):
    service_level = ScopedPrimaryKeyRelatedField(
        ServiceLevel, help_text="An SLA of your vendor's contract."
    )
    title = serializers.CharField(max_length=vendor_warnings.TITLE_MAX)
    impact = serializers.CharField(max_length=vendor_warnings.TEXT_MAX)
    period_from = serializers.CharField(
        max_length=40,
        help_text="The first period it affects, as the SLA counts them: `2026-10` (monthly), "
        "`2026-W42` (weekly), or a date inside the period.",
    )
    period_to = serializers.CharField(
        max_length=40, required=False, allow_blank=True, allow_null=True, default=None,
        help_text="The last period it affects (empty: not known).",
    )  # fmt: skip
    mitigation = serializers.CharField(
        max_length=vendor_warnings.TEXT_MAX, required=False, allow_blank=True, default=""
    )
    attachment = serializers.FileField(
        required=False, allow_null=True, default=None, help_text=vendor_warnings.ATTACHMENT_HELP
    )


class WarningAnswerSerializer(serializers.Serializer):
    answer = serializers.CharField(
        max_length=vendor_warnings.TEXT_MAX, help_text="What the customer side will do with it."
    )


WARNING_REFUSED = OpenApiResponse(
    ErrorSerializer, description="The warning's state doesn't allow it."
)


class VendorWarningViewSet(
    ExportableList, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet
):
    """
    Early warnings a vendor raises on its SLAs before the numbers show the
    risk. The vendor's users raise and close them; admins and account managers
    acknowledge them with an answer, and close them. `?format=csv|xlsx`: the
    warnings page's export.
    """

    queryset = VendorWarning.objects.none()
    serializer_class = VendorWarningSerializer
    filterset_class = WarningFilter
    export = exports.VENDOR_WARNINGS

    def get_queryset(self):
        return (
            vendor_warnings.warnings_all()
            .select_related("organization")
            .order_by("-raised_at", "-pk")
        )

    def _warning(self, warning: VendorWarning, code: int = 200) -> Response:
        fresh = self.get_queryset().get(pk=warning.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(request=WarningCreateSerializer, responses={201: VendorWarningSerializer})
    def create(self, request, *args, **kwargs):
        tenant = self.tenant
        if not tenant.is_vendor:  # who may, before what they sent is judged
            raise PermissionDenied("Only the vendor's users raise early warnings.")
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > vendor_warnings.ATTACHMENT_MAX_BYTES + 512 * 1024:
            # Refused before the body is read (and spooled to disk).
            raise serializers.ValidationError(
                {"attachment": ["The request is larger than 5 MB: attach a smaller file."]}
            )
        serializer = WarningCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        with service_errors():
            warning = vendor_warnings.warning_raise(
                organization=tenant.organization, actor=request.user, tenant=tenant,
                **serializer.validated_data,
            )  # fmt: skip
        return self._warning(warning, status.HTTP_201_CREATED)

    @extend_schema(
        request=WarningAnswerSerializer,
        responses={200: VendorWarningSerializer, 409: WARNING_REFUSED},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, *args, **kwargs):
        """The customer side has read it, and answers (admins and account managers)."""
        warning = self.get_object()
        self.tenant.require_manage()
        serializer = WarningAnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            with service_errors():
                done = vendor_warnings.warning_acknowledge(
                    warning=warning, actor=request.user, tenant=self.tenant,
                    answer=serializer.validated_data["answer"],
                )  # fmt: skip
        except vendor_warnings.WarningStateError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        if not done:
            return Response({"detail": "Already acknowledged."}, status=status.HTTP_409_CONFLICT)
        return self._warning(warning)

    @extend_schema(request=None, responses={200: VendorWarningSerializer, 409: WARNING_REFUSED})
    @action(detail=True, methods=["post"])
    def close(self, request, *args, **kwargs):
        """The risk has passed (the vendor's users, admins and account managers)."""
        warning = self.get_object()
        if not vendor_warnings.may_close(self.tenant, warning):
            raise PermissionDenied(
                "Only admins, account managers and the vendor's users close a warning."
            )
        if not vendor_warnings.warning_close(
            warning=warning, actor=request.user, tenant=self.tenant
        ):
            return Response({"detail": "Already closed."}, status=status.HTTP_409_CONFLICT)
        return self._warning(warning)


ROUTES: list[tuple[str, type, str]] = [
    ("action-items", ActionItemViewSet, "action-item"),
    ("vendor-warnings", VendorWarningViewSet, "vendor-warning"),
]
