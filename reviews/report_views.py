"""
The monthly report's page and PDF: the latest (the month just ended) or any
month that has ended. The customer side's own reading: vendor users are refused.
"""

from __future__ import annotations

from datetime import date

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone

from contracts import month_spans, periods
from reviews.reports import monthly_report
from slagov.pdf import PdfUnavailable, html_to_pdf


def _month_or_404(text: str, today: date) -> date:
    """A month whose report exists: it has ended (the URL says which: `2026-11`)."""
    try:
        month = periods.parse_month(text)
    except ValueError:
        raise Http404("No such month.") from None
    if month > month_spans.last_closed_month(today):
        raise Http404("A month's report exists once the month has ended.")
    return month


def _context(request: HttpRequest, month: date, today: date) -> dict:
    context = monthly_report(organization=request.tenant.organization, month=month, today=today)
    previous = periods.add_periods(month, "monthly", -1)
    following = periods.add_periods(month, "monthly", 1)
    latest = month_spans.last_closed_month(today)
    return {
        **context,
        "month_param": f"{month:%Y-%m}",
        "previous": previous,
        "previous_param": f"{previous:%Y-%m}",
        "next": following if following <= latest else None,
        "next_param": f"{following:%Y-%m}",
    }


def monthly_report_latest(request: HttpRequest, org_slug: str) -> HttpResponse:
    request.tenant.require_customer_side()
    today = timezone.localdate()
    context = _context(request, month_spans.last_closed_month(today), today)
    return render(request, "reviews/reports/monthly.html", context)


def monthly_report_month(request: HttpRequest, org_slug: str, month: str) -> HttpResponse:
    request.tenant.require_customer_side()
    today = timezone.localdate()
    context = _context(request, _month_or_404(month, today), today)
    return render(request, "reviews/reports/monthly.html", context)


def monthly_report_pdf(request: HttpRequest, org_slug: str, month: str) -> HttpResponse:
    request.tenant.require_customer_side()
    today = timezone.localdate()
    context = {**_context(request, _month_or_404(month, today), today), "pdf": True}
    html = render_to_string("reviews/reports/monthly_print.html", context, request=request)
    try:
        pdf = html_to_pdf(html, what="The monthly report")
    except PdfUnavailable as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"monthly-report-{request.tenant.slug}-{context['month_param']}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
