from django.urls import path, re_path

from reviews import report_views

# Included in the `reviews` namespace by reviews.urls. A month is written `2026-11`.
urlpatterns = [
    path("reports/monthly/", report_views.monthly_report_latest, name="monthly_report"),
    re_path(
        r"^reports/monthly/(?P<month>[0-9]{4}-[0-9]{2})/$",
        report_views.monthly_report_month,
        name="monthly_report_month",
    ),
    re_path(
        r"^reports/monthly/(?P<month>[0-9]{4}-[0-9]{2})\.pdf$",
        report_views.monthly_report_pdf,
        name="monthly_report_pdf",
    ),
]
