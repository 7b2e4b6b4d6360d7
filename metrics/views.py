"""The SLA page (status history, chart, terms) and manual reading entry."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from contracts import bounds, periods, selectors
from contracts.forms import ReadingForm
from contracts.periods import period_label
from escalations import selectors as escalation_selectors
from metrics import charts, services, trends
from metrics.headroom import headroom_of, headroom_words
from metrics.models import PeriodStatus, Reading, ReadingRevision
from slagov import formatting

HISTORY_PAGE = 24  # periods of status history a page: two years of a monthly SLA


def sla_detail(request: HttpRequest, org_slug: str, sla_id: int) -> HttpResponse:
    sla = selectors.service_level_get(request.tenant, sla_id)
    statuses = list(
        PeriodStatus.objects.filter(service_level=sla)
        .select_related("reading")
        .order_by("period_start")
    )
    timeline = selectors.terms_timeline(sla)
    valued = [s for s in statuses if s.value is not None]
    health = getattr(sla, "health", None)
    flags = dict(
        zip(
            valued,
            trends.anomalies(
                [float(s.value) for s in valued],
                higher_is_better=sla.direction == "higher",
                band=float(health.target - health.minimum)
                if health is not None and health.target is not None
                else None,
            ),
            strict=True,
        )
    )
    # The status history, newest first, a page at a time; the chart draws all of it.
    history = Paginator(statuses[::-1], HISTORY_PAGE).get_page(request.GET.get("page"))
    revisions: dict[int, list[ReadingRevision]] = {}
    for revision in ReadingRevision.objects.filter(
        reading__service_level=sla, reading_id__in=[s.reading_id for s in history if s.reading_id]
    ).select_related("submitted_by", "superseded_by"):
        revisions.setdefault(revision.reading_id, []).append(revision)
    history_rows = [
        {
            "status": status,
            "label": formatting.period(status.period_start, sla.period),
            "revisions": revisions.get(status.reading_id, []),
            "unusual": flags.get(status),
        }
        for status in history
    ]
    room = headroom_of(health)
    # Forecasts and trends are rounded like the data they come from.
    places = formatting.places_of([s.value for s in valued[-12:]], sla.unit)
    credit_years: dict[int, Decimal] = {}
    for status in statuses:
        if status.credit_amount:
            year = sla.contract.contract_year(status.period_start)
            credit_years[year] = credit_years.get(year, Decimal(0)) + status.credit_amount
    context = {
        "sla": sla,
        "contract": sla.contract,
        "health": health,
        "outlook": trends.outlook(health, sla.period, sla.display_unit),
        "risk_words": trends.risk_words(health.risk, sla.period)
        if health and health.enough_data and health.colour != "red"
        else "",
        "headroom": room,
        "headroom_words": headroom_words(room, sla.display_unit) if room else None,
        "forecast_rows": _forecast_rows(sla, health, places),
        "trend_text": formatting.rate(
            health.slope, sla.display_unit, places + 1, periods.unit_name(sla.period)
        )
        if health is not None and health.slope is not None
        else "",
        "history": history_rows,
        "history_page": history,
        "timeline": timeline,
        "credit_years": sorted(credit_years.items()),
        "terms": selectors.terms_in_force(timeline, timezone.localdate()),
        "escalations": escalation_selectors.open_escalations(service_level=sla),
        "warning": escalation_selectors.open_forecast(service_level=sla),
        "figure": charts.trend_figure(
            sla,
            statuses,
            forecast=health.forecast if health else (),
            anomalies=[flags.get(s) for s in statuses],
            compact=False,
        ),
        "chart_marks": {
            "forecast": bool(health and health.forecast),
            "worse": "worse" in flags.values(),
            "better": "better" in flags.values(),
        },
        "values": charts.figure_table(
            sla,
            statuses,
            forecast=health.forecast if health else (),
            anomalies=[flags.get(s) for s in statuses],
        ),
    }
    if request.htmx:
        return render(request, "metrics/sla_detail.html#history", context)
    return render(request, "metrics/sla_detail.html", context)


def _forecast_rows(sla, health, places: int) -> list[dict]:
    """The forecast for the next periods, rounded like the data (`places`), with units."""
    if health is None or not health.enough_data:
        return []
    return [
        {
            "start": date.fromisoformat(point["period"]),
            "value": formatting.with_unit(point["value"], sla.display_unit, places),
            "low": formatting.with_unit(point["low"], sla.display_unit, places),
            "high": formatting.with_unit(point["high"], sla.display_unit, places),
        }
        for point in health.forecast
    ]


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
