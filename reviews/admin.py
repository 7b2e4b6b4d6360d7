from django.contrib import admin

from reviews.models import Review
from slagov.admin import OrgScopedAdmin


@admin.register(Review)
class ReviewAdmin(OrgScopedAdmin):
    list_display = ["contract", "kind", "held_at", "escalation", "organization"]
    list_filter = ["organization", "kind"]
    list_select_related = ("organization", "contract")
    date_hierarchy = "held_at"
