"""
Vendor early-warning pages: the list (with how much notice each vendor has
given), raising one on an SLA, one warning with its answer, closing it, its
attachment (served only to those who can see the warning).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from contracts import selectors as contract_selectors
from reviews import exports, vendor_warnings
from reviews.filters import WarningListFilter
from reviews.forms import AnswerForm, WarningForm
from reviews.models import VendorWarning
from slagov import exports as table_exports
from slagov import formatting
from slagov.web import errors_to_forms, post_only, render_page

LIST_LIMIT = 200
# A request this much larger than the attachment limit is refused before it is read.
REQUEST_SLACK = 512 * 1024


def warning_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    data = request.GET.copy()
    data.setdefault("state", "open")
    filterset = WarningListFilter(
        data, queryset=vendor_warnings.warnings_listed(state="all"), request=request
    )
    if fmt := table_exports.requested_format(request):
        return table_exports.refused_filter(filterset) or exports.VENDOR_WARNINGS.response(
            fmt, filterset.qs
        )
    context = {
        "filter": filterset,
        "warnings": list(filterset.qs[:LIST_LIMIT]),
        "limit": LIST_LIMIT,
        "notice": []
        if request.htmx
        else vendor_warnings.warning_honesty(request.tenant.organization),
    }
    return render_page(request, "reviews/warnings/list.html", context, partial="table")


def warning_raise(request: HttpRequest, org_slug: str, sla_id: int) -> HttpResponse:
    tenant = request.tenant
    sla = contract_selectors.service_level_get(tenant, sla_id)
    if not vendor_warnings.may_raise(tenant, sla):
        if request.method == "POST":
            raise PermissionDenied("Only the vendor's users raise early warnings on its SLAs.")
        messages.info(
            request,
            f"Early warnings on {sla.code} are raised by {sla.contract.vendor.name}'s users.",
        )
        return redirect("metrics:sla", org_slug=org_slug, sla_id=sla.pk)
    too_big = (
        int(request.META.get("CONTENT_LENGTH") or 0)
        > vendor_warnings.ATTACHMENT_MAX_BYTES + REQUEST_SLACK
    )
    # Too big: refused before Django reads (and spools to disk) the whole body.
    refused = "The upload is larger than 5 MB: attach a smaller file." if too_big else ""
    if too_big:
        form = WarningForm(sla=sla)
    else:
        form = WarningForm(request.POST or None, request.FILES or None, sla=sla)
    if request.method == "POST" and not too_big and form.is_valid():
        data = form.cleaned_data
        try:
            warning = vendor_warnings.warning_raise(
                organization=tenant.organization, actor=request.user, tenant=tenant,
                service_level=sla, title=data["title"], impact=data["impact"],
                period_from=data["period_from"], period_to=data["period_to"],
                mitigation=data["mitigation"], attachment=data["attachment"],
            )  # fmt: skip
        except ValidationError as exc:
            errors_to_forms(exc, form)
        else:
            messages.success(request, "Warning raised: the customer side sees it now.")
            return redirect("reviews:warning", org_slug=org_slug, warning_id=warning.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "sla": sla, "refused": refused}
    return render(request, "reviews/warnings/form.html", context, status=status)


def _detail(request: HttpRequest, warning: VendorWarning, answer_form=None, status=200):
    tenant = request.tenant
    context = {
        "warning": warning,
        "answer_form": answer_form or AnswerForm(),
        "can_acknowledge": tenant.can_manage and warning.state == VendorWarning.State.OPEN,
        "can_close": warning.is_open and vendor_warnings.may_close(tenant, warning),
        "can_follow_up": tenant.can_manage,
        "attachment_name": vendor_warnings.attachment_filename(warning),
        "items": list(warning.action_items.select_related("owner").order_by("due_date", "pk")),
        "period_from": formatting.period(warning.period_from, warning.service_level.period),
        "period_to": formatting.period(warning.period_to, warning.service_level.period)
        if warning.period_to
        else "",
        "breached": formatting.period(warning.breached_period, warning.service_level.period)
        if warning.breached_period
        else "",
    }
    return render(request, "reviews/warnings/detail.html", context, status=status)


def warning_detail(request: HttpRequest, org_slug: str, warning_id: int) -> HttpResponse:
    return _detail(request, vendor_warnings.warning_get(request.tenant, warning_id))


def warning_acknowledge(request: HttpRequest, org_slug: str, warning_id: int) -> HttpResponse:
    tenant = request.tenant
    warning = vendor_warnings.warning_get(tenant, warning_id)
    if refused := post_only(request):
        return refused
    tenant.require_manage()
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            done = vendor_warnings.warning_acknowledge(
                warning=warning, actor=request.user, tenant=tenant,
                answer=form.cleaned_data["answer"],
            )  # fmt: skip
        except vendor_warnings.WarningStateError as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            errors_to_forms(exc, form)
            return _detail(request, warning, form, status=400)
        else:
            if done:
                messages.success(request, "Acknowledged: the vendor sees your answer.")
            else:
                messages.info(request, "It was already acknowledged.")
        return redirect("reviews:warning", org_slug=org_slug, warning_id=warning.pk)
    return _detail(request, warning, form, status=400)


def warning_close(request: HttpRequest, org_slug: str, warning_id: int) -> HttpResponse:
    tenant = request.tenant
    warning = vendor_warnings.warning_get(tenant, warning_id)
    if refused := post_only(request):
        return refused
    if vendor_warnings.warning_close(warning=warning, actor=request.user, tenant=tenant):
        messages.success(request, "Closed.")
    else:
        messages.info(request, "It was already closed.")
    return redirect("reviews:warning", org_slug=org_slug, warning_id=warning.pk)


def warning_attachment(request: HttpRequest, org_slug: str, warning_id: int) -> HttpResponse:
    """The attachment, as a download, to people who can see the warning."""
    warning = vendor_warnings.warning_get(request.tenant, warning_id)
    if not warning.attachment:
        messages.info(request, "This warning has no attachment.")
        return redirect("reviews:warning", org_slug=org_slug, warning_id=warning.pk)
    return FileResponse(
        warning.attachment.open("rb"),
        as_attachment=True,
        filename=vendor_warnings.attachment_filename(warning),
        content_type="application/octet-stream",
    )
