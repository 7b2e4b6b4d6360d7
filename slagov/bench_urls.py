"""
The site as `manage.py bench_pages` serves it: every URL of slagov, plus a bare
page to measure the others against (one query, a 50-row template, through the
same middleware as every page). Only the bench's own gunicorn loads this
URLconf (slagov.bench_wsgi); production routes by slagov.urls, which doesn't
include it.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

from contracts.models import Contract

BASELINE_ROWS = 50
_BASELINE = engines["django"].from_string(
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Contracts</title>"
    "</head><body><table><thead><tr><th>Contract</th><th>Title</th><th>Vendor</th>"
    "<th>Annual value</th><th>Ends</th></tr></thead><tbody>"
    "{% for c in contracts %}<tr><td><a href='/o/{{ org_slug }}/contracts/{{ c.pk }}/'>"
    "{{ c.reference }}</a></td><td>{{ c.title }}</td><td>{{ c.vendor.name }}</td>"
    "<td>{{ c.annual_value }}</td><td>{{ c.end_date }}</td></tr>{% endfor %}"
    "</tbody></table></body></html>"
)


def baseline(request: HttpRequest, org_slug: str) -> HttpResponse:
    """One query, fifty rows: what a page costs on this site before it does anything."""
    contracts = list(Contract.objects.select_related("vendor").order_by("pk")[:BASELINE_ROWS])
    return HttpResponse(_BASELINE.render({"contracts": contracts, "org_slug": org_slug}))


urlpatterns = [
    path("o/<slug:org_slug>/bench-baseline/", baseline, name="bench_baseline"),
    path("", include("slagov.urls")),
]
