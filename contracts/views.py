"""Portfolio, contract and vendor pages. Every view runs inside the tenant's scope."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from contracts import periods, selectors, services
from contracts.filters import PortfolioFilter
from contracts.forms import ContractForm, VendorContactForm, VendorForm
from contracts.models import Contract, VendorContact
from contracts.rules import SEVERITY, Colour
from escalations import selectors as escalation_selectors
from escalations.models import EscalationPolicy
from metrics import charts
from metrics import selectors as metrics_selectors
from metrics.models import PeriodStatus
from reviews import actions, vendor_warnings

CHART_MONTHS = 18


def render_page(request: HttpRequest, template: str, context: dict, partial: str | None = None):
    """The whole page, or only its named partial for an htmx request."""
    if partial and request.htmx and not request.htmx.boosted:
        template = f"{template}#{partial}"
    return render(request, template, context)


def portfolio(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant
    filterset = PortfolioFilter(
        request.GET or None, queryset=selectors.portfolio_contracts(), request=request
    )
    contracts = list(filterset.qs)
    counts = dict.fromkeys(Colour, 0)
    for contract in contracts:
        contract.colour = selectors.worst_colour(contract.worst_rank)
        contract.rollup = metrics_selectors.rollup(contract.active_slas)
        for colour, n in contract.rollup.counts.items():
            counts[colour] += n
    context = {
        "filter": filterset,
        "contracts": contracts,
        "colour_counts": [(Colour(c), n) for c, n in counts.items()],
        "watch": [] if request.htmx else list(metrics_selectors.watch_list()),
        # Of the contracts shown: a filter narrows them too.
        "vendor_warnings": []
        if request.htmx
        else vendor_warnings.open_warnings(contract_ids=[c.pk for c in contracts], limit=10),
        "overdue_actions": []
        if request.htmx
        else actions.overdue_action_items(contract_ids=[c.pk for c in contracts], limit=10),
        "tenant": tenant,
    }
    return render_page(request, "contracts/portfolio.html", context, partial="table")


def contract_detail(request: HttpRequest, org_slug: str, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get(request.tenant, contract_id)
    slas = selectors.contract_slas(contract)
    since = timezone.localdate().replace(day=1) - timedelta(days=31 * CHART_MONTHS)
    statuses: dict[int, list[PeriodStatus]] = {sla.pk: [] for sla in slas}
    for status in PeriodStatus.objects.filter(
        service_level__contract=contract, period_start__gte=since
    ).order_by("period_start"):
        statuses[status.service_level_id].append(status)
    today = timezone.localdate()
    months = _heatmap_months(today)
    rows = []
    for sla in slas:
        health = getattr(sla, "health", None)
        rows.append(
            {
                "sla": sla,
                "health": health,
                "terms": selectors.terms_in_force(sla.all_terms, today),
                "figure": charts.trend_figure(
                    sla, statuses[sla.pk], forecast=health.forecast if health else ()
                ),
                "figure_id": f"figure-{sla.pk}",
                "values": charts.figure_table(
                    sla, statuses[sla.pk], forecast=health.forecast if health else ()
                ),
                "heat": _heat(statuses[sla.pk], months),
            }
        )
    credit_months, credit_years = metrics_selectors.contract_credits(contract)
    context = {
        "contract": contract,
        "rows": rows,
        "rollup": metrics_selectors.rollup(s for s in slas if s.is_active),
        "months": months,
        "trend_marks": {"forecast": any(row["health"] and row["health"].forecast for row in rows)},
        "credit_months": credit_months[-12:],
        "credit_years": credit_years,
        "recommendation": contract.recommendation(),
        "contacts": list(contract.vendor_contacts.all()),
        "escalations": escalation_selectors.open_escalations(contract=contract),
        "own_policy": (
            not request.tenant.is_vendor
            and EscalationPolicy.objects.filter(contract=contract).exists()
        ),
    }
    return render(request, "contracts/contract_detail.html", context)


def _heatmap_months(today) -> list:
    last = periods.last_closed_period(today, periods.Period.MONTHLY)
    return [
        periods.add_periods(last, periods.Period.MONTHLY, -i)
        for i in range(CHART_MONTHS - 1, -1, -1)
    ]


def _heat(statuses: list[PeriodStatus], months: list) -> list[str]:
    """One colour per month: a weekly SLA's month shows its worst week."""
    worst: dict = {}
    for status in statuses:
        month = status.period_start.replace(day=1)
        current = worst.get(month)
        if current is None or SEVERITY[status.colour] > SEVERITY[current]:
            worst[month] = status.colour
    return [worst.get(month, "") for month in months]


