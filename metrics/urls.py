from django.urls import path

from metrics import export_views, ledger_views, submission_views, views

urlpatterns = [
    path("slas/<int:sla_id>/readings/new/", views.reading_create, name="reading_create"),
    path("submissions/", submission_views.submission_list, name="submissions"),
    path(
        "submissions/<int:submission_id>/",
        submission_views.submission_detail,
        name="submission",
    ),
    path(
        "submissions/<int:submission_id>/confirm/",
        submission_views.submission_confirm,
        name="submission_confirm",
    ),
    path(
        "submissions/<int:submission_id>/revalidate/",
        submission_views.submission_revalidate,
        name="submission_revalidate",
    ),
    path(
        "submissions/<int:submission_id>/discard/",
        submission_views.submission_discard,
        name="submission_discard",
    ),
    path(
        "submissions/<int:submission_id>/file/",
        submission_views.submission_file,
        name="submission_file",
    ),
    path(
        "submissions/<int:submission_id>/errors.csv",
        submission_views.submission_errors_csv,
        name="submission_errors",
    ),
    path("credits/", ledger_views.credit_ledger, name="credit_ledger"),
    *[
        path(
            f"credits/<int:entry_id>/{action}/",
            ledger_views.credit_action,
            {"action": action},
            name=f"credit_{action}",
        )
        for action in ledger_views.ACTIONS
    ],
    path(
        "vendors/<int:vendor_id>/template/",
        submission_views.vendor_template,
        name="vendor_template",
    ),
    *export_views.urlpatterns,
]
