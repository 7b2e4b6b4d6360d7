"""
Django admin: an operator's tool. Superusers see every organisation; other
staff users see only the organisations in which they are admins.
"""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from slagov.models import ApiToken, Membership, Organization


def admin_org_ids(request) -> list[int] | None:
    """None means every organisation (superuser)."""
    if request.user.is_superuser:
        return None
    return list(
        Membership.objects.filter(
            user=request.user, role=Membership.Role.ADMIN, is_active=True
        ).values_list("organization_id", flat=True)
    )


class OrgScopedAdmin(SimpleHistoryAdmin):
    """Rows of the organisations the staff user administers; FK choices likewise."""

    org_field = "organization"
    list_select_related = ("organization",)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        ids = admin_org_ids(request)
        return qs if ids is None else qs.filter(**{f"{self.org_field}__in": ids})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        ids = admin_org_ids(request)
        if ids is not None:
            model = db_field.related_model
            if model is Organization:
                kwargs["queryset"] = Organization.objects.filter(pk__in=ids)
            elif any(f.name == "organization" for f in model._meta.fields):
                kwargs["queryset"] = model._default_manager.filter(organization__in=ids)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Organization)
class OrganizationAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug", "currency", "compliance_threshold", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        ids = admin_org_ids(request)
        return qs if ids is None else qs.filter(pk__in=ids)


@admin.register(Membership)
class MembershipAdmin(OrgScopedAdmin):
    list_display = ["user", "organization", "role", "vendor", "is_active"]
    list_filter = ["role", "is_active", "organization"]
    search_fields = ["user__username", "user__email", "organization__name"]
    list_select_related = ("user", "organization", "vendor")
    autocomplete_fields = ["user"]


@admin.register(ApiToken)
class ApiTokenAdmin(OrgScopedAdmin):
    list_display = ["name", "key_prefix", "membership", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["organization"]
    readonly_fields = ["key_prefix", "key_hash", "created_at", "last_used_at"]
    list_select_related = ("organization", "membership__user")
