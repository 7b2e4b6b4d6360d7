"""Vendor early warnings: raise, list, acknowledge, close, the attachment."""

from __future__ import annotations

from django.urls import path

from reviews import views_warnings as views

urlpatterns: list = [
    path("warnings/", views.warning_list, name="warnings"),
    path("warnings/<int:warning_id>/", views.warning_detail, name="warning"),
    path(
        "warnings/<int:warning_id>/acknowledge/",
        views.warning_acknowledge,
        name="warning_acknowledge",
    ),
    path("warnings/<int:warning_id>/close/", views.warning_close, name="warning_close"),
    path(
        "warnings/<int:warning_id>/attachment/",
        views.warning_attachment,
        name="warning_attachment",
    ),
    path("slas/<int:sla_id>/warnings/new/", views.warning_raise, name="warning_raise"),
]
