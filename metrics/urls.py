from django.urls import path

from metrics import views

app_name = "metrics"

urlpatterns = [
    path("slas/<int:sla_id>/", views.sla_detail, name="sla"),
    path("slas/<int:sla_id>/readings/new/", views.reading_create, name="reading_create"),
]
