"""Contract and vendor forms. Every view runs inside the tenant's scope."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from contracts import selectors, services
from contracts.forms import ContractForm, VendorContactForm, VendorForm
from contracts.models import Contract, VendorContact


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
