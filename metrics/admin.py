from django.contrib import admin

from metrics.models import PeriodStatus, Reading, ReadingRevision, SlaHealth
from slagov.admin import OrgScopedAdmin


@admin.register(Reading)
class ReadingAdmin(OrgScopedAdmin):
    list_display = ["service_level", "period_start", "value", "source", "revision", "submitted_at"]
    list_filter = ["organization", "source"]
    search_fields = ["service_level__code", "service_level__contract__reference"]
    list_select_related = ("organization", "service_level")
    date_hierarchy = "period_start"


@admin.register(ReadingRevision)
class ReadingRevisionAdmin(OrgScopedAdmin):
    list_display = ["reading", "revision", "value", "reason", "superseded_at"]
    list_filter = ["organization"]
    list_select_related = ("organization", "reading__service_level")


@admin.register(PeriodStatus)
class PeriodStatusAdmin(OrgScopedAdmin):
    list_display = ["service_level", "period_start", "colour", "value", "target", "minimum",
                    "credit_amount"]  # fmt: skip
    list_filter = ["organization", "colour"]
    list_select_related = ("organization", "service_level")
    date_hierarchy = "period_start"


@admin.register(SlaHealth)
class SlaHealthAdmin(OrgScopedAdmin):
    list_display = ["service_level", "colour", "latest_period", "value", "computed_at"]
    list_filter = ["organization", "colour"]
    list_select_related = ("organization", "service_level")
