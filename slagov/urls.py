from allauth.account import views as account_views
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import IsAuthenticated

from contracts import urls as contracts_urls
from escalations import views as escalation_views
from metrics import urls as metrics_urls
from slagov import api_urls, audit_views, member_views, pages, vendor_page, views

org_patterns = [
    path("settings/tokens/", views.token_list, name="tokens"),
    path("settings/me/", views.preferences, name="preferences"),
    path("settings/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("settings/members/", member_views.member_list, name="members"),
    path("settings/members/<int:membership_id>/", member_views.member_detail, name="member"),
    path(
        "settings/members/<int:membership_id>/deactivate/",
        member_views.member_deactivate,
        name="member_deactivate",
    ),
    path(
        "settings/members/<int:membership_id>/handover/",
        member_views.member_handover,
        name="member_handover",
    ),
    path(
        "settings/invitations/<int:invitation_id>/",
        member_views.invitation_action,
        name="invitation_action",
    ),
    path("settings/security/", member_views.organization_security, name="organization_security"),
    path("settings/audit/", audit_views.audit_log, name="audit"),
    path("settings/audit.csv", audit_views.audit_csv, name="audit_csv"),
    # The combined pages (slagov.pages) keep the names of the app whose object they show.
    path(
        "",
        include(
            (
                pages.CONTRACT_PAGES + vendor_page.VENDOR_PAGES + contracts_urls.urlpatterns,
                "contracts",
            )
        ),
    ),
    path("", include((pages.METRICS_PAGES + metrics_urls.urlpatterns, "metrics"))),
    path("", include("escalations.urls")),
    path("", include("reviews.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("orgs/", views.organization_list, name="organizations"),
    path("healthz/", views.healthz, name="healthz"),
    path("ack/<str:token>/", escalation_views.ack, name="escalation_ack"),
    path("invite/<str:token>/", member_views.invitation, name="invitation"),
    # django-allauth's sign-in and sign-out, at the addresses slagov always had.
    path("login/", account_views.login, name="login"),
    path("logout/", account_views.logout, name="logout"),
    path("accounts/", include("allauth.urls")),
    path("account/", views.account, name="account"),
    path("admin/", admin.site.urls),
    path("o/<slug:org_slug>/", include(org_patterns)),
    path("api/v1/o/<slug:org_slug>/", include((api_urls.router.urls, "api"))),
    path(
        "api/v1/schema/",
        SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]),
        name="api-schema",
    ),
    path(
        "api/v1/docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema", permission_classes=[IsAuthenticated]),
        name="api-docs",
    ),
    path(
        "api/v1/redoc/",
        SpectacularRedocView.as_view(url_name="api-schema", permission_classes=[IsAuthenticated]),
        name="api-redoc",
    ),
]
