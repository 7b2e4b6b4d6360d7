"""Action items: "my action items", one item with its state and comments, creating, editing."""

from __future__ import annotations

from django.urls import path

from reviews import views_actions as views

urlpatterns: list = [
    path("actions/", views.my_actions, name="my_actions"),
    path("actions/<int:item_id>/", views.action_detail, name="action"),
    path("actions/<int:item_id>/state/", views.action_transition, name="action_transition"),
    path("actions/<int:item_id>/comments/", views.action_comment, name="action_comment"),
    path("actions/<int:item_id>/edit/", views.action_edit, name="action_edit"),
    path("contracts/<int:contract_id>/actions/new/", views.action_create, name="action_create"),
]
