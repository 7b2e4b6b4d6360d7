"""Creating and editing SLAs/KPIs, and renegotiating their terms."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from contracts import bounds, selectors, services
from contracts.forms import (
    CreditTierFormSet,
    ServiceLevelForm,
    TermsForm,
    initial_tiers,
    tiers_from,
)
from contracts.models import ServiceLevel
from slagov.web import errors_to_forms


def _terms_kwargs(terms_form: TermsForm, tier_formset) -> dict:
    data = terms_form.cleaned_data
    return {
        "effective_from": data["effective_from"],
        "target": data["target"],
        "minimum": data["minimum"],
        "improvement": data["improvement"],
        "improvement_rate": data.get("improvement_rate"),
        "improvement_bound": data.get("improvement_bound"),
        "note": data.get("note", ""),
        "tiers": tiers_from(tier_formset),
    }


def sla_create(request: HttpRequest, org_slug: str, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get(request.tenant, contract_id)
    tenant = request.tenant
    tenant.require_manage()
    instance = ServiceLevel(organization=tenant.organization, contract=contract)
    post = request.POST or None
    form = ServiceLevelForm(post, instance=instance, contract=contract)
    terms_form = TermsForm(
        post,
        direction=request.POST.get("direction"),
        unit=request.POST.get("unit"),
        contract=contract,
        initial={"effective_from": contract.start_date},
    )
    tiers = CreditTierFormSet(post, prefix="tiers")
    if request.method == "POST" and all([form.is_valid(), terms_form.is_valid(), tiers.is_valid()]):
        try:
            with transaction.atomic():
                sla = services.service_level_save(
                    organization=tenant.organization,
                    actor=request.user,
                    contract=contract,
                    data=form.cleaned_data,
                )
                services.terms_agree(
                    organization=tenant.organization,
                    actor=request.user,
                    service_level=sla,
                    **_terms_kwargs(terms_form, tiers),
                )
        except ValidationError as exc:
            errors_to_forms(exc, form, terms_form)
        else:
            messages.success(request, f"{sla.code} added to {contract.reference}.")
            return redirect("metrics:sla", org_slug=tenant.slug, sla_id=sla.pk)
    context = {
        "contract": contract,
        "form": form,
        "terms_form": terms_form,
        "tiers": tiers,
        "creating": True,
    }
    return render(request, "contracts/sla_form.html", context)


def sla_edit(request: HttpRequest, org_slug: str, sla_id: int) -> HttpResponse:
    sla = selectors.service_level_get(request.tenant, sla_id)
    tenant = request.tenant
    tenant.require_manage()
    form = ServiceLevelForm(request.POST or None, instance=sla, contract=sla.contract)
    if request.method == "POST" and form.is_valid():
        try:
            services.service_level_save(
                organization=tenant.organization,
                actor=request.user,
                contract=sla.contract,
                data=form.cleaned_data,
                service_level=sla,
            )
        except ValidationError as exc:
            errors_to_forms(exc, form)
        else:
            messages.success(request, f"{sla.code} saved.")
            return redirect("metrics:sla", org_slug=tenant.slug, sla_id=sla.pk)
    context = {"contract": sla.contract, "sla": sla, "form": form, "creating": False}
    return render(request, "contracts/sla_form.html", context)


def terms_create(request: HttpRequest, org_slug: str, sla_id: int) -> HttpResponse:
    """Renegotiate: new thresholds from an effective date; older periods keep theirs."""
    sla = selectors.service_level_get(request.tenant, sla_id)
    tenant = request.tenant
    tenant.require_manage()
    timeline = selectors.terms_timeline(sla)
    current = timeline[-1] if timeline else None
    initial = {"effective_from": timezone.localdate().replace(day=1)}
    if current:
        initial.update(
            target=bounds.plain(current.target),
            minimum=bounds.plain(current.minimum),
            improvement=current.improvement,
            improvement_rate=bounds.plain(current.improvement_rate) or None,
            improvement_bound=(
                None
                if current.improvement_bound is None
                else bounds.plain(current.improvement_bound)
            ),
        )
    post = request.POST or None
    form = TermsForm(post, service_level=sla, initial=initial)
    tiers = CreditTierFormSet(post, prefix="tiers", initial=initial_tiers(current))
    if request.method == "POST" and form.is_valid() and tiers.is_valid():
        try:
            services.terms_agree(
                organization=tenant.organization,
                actor=request.user,
                service_level=sla,
                **_terms_kwargs(form, tiers),
            )
        except ValidationError as exc:
            errors_to_forms(exc, form)
        else:
            messages.success(
                request,
                f"New terms for {sla.code} in force from {form.cleaned_data['effective_from']}.",
            )
            return redirect("metrics:sla", org_slug=tenant.slug, sla_id=sla.pk)
    context = {
        "sla": sla,
        "contract": sla.contract,
        "form": form,
        "tiers": tiers,
        "timeline": timeline,
    }
    return render(request, "contracts/terms_form.html", context)
