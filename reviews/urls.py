from django.urls import include, path

from reviews import views, views_health

app_name = "reviews"

urlpatterns = [
    path("reviews/", views.review_calendar, name="calendar"),
    path("reviews/<int:review_id>/", views.review_detail, name="detail"),
    path("reviews/<int:review_id>/move/", views.review_move, name="move"),
    path("reviews/<int:review_id>/cancel/", views.review_cancel, name="cancel"),
    path("reviews/<int:review_id>/agenda/", views.review_agenda, name="agenda"),
    path("reviews/<int:review_id>/topics/", views.review_topic_add, name="topic_add"),
    path("reviews/<int:review_id>/hold/", views.review_hold, name="hold"),
    path("reviews/<int:review_id>/pack.pdf", views.review_pack, name="pack"),
    path("reviews/<int:review_id>/sign/", views.review_sign, name="sign"),
    path("reviews/<int:review_id>/relevance/", views_health.review_relevance, name="relevance"),
    path("contracts/<int:contract_id>/reviews/new/", views.review_plan, name="plan"),
    path("", include("reviews.urls_actions")),
    path("", include("reviews.urls_warnings")),
    path("", include("reviews.urls_help")),
]
