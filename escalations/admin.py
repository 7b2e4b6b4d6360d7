from django.contrib import admin

from escalations.models import (
    Escalation,
    EscalationEvent,
    EscalationPolicy,
    EscalationStep,
    Notification,
)
from slagov.admin import OrgScopedAdmin


class StepInline(admin.TabularInline):
    model = EscalationStep
    extra = 0
    exclude = ["organization"]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(OrgScopedAdmin):
    list_display = ["name", "contract", "organization", "updated_at"]
    list_filter = ["organization"]
    list_select_related = ("organization", "contract")
    inlines = [StepInline]


@admin.register(EscalationStep)
class EscalationStepAdmin(OrgScopedAdmin):
    list_display = ["policy", "order", "condition", "state", "threshold", "level"]
    list_filter = ["organization", "condition"]
    list_select_related = ("organization", "policy")


@admin.register(Escalation)
class EscalationAdmin(OrgScopedAdmin):
    list_display = ["pk", "service_level", "kind", "level", "state", "opened_at", "due_by"]
    list_filter = ["organization", "state", "level", "kind"]
    list_select_related = ("organization", "service_level")
    date_hierarchy = "opened_at"


@admin.register(EscalationEvent)
class EscalationEventAdmin(OrgScopedAdmin):
    list_display = ["escalation", "kind", "level", "at", "actor"]
    list_filter = ["organization", "kind"]
    list_select_related = ("organization", "escalation", "actor")


@admin.register(Notification)
class NotificationAdmin(OrgScopedAdmin):
    list_display = ["email", "escalation", "delivery", "state", "attempts", "sent_at"]
    list_filter = ["organization", "state", "delivery"]
    list_select_related = ("organization", "escalation")
    readonly_fields = ["ack_nonce"]
