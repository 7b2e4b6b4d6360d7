"""
Members and invitations over the API, through the same services as the pages
(`slagov.members`). Admins see and change everyone; a vendor lead sees their
vendor's colleagues and invites them; anyone else sees only themselves.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from contracts.models import Vendor
from slagov import members
from slagov.api import ScopedPrimaryKeyRelatedField, TenantViewSet, service_errors
from slagov.models import Invitation, Membership

Role = Membership.Role


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    name = serializers.CharField(source="user.get_full_name", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    last_login = serializers.DateTimeField(
        source="user.last_login", read_only=True, allow_null=True
    )
    vendor = ScopedPrimaryKeyRelatedField(Vendor, allow_null=True, required=False)

    class Meta:
        model = Membership
        fields = [
            "id", "username", "name", "email", "role", "vendor", "vendor_lead", "is_active",
            "deactivated_at", "last_login", "created_at",
        ]  # fmt: skip
        read_only_fields = ["deactivated_at", "created_at"]


class InvitationSerializer(serializers.ModelSerializer):
    vendor = ScopedPrimaryKeyRelatedField(Vendor, allow_null=True, required=False)
    invited_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Invitation
        fields = [
            "id", "email", "role", "vendor", "state", "sends", "invited_by", "sent_at",
            "expires_at", "accepted_at", "revoked_at",
        ]  # fmt: skip
        read_only_fields = [
            "state", "sends", "invited_by", "sent_at", "expires_at", "accepted_at", "revoked_at",
        ]  # fmt: skip


class MemberViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, TenantViewSet
):
    """
    The organisation's members. PATCH (admins): `role`, `vendor`, `vendor_lead`, and
    `is_active` (false deactivates at once: pages, tokens and mail stop; true brings
    them back; revoked tokens stay revoked). The last active admin stays one.
    """

    serializer_class = MemberSerializer
    queryset = Membership.objects.none()
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        tenant = self.tenant
        rows = Membership.objects.filter(organization=tenant.organization).select_related(
            "user", "vendor"
        )
        if tenant.is_admin:
            return rows.order_by("user__username")
        if tenant.is_vendor and tenant.membership.vendor_lead:
            return rows.filter(vendor_id=tenant.vendor_id).order_by("user__username")
        return rows.filter(pk=tenant.membership.pk)

    def perform_update(self, serializer):
        tenant = self.tenant
        if not tenant.is_admin:
            raise PermissionDenied("Only organisation admins manage members.")
        membership = serializer.instance
        data = serializer.validated_data
        with service_errors():
            if {"role", "vendor", "vendor_lead"} & set(data):
                role = data.get("role", membership.role)
                vendor = data.get("vendor", membership.vendor)
                if role != Role.VENDOR and "vendor" not in data:
                    vendor = None
                members.member_change(
                    organization=tenant.organization, actor=tenant.membership,
                    membership=membership, role=role, vendor=vendor,
                    vendor_lead=data.get("vendor_lead", membership.vendor_lead),
                )  # fmt: skip
            if "is_active" in data and data["is_active"] != membership.is_active:
                change = (
                    members.member_reactivate if data["is_active"] else members.member_deactivate
                )
                change(organization=tenant.organization, actor=tenant.membership,
                       membership=membership)  # fmt: skip
        serializer.instance = self.get_queryset().get(pk=membership.pk)


class InvitationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    mixins.DestroyModelMixin, TenantViewSet,
):  # fmt: skip
    """
    Invitations. POST (admins; a vendor lead for colleagues of their vendor) sends one
    through the outbox: a signed link that works once, for 7 days. `resend` sends a new
    link (the old one stops working); DELETE withdraws a pending one.
    """

    serializer_class = InvitationSerializer
    queryset = Invitation.objects.none()

    def get_queryset(self):
        tenant = self.tenant
        rows = Invitation.objects.filter(organization=tenant.organization).select_related(
            "vendor", "invited_by"
        )
        if tenant.is_admin:
            return rows
        if tenant.is_vendor and tenant.membership.vendor_lead:
            return rows.filter(vendor_id=tenant.vendor_id)
        return rows.none()

    def perform_create(self, serializer):
        data = serializer.validated_data
        with service_errors():
            serializer.instance = members.invitation_create(
                organization=self.tenant.organization, inviter=self.tenant.membership,
                email=data["email"], role=data["role"], vendor=data.get("vendor"),
            )  # fmt: skip

    def perform_destroy(self, instance):
        with service_errors():
            members.invitation_revoke(
                organization=self.tenant.organization, actor=self.tenant.membership,
                invitation=instance,
            )  # fmt: skip

    @extend_schema(request=None, responses={200: InvitationSerializer})
    @action(detail=True, methods=["post"])
    def resend(self, request, *args, **kwargs):
        invitation = self.get_object()
        with service_errors():
            invitation = members.invitation_resend(
                organization=self.tenant.organization, actor=self.tenant.membership,
                invitation=invitation,
            )  # fmt: skip
        return Response(
            InvitationSerializer(invitation, context=self.get_serializer_context()).data
        )
