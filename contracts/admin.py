from django.contrib import admin

from contracts.models import (
    Contract,
    ContractContact,
    CreditTier,
    ServiceLevel,
    ServiceLevelTerms,
    Vendor,
    VendorContact,
)
from slagov.admin import OrgScopedAdmin


class VendorContactInline(admin.TabularInline):
    model = VendorContact
    extra = 0
    exclude = ["organization"]


@admin.register(Vendor)
class VendorAdmin(OrgScopedAdmin):
    list_display = ["name", "organization", "created_at"]
    list_filter = ["organization"]
    search_fields = ["name"]


@admin.register(VendorContact)
class VendorContactAdmin(OrgScopedAdmin):
    list_display = ["name", "email", "vendor", "organization"]
    list_filter = ["organization"]
    search_fields = ["name", "email", "vendor__name"]
    list_select_related = ("organization", "vendor")


@admin.register(Contract)
class ContractAdmin(OrgScopedAdmin):
    list_display = ["reference", "title", "vendor", "category", "annual_value", "currency",
                    "start_date", "end_date", "owner", "organization"]  # fmt: skip
    list_filter = ["organization", "category", "review_cadence", "governance_mode"]
    search_fields = ["reference", "title", "vendor__name"]
    list_select_related = ("organization", "vendor", "owner")
    date_hierarchy = "start_date"


@admin.register(ContractContact)
class ContractContactAdmin(OrgScopedAdmin):
    list_display = ["contract", "contact", "organization"]
    list_select_related = ("organization", "contract", "contact")


class TermsInline(admin.TabularInline):
    model = ServiceLevelTerms
    extra = 0
    exclude = ["organization"]
    fields = ["effective_from", "direction", "target", "minimum", "improvement",
              "improvement_rate", "improvement_bound", "note"]  # fmt: skip


@admin.register(ServiceLevel)
class ServiceLevelAdmin(OrgScopedAdmin):
    list_display = ["code", "name", "contract", "kind", "unit", "direction", "period", "is_active"]
    list_filter = ["organization", "kind", "unit", "period", "is_active"]
    search_fields = ["code", "name", "contract__reference"]
    list_select_related = ("organization", "contract")


@admin.register(ServiceLevelTerms)
class ServiceLevelTermsAdmin(OrgScopedAdmin):
    list_display = ["service_level", "effective_from", "target", "minimum", "improvement"]
    list_filter = ["organization", "improvement"]
    list_select_related = ("organization", "service_level")


@admin.register(CreditTier)
class CreditTierAdmin(OrgScopedAdmin):
    list_display = ["terms", "worse_than", "percent", "organization"]
    list_select_related = ("organization", "terms__service_level")
