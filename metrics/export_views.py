"""
Downloads of a contract's and a vendor's period statuses and readings, and a
contract's service credits per month (`?format=csv|xlsx`, CSV when no format
is named; another format is a 400 that names it): the same files as
the API's `/statuses/`, `/readings/` and `/credits/` with `contract` or
`vendor` set. The status and reading filters of the API apply (`sla`,
`service_level`, `colour`, `period_from`, `period_to`), so the SLA page's
history exports through the contract's.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from contracts import selectors as contract_selectors
from metrics import exports, selectors
from metrics.filters import ReadingFilter, StatusFilter
from slagov import exports as table_exports


def _format(request: HttpRequest) -> str | HttpResponse:
    if not request.GET.get("format"):
        return "csv"
    fmt = table_exports.requested_format(request)
    if fmt is None:
        return table_exports.refused({"format": [" or ".join(table_exports.FORMATS) + "."]})
    return fmt


def _filtered(request, export, filterset_class, queryset, *, name: str) -> HttpResponse:
    fmt = _format(request)
    if isinstance(fmt, HttpResponse):
        return fmt
    filterset = filterset_class(request.GET, queryset=queryset, request=request)
    if refused := table_exports.refused_filter(filterset):
        return refused
    return export.response(fmt, filterset.qs, name=name)


def contract_statuses(request: HttpRequest, org_slug: str, contract_id: int) -> HttpResponse:
    contract = contract_selectors.contract_get(request.tenant, contract_id)
    rows = selectors.period_statuses().filter(service_level__contract=contract)
    return _filtered(
        request, exports.STATUSES, StatusFilter, rows, name=f"statuses-{contract.reference}"
    )


def contract_readings(request: HttpRequest, org_slug: str, contract_id: int) -> HttpResponse:
    contract = contract_selectors.contract_get(request.tenant, contract_id)
    rows = selectors.readings().filter(service_level__contract=contract)
    return _filtered(
        request, exports.READINGS, ReadingFilter, rows, name=f"readings-{contract.reference}"
    )


def contract_credits(request: HttpRequest, org_slug: str, contract_id: int) -> HttpResponse:
    contract = contract_selectors.contract_get(request.tenant, contract_id)
    fmt = _format(request)
    if isinstance(fmt, HttpResponse):
        return fmt
    return exports.CREDITS.response(fmt, [contract], name=f"credits-{contract.reference}")


def vendor_statuses(request: HttpRequest, org_slug: str, vendor_id: int) -> HttpResponse:
    vendor = contract_selectors.vendor_get(request.tenant, vendor_id)
    rows = selectors.period_statuses().filter(service_level__contract__vendor=vendor)
    return _filtered(request, exports.STATUSES, StatusFilter, rows, name=_name("statuses", vendor))


def vendor_readings(request: HttpRequest, org_slug: str, vendor_id: int) -> HttpResponse:
    vendor = contract_selectors.vendor_get(request.tenant, vendor_id)
    rows = selectors.readings().filter(service_level__contract__vendor=vendor)
    return _filtered(request, exports.READINGS, ReadingFilter, rows, name=_name("readings", vendor))


def _name(what: str, vendor) -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in vendor.name.lower()).strip("-")
    return f"{what}-{slug or vendor.pk}"


urlpatterns = [
    path("contracts/<int:contract_id>/statuses/", contract_statuses, name="contract_statuses"),
    path("contracts/<int:contract_id>/readings/", contract_readings, name="contract_readings"),
    path("contracts/<int:contract_id>/credits/", contract_credits, name="contract_credits"),
    path("vendors/<int:vendor_id>/statuses/", vendor_statuses, name="vendor_statuses"),
    path("vendors/<int:vendor_id>/readings/", vendor_readings, name="vendor_readings"),
]
