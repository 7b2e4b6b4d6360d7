"""Help pages: how the numbers are counted."""

from __future__ import annotations

from django.urls import path

from reviews import views_help

urlpatterns: list = [
    path("help/numbers/", views_help.help_numbers, name="help_numbers"),
]