def contract_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant
    tenant.require_manage()
    instance = Contract(organization=tenant.organization, owner=request.user)
    return _contract_form(request, instance, creating=True)


def contract_edit(request: HttpRequest, org_slug: str, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get(request.tenant, contract_id)
    request.tenant.require_manage()
    return _contract_form(request, contract, creating=False)


def _contract_form(request: HttpRequest, contract: Contract, *, creating: bool) -> HttpResponse:
    tenant = request.tenant
    initial = {"vendor": request.GET.get("vendor")} if creating else None
    form = ContractForm(request.POST or None, instance=contract, tenant=tenant, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "vendor_contacts"}
        try:
            saved = services.contract_save(
                organization=tenant.organization,
                actor=request.user,
                data=data,
                contacts=form.cleaned_data["vendor_contacts"],
                contract=None if creating else contract,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Contract {saved.reference} saved.")
            return redirect("contracts:contract", org_slug=tenant.slug, contract_id=saved.pk)
    return render(
        request,
        "contracts/contract_form.html",
        {"form": form, "contract": contract, "creating": creating},
    )


def vendor_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    vendors = metrics_selectors.vendors_with_counts()
    return render(request, "contracts/vendor_list.html", {"vendors": vendors})


def vendor_detail(request: HttpRequest, org_slug: str, vendor_id: int) -> HttpResponse:
    vendor = selectors.vendor_get(request.tenant, vendor_id)
    context = {
        "vendor": vendor,
        "contacts": list(vendor.contacts.all()),
        "contracts": list(vendor.contracts.select_related("owner").order_by("reference")),
    }
    return render(request, "contracts/vendor_detail.html", context)


def vendor_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    request.tenant.require_manage()
    return _vendor_form(request, None)


def vendor_edit(request: HttpRequest, org_slug: str, vendor_id: int) -> HttpResponse:
    vendor = selectors.vendor_get(request.tenant, vendor_id)
    request.tenant.require_manage()
    return _vendor_form(request, vendor)


def _vendor_form(request: HttpRequest, vendor) -> HttpResponse:
    tenant = request.tenant
    form = VendorForm(request.POST or None, instance=vendor, tenant=tenant)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.vendor_save(
                organization=tenant.organization,
                actor=request.user,
                data=form.cleaned_data,
                vendor=vendor,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Vendor {saved.name} saved.")
            return redirect("contracts:vendor", org_slug=tenant.slug, vendor_id=saved.pk)
    return render(request, "contracts/vendor_form.html", {"form": form, "vendor": vendor})


def contact_create(request: HttpRequest, org_slug: str, vendor_id: int) -> HttpResponse:
    vendor = selectors.vendor_get(request.tenant, vendor_id)
    request.tenant.require_manage()
    tenant = request.tenant
    form = VendorContactForm(
        request.POST or None,
        instance=VendorContact(organization=tenant.organization, vendor=vendor),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.vendor_contact_save(
                organization=tenant.organization,
                actor=request.user,
                vendor=vendor,
                data=form.cleaned_data,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Contact added.")
            return redirect("contracts:vendor", org_slug=tenant.slug, vendor_id=vendor.pk)
    return render(request, "contracts/contact_form.html", {"form": form, "vendor": vendor})
