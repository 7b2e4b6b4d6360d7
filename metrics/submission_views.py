"""Uploading data: templates, upload, progress, preview, confirmation."""

from __future__ import annotations

import csv
import io
from datetime import date

from django import forms
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django_scopes.forms import SafeModelChoiceField

from contracts import periods, selectors
from contracts.models import Vendor
from metrics.ingest import blank, files, pipeline
from metrics.ingest.blank import safe_text
from metrics.models import Submission, SubmissionRow
from slagov.filters import ASCII_DIGITS, parse_digits

PREVIEW_LIMIT = 200


class UploadForm(forms.Form):
    vendor = SafeModelChoiceField(queryset=Vendor.objects.none(), empty_label=None)
    file = forms.FileField(help_text="CSV or Excel (.xlsx), at most 10 MB and 100,000 rows.")

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vendor"].queryset = Vendor.objects.order_by("name")
        if tenant.is_vendor:
            self.fields["vendor"].widget = forms.HiddenInput()
            self.fields["vendor"].initial = tenant.vendor_id

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > files.MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:.1f} MB; the limit is "
                f"{files.MAX_BYTES // 1024 // 1024} MB."
            )
        ext = files.extension_of(upload.name)
        if ext not in files.CSV_EXTENSIONS | files.XLSX_EXTENSIONS:
            raise forms.ValidationError(
                f"{upload.name}: upload a .csv or .xlsx file (this is {ext or 'no extension'})."
            )
        return upload


def _last_month() -> date:
    return periods.last_closed_period(timezone.localdate(), periods.Period.MONTHLY)


def submission_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant
    if request.method == "POST":
        tenant.require_uploader()
    too_big = int(request.META.get("CONTENT_LENGTH") or 0) > files.MAX_BYTES + 512 * 1024
    if too_big:  # refuse before Django spools the whole body to disk
        form = UploadForm(tenant=tenant)
        refused = f"The upload is larger than {files.MAX_BYTES // 1024 // 1024} MB: split the file."
    else:
        form = UploadForm(request.POST or None, request.FILES or None, tenant=tenant)
        refused = ""
    if request.method == "POST" and not too_big and form.is_valid():
        upload = form.cleaned_data["file"]
        submission = pipeline.submission_receive(
            organization=tenant.organization,
            actor=request.user,
            vendor=form.cleaned_data["vendor"],
            data=upload.read(),
            filename=upload.name,
        )
        return redirect("metrics:submission", org_slug=tenant.slug, submission_id=submission.pk)
    submissions = Submission.objects.select_related("vendor", "created_by").order_by("-created_at")[
        :100
    ]
    month = _last_month()
    context = {
        "form": form,
        "refused": refused,
        "can_upload": tenant.can_upload,
        "submissions": submissions,
        "vendors": Vendor.objects.order_by("name"),
        "month": month,
        "month_label": periods.period_label(month, periods.Period.MONTHLY),
    }
    return render(request, "metrics/submission_list.html", context)


def _submission(tenant, submission_id: int) -> Submission:
    return get_object_or_404(
        Submission.objects.select_related("vendor", "created_by", "applied_by", "duplicate_of"),
        pk=submission_id,
    )


def submission_detail(request: HttpRequest, org_slug: str, submission_id: int) -> HttpResponse:
    submission = _submission(request.tenant, submission_id)
    if pipeline.submission_may_be_lost(submission) and pipeline.submission_recover(
        submission_id=submission.pk
    ):
        # A worker was lost while this page polled: queued again, or given up on.
        submission = _submission(request.tenant, submission_id)
    context = {"submission": submission, "can_upload": request.tenant.can_upload}
    if submission.is_finished:
        rows = SubmissionRow.objects.filter(submission=submission).select_related(
            "service_level__contract"
        )
        context.update(
            errors=list(submission.errors.all()[:500]),
            changed=list(rows.filter(action="changed")[:PREVIEW_LIMIT]),
            new=list(rows.filter(action="new")[:PREVIEW_LIMIT]),
        )
    template = "metrics/submission_detail.html"
    if request.htmx:
        template += "#status"
    return render(request, template, context)


