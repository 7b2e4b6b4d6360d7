from django.urls import path

from contracts import sla_views, views

urlpatterns = [
    path("contracts/new/", views.contract_create, name="contract_create"),
    path("contracts/<int:contract_id>/edit/", views.contract_edit, name="contract_edit"),
    path("contracts/<int:contract_id>/slas/new/", sla_views.sla_create, name="sla_create"),
    path("slas/<int:sla_id>/edit/", sla_views.sla_edit, name="sla_edit"),
    path("slas/<int:sla_id>/terms/new/", sla_views.terms_create, name="terms_create"),
    path("vendors/new/", views.vendor_create, name="vendor_create"),
    path("vendors/<int:vendor_id>/edit/", views.vendor_edit, name="vendor_edit"),
    path("vendors/<int:vendor_id>/contacts/new/", views.contact_create, name="contact_create"),
]
