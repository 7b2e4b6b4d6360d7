"""The SLA page (status history, chart, terms) and manual reading entry."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from contracts import bounds, selectors
from contracts.periods import period_label
from metrics import services
from metrics.forms import ReadingForm
from metrics.models import Reading


def reading_create(request: HttpRequest, org_slug: str, sla_id: int) -> HttpResponse:
    sla = selectors.service_level_get(request.tenant, sla_id)
    tenant = request.tenant
    tenant.require_manage()
    form = ReadingForm(request.POST or None, service_level=sla)
    if request.method == "POST" and form.is_valid():
        try:
            reading, changed = services.reading_record(
                organization=tenant.organization,
                actor=request.user,
                service_level=sla,
                period_start=form.cleaned_data["period"],
                value=form.cleaned_data["value"],
                note=form.cleaned_data["note"],
                source=Reading.Source.MANUAL,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            label = period_label(reading.period_start, sla.period)
            if changed:
                messages.success(
                    request, f"{sla.code} {label}: {bounds.plain(reading.value)} saved."
                )
            else:
                messages.info(
                    request, f"{sla.code} {label} already had this value: nothing changed."
                )
            return redirect("metrics:sla", org_slug=tenant.slug, sla_id=sla.pk)
    return render(
        request, "metrics/reading_form.html", {"sla": sla, "contract": sla.contract, "form": form}
    )