def submission_confirm(request: HttpRequest, org_slug: str, submission_id: int) -> HttpResponse:
    submission = _submission(request.tenant, submission_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    tenant = request.tenant
    tenant.require_uploader()
    # A key that isn't a row number in ASCII digits names no row ("²".isdigit() is true).
    reasons = {
        parse_digits(key.removeprefix("reason-")): value
        for key, value in request.POST.items()
        if key.startswith("reason-") and ASCII_DIGITS.fullmatch(key.removeprefix("reason-"))
    }
    outcome = pipeline.submission_confirm(
        organization=tenant.organization, actor=request.user, submission=submission, reasons=reasons
    )
    (messages.success if outcome.ok else messages.error)(request, outcome.message)
    return redirect("metrics:submission", org_slug=tenant.slug, submission_id=submission.pk)


def submission_revalidate(request: HttpRequest, org_slug: str, submission_id: int) -> HttpResponse:
    submission = _submission(request.tenant, submission_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    request.tenant.require_uploader()
    pipeline.submission_revalidate(
        organization=request.tenant.organization, actor=request.user, submission=submission
    )
    return redirect("metrics:submission", org_slug=request.tenant.slug, submission_id=submission.pk)


def submission_discard(request: HttpRequest, org_slug: str, submission_id: int) -> HttpResponse:
    submission = _submission(request.tenant, submission_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    request.tenant.require_uploader()
    if pipeline.submission_discard(
        organization=request.tenant.organization, actor=request.user, submission=submission
    ):
        messages.success(request, f"Submission #{submission.pk} was discarded: nothing from it "
                                  "was or will be stored.")  # fmt: skip
    else:
        messages.error(request, f"Submission #{submission.pk} can't be discarded: it is "
                                f"{submission.get_state_display().lower()}.")  # fmt: skip
    return redirect("metrics:submission", org_slug=request.tenant.slug, submission_id=submission.pk)


def submission_file(request: HttpRequest, org_slug: str, submission_id: int) -> HttpResponse:
    submission = _submission(request.tenant, submission_id)
    return FileResponse(
        submission.file.open("rb"), as_attachment=True, filename=submission.original_name
    )


def submission_errors_csv(request: HttpRequest, org_slug: str, submission_id: int) -> HttpResponse:
    submission = _submission(request.tenant, submission_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "column", "value", "message"])
    for error in submission.errors.all():
        writer.writerow(
            [error.row_number or "", error.column, safe_text(error.value), error.message]
        )
    response = HttpResponse(("\ufeff" + out.getvalue()).encode(), content_type="text/csv")
    response["Content-Disposition"] = (
        f'attachment; filename="submission-{submission.pk}-errors.csv"'
    )
    return response


def _bad_period(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "metrics/template_bad_period.html", {"message": message}, status=400)


def vendor_template(request: HttpRequest, org_slug: str, vendor_id: int) -> HttpResponse:
    """The blank template for a month (?period=2026-10) as .xlsx or .csv (?format=csv)."""
    vendor = selectors.vendor_get(request.tenant, vendor_id)
    text = request.GET.get("period", "")
    if not text.strip():
        month = _last_month()
    else:
        try:
            month = periods.parse_period(text, periods.Period.MONTHLY)
        except ValueError as exc:
            return _bad_period(request, str(exc))
        problem = periods.month_problem(month, timezone.localdate())
        if problem:
            return _bad_period(request, problem)
    lines = blank.template_lines(vendor=vendor, month=month)
    label = periods.period_label(month, periods.Period.MONTHLY)
    slug = "".join(ch if ch.isalnum() else "-" for ch in vendor.name.lower()).strip("-")
    if request.GET.get("format") == "csv":
        response = HttpResponse(blank.as_csv(lines), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{slug}-{label}.csv"'
        return response
    response = HttpResponse(
        blank.as_xlsx(lines, vendor=vendor, month=month),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{slug}-{label}.xlsx"'
    return response
