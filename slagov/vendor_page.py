"""
The vendor page as a scorecard, and the scorecard PDFs of a vendor and of a
contract for a span of months. They read metrics, escalations and reviews,
so they sit with the combined pages above the apps; their URLs keep the
names of the app whose object they show (`contracts:vendor`).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from contracts import month_spans, selectors
from contracts.models import Contract
from slagov import scorecard_pdf
from slagov.pdf import PdfUnavailable
from slagov.vendor_scorecard import vendor_scorecard


def vendor_detail(request: HttpRequest, org_slug: str, vendor_id: int) -> HttpResponse:
    vendor = selectors.vendor_get(request.tenant, vendor_id)
    today = timezone.localdate()
    context = {
        **vendor_scorecard(vendor, today=today),
        "contacts": list(vendor.contacts.all()),
        "quarter": month_spans.last_closed_quarter(today),
    }
    return render(request, "contracts/vendor_detail.html", context)


def _span_or_400(request: HttpRequest):
    """The months asked for, or the 400 that says which parameter is wrong and why."""
    try:
        return month_spans.month_span(
            request.GET.get("from"), request.GET.get("to"), today=timezone.localdate()
        ), None
    except month_spans.SpanError as exc:
        return None, HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")


def _pdf_response(context: dict, name: str) -> HttpResponse:
    try:
        pdf = scorecard_pdf.scorecard_pdf(context)
    except PdfUnavailable as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _file_part(text: str) -> str:
    """A name or reference as it may stand in a file name."""
    kept = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "-" for ch in text)
    return "-".join(part for part in kept.split("-") if part)[:60] or "scorecard"


def vendor_scorecard_pdf(request: HttpRequest, org_slug: str, vendor_id: int) -> HttpResponse:
    vendor = selectors.vendor_get(request.tenant, vendor_id)
    span, refused = _span_or_400(request)
    if refused:
        return refused
    contracts = list(
        Contract.objects.filter(vendor=vendor)
        .select_related("vendor", "owner", "organization")
        .order_by("reference")
    )
    context = scorecard_pdf.scorecard_context(
        title=f"{vendor.name}: vendor scorecard", subject=vendor.name, contracts=contracts,
        span=span, today=timezone.localdate(), vendor=vendor,
    )  # fmt: skip
    name = f"scorecard-{_file_part(vendor.name)}-{span.first:%Y-%m}-{span.last:%Y-%m}.pdf"
    return _pdf_response(context, name)


def contract_scorecard_pdf(request: HttpRequest, org_slug: str, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get(request.tenant, contract_id)
    span, refused = _span_or_400(request)
    if refused:
        return refused
    context = scorecard_pdf.scorecard_context(
        title=f"{contract.reference} {contract.title}: contract scorecard",
        subject=f"{contract.reference} {contract.title}", contracts=[contract], span=span,
        today=timezone.localdate(), vendor=contract.vendor,
    )  # fmt: skip
    name = f"scorecard-{_file_part(contract.reference)}-{span.first:%Y-%m}-{span.last:%Y-%m}.pdf"
    return _pdf_response(context, name)


# Wired into the `contracts` namespace by slagov.urls.
VENDOR_PAGES = [
    path("vendors/<int:vendor_id>/", vendor_detail, name="vendor"),
    path("vendors/<int:vendor_id>/scorecard.pdf", vendor_scorecard_pdf, name="vendor_scorecard"),
    path(
        "contracts/<int:contract_id>/scorecard.pdf",
        contract_scorecard_pdf,
        name="contract_scorecard",
    ),
]
