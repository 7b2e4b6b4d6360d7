"""Uploading data: templates, upload, progress, preview, confirmation."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from contracts import selectors
from contracts.models import Vendor
from metrics import exports
from metrics.forms import UploadForm
from metrics.ingest import blank, files, months, pipeline, staging
from metrics.models import Submission, SubmissionRow
from slagov.exports import requested_format, safe_text
from slagov.filters import parse_digits

PREVIEW_LIMIT = 200
LIST_LIMIT = 100  # the latest submissions on the Data page; its export has all of them
ERROR_LIMIT = 500


@dataclass
class MonthPicker:
    """The Data page's template panel: a vendor, the months it owes, the one picked."""

    vendor: Vendor | None
    vendors: list[Vendor]
    months: list[months.Month]
    month: months.Month | None
    problem: str
    lines: list[blank.Line]


def _month_picker(request: HttpRequest) -> MonthPicker:
    tenant = request.tenant
    vendors = list(Vendor.objects.order_by("name"))
    raw = request.GET.get("vendor", "")
    if raw.strip():
        try:
            vendor = selectors.vendor_get(tenant, parse_digits(raw.strip()))
        except ValueError:
            raise Http404("No such vendor.") from None
    else:
        vendor = vendors[0] if vendors else None
    if vendor is None:
        return MonthPicker(None, vendors, [], None, "", [])
    today = timezone.localdate()
    slas = months.vendor_service_levels(vendor)
    owed = months.owed_months(slas, today)
    problem = ""
    try:
        month = months.month_chosen(request.GET.get("period", ""), owed, today)
    except months.MonthRefusedError as exc:
        problem = str(exc)
        month = months.default_month(owed, today)
    lines = (
        blank.template_lines(vendor=vendor, month=month.start, today=today, slas=slas)
        if month
        else []
    )
    return MonthPicker(vendor, vendors, owed, month, problem, lines)


def submission_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant
    if request.htmx and request.method == "GET":  # a month or vendor picked: the panel only
        picker = _month_picker(request) if tenant.can_upload else None
        return render(request, "metrics/submission_list.html#month-panel", {"picker": picker})
    if request.method == "GET" and (fmt := requested_format(request)):
        return exports.SUBMISSIONS.response(fmt, Submission.objects.order_by("-created_at", "-pk"))
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
    submissions = Submission.objects.select_related("vendor", "created_by").order_by(
        "-created_at", "-pk"
    )[:LIST_LIMIT]
    context = {
        "form": form,
        "refused": refused,
        "can_upload": tenant.can_upload,
        "submissions": submissions,
        "picker": _month_picker(request) if tenant.can_upload else None,
        "preview_days": Submission.PREVIEW_DAYS,
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
    tenant = request.tenant
    context = {"submission": submission, "can_upload": tenant.can_upload}
    if submission.is_finished:
        rows = SubmissionRow.objects.filter(submission=submission).select_related(
            "service_level__contract"
        )
        invalid = submission.state == Submission.State.INVALID
        errors = submission.errors.select_related("service_level__contract")[:ERROR_LIMIT]
        context.update(
            errors=list(errors) if invalid else [],
            changed=list(rows.filter(action="changed")[:PREVIEW_LIMIT]),
            new=list(rows.filter(action="new")[:PREVIEW_LIMIT]),
            unchanged=list(rows.filter(action="unchanged")[:PREVIEW_LIMIT]),
            # A preview made before another value was applied: validated again, not applied.
            stale=submission.state == Submission.State.READY
            and staging.stale_rows(submission.pk) > 0,
            stale_message=pipeline.STALE,
        )
        if invalid and tenant.can_upload:
            context["upload_form"] = UploadForm(
                tenant=tenant, initial={"vendor": submission.vendor_id}
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
    outcome = pipeline.submission_confirm(
        organization=tenant.organization, actor=request.user, submission=submission,
        reasons=_reasons(request),
    )  # fmt: skip
    (messages.success if outcome.ok else messages.error)(request, outcome.message)
    return redirect("metrics:submission", org_slug=tenant.slug, submission_id=submission.pk)


def _reasons(request: HttpRequest) -> dict[int, str]:
    """The reasons typed for changed rows, by row number."""
    return pipeline.reasons_by_row(
        (key.removeprefix("reason-"), value)
        for key, value in request.POST.items()
        if key.startswith("reason-")
    )


def submission_revalidate(request: HttpRequest, org_slug: str, submission_id: int) -> HttpResponse:
    submission = _submission(request.tenant, submission_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    request.tenant.require_uploader()
    # The reasons typed on the preview come along: they are kept for the new one.
    pipeline.submission_revalidate(
        organization=request.tenant.organization, actor=request.user, submission=submission,
        reasons=_reasons(request),
    )  # fmt: skip
    return redirect("metrics:submission", org_slug=request.tenant.slug, submission_id=submission.pk)


def submission_discard(request: HttpRequest, org_slug: str, submission_id: int) -> HttpResponse:
    submission = _submission(request.tenant, submission_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    request.tenant.require_uploader()
    outcome = pipeline.submission_discard(
        organization=request.tenant.organization, actor=request.user, submission=submission
    )
    (messages.success if outcome.ok else messages.error)(request, outcome.message)
    if request.POST.get("next") == "list":  # discarded from the Data list: back to it
        return redirect("metrics:submissions", org_slug=request.tenant.slug)
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
    writer.writerow(["row", "contract", "sla", "sla_name", "column", "value", "message"])
    for error in submission.errors.select_related("service_level__contract"):
        sla = error.service_level
        named = (sla.contract.reference, sla.code, sla.name) if sla else ("", "", "")
        writer.writerow(
            [error.row_number or "", *(safe_text(t) for t in named), error.column,
             safe_text(error.value), error.message]
        )  # fmt: skip
    response = HttpResponse(("\ufeff" + out.getvalue()).encode(), content_type="text/csv")
    response["Content-Disposition"] = (
        f'attachment; filename="submission-{submission.pk}-errors.csv"'
    )
    return response


def vendor_template(request: HttpRequest, org_slug: str, vendor_id: int) -> HttpResponse:
    """
    The template for a month the vendor owes data for (?period=2026-10; the
    month just ended by default) as .xlsx, or .csv (?format=csv). Any other
    month is a 400 that says why and offers the months owed.
    """
    vendor = selectors.vendor_get(request.tenant, vendor_id)
    today = timezone.localdate()
    slas = months.vendor_service_levels(vendor)
    owed = months.owed_months(slas, today)
    csv_wanted = request.GET.get("format") == "csv"
    try:
        month = months.month_chosen(request.GET.get("period", ""), owed, today)
    except months.MonthRefusedError as exc:
        context = {"message": str(exc), "vendor": vendor, "months": owed,
                   "format": "csv" if csv_wanted else ""}  # fmt: skip
        return render(request, "metrics/template_bad_period.html", context, status=400)
    lines = blank.template_lines(vendor=vendor, month=month.start, today=today, slas=slas)
    slug = "".join(ch if ch.isalnum() else "-" for ch in vendor.name.lower()).strip("-")
    if csv_wanted:
        response = HttpResponse(blank.as_csv(lines), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{slug}-{month.label}.csv"'
        return response
    response = HttpResponse(
        blank.as_xlsx(lines, vendor=vendor, month=month.start),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{slug}-{month.label}.xlsx"'
    return response
