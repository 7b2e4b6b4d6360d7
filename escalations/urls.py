from django.urls import path

from escalations import views, views_leadership

app_name = "escalations"

urlpatterns = [
    path("escalations/", views.escalation_list, name="list"),
    path("escalations/<int:escalation_id>/", views.escalation_detail, name="detail"),
    path(
        "escalations/<int:escalation_id>/acknowledge/",
        views.escalation_acknowledge,
        name="acknowledge",
    ),
    path("escalations/<int:escalation_id>/meeting/", views.escalation_meeting, name="meeting"),
    path("escalations/<int:escalation_id>/resolve/", views.escalation_resolve, name="resolve"),
    path("leadership/", views_leadership.leadership, name="leadership"),
    path("settings/delivery/", views.delivery, name="delivery"),
    path(
        "settings/delivery/<int:notification_id>/send-again/",
        views.delivery_send_again,
        name="delivery_send_again",
    ),
    path("settings/escalation-policy/", views.policy_default, name="policy"),
    path(
        "contracts/<int:contract_id>/escalation-policy/",
        views.policy_contract,
        name="contract_policy",
    ),
]
