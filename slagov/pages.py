"""
The pages that bring the apps together: the portfolio, a contract, the
vendors, an SLA. They show what contracts hold beside what metrics computed,
what escalations are open and what the joint reviews produced, so they sit
above those apps (the apps themselves depend only downwards: rules ←
contracts ← metrics ← escalations and reviews). Their URLs keep the names of
the app whose object they show (`contracts:portfolio`, `metrics:sla`).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.core.paginator import Paginator
from django.db.models import Count, Max, OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import path
from django.utils import timezone

from contracts import exports as contract_exports
from contracts import month_spans, periods, selectors
from contracts.filters import PortfolioFilter
from contracts.rules import SEVERITY, Colour
from escalations import selectors as escalation_selectors
from escalations.models import EscalationPolicy
from metrics import charts, trends
from metrics import ledger as metrics_ledger
from metrics import selectors as metrics_selectors
from metrics.headroom import headroom_of, headroom_words
from metrics.models import PeriodStatus, ReadingRevision
from reviews import actions, health_cache, vendor_warnings
from reviews.health_data import health_histories
from slagov import exports, formatting, fragments
from slagov.web import IdUrl, render_page

CHART_MONTHS = 18


PORTFOLIO_PAGE = 50  # contracts a page; the counts above the table cover every page
LIST_ROWS = 10  # rows a side list shows; the rest are counted, and in the export


def portfolio(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant
    filterset = PortfolioFilter(
        request.GET or None,
        queryset=selectors.portfolio_contracts(forecasts=False),
        request=request,
    )
    if fmt := exports.requested_format(request):
        return exports.refused_filter(filterset) or contract_exports.PORTFOLIO.response(
            fmt, filterset.qs
        )
    selected = filterset.qs
    page = Paginator(selected, PORTFOLIO_PAGE).get_page(request.GET.get("page"))
    contracts = list(page)
    # Every contract the filters select, on any page.
    selected_ids = [] if request.htmx else list(selected.values_list("pk", flat=True))
    # The same selection as a subquery for the lists below: thousands of ids bound as
    # parameters cost more than the database's own lookup.
    selected_pks = selected.values("pk")
    # The table's rows' health and, on the full page, the "sliding back" list of every
    # selected contract (picked from the organisation's, cached, by the scoped selection).
    page_ids = [contract.pk for contract in contracts]
    governance = health_cache.health_table(
        organization_id=tenant.organization.pk,
        contract_ids=page_ids if request.htmx else selected_ids,
    )
    rows_health = governance.of(page_ids)
    for contract in contracts:
        contract.governance = rows_health.get(contract.pk)
        contract.colour = selectors.worst_colour(contract.worst_rank)
        contract.rollup = metrics_selectors.rollup(contract.active_slas)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": filterset,
        "contracts": contracts,
        "page": page,
        "page_query": query.urlencode(),
        "contract_url": IdUrl("contracts:contract", "contract_id", org_slug=org_slug),
        "sla_url": IdUrl("metrics:sla", "sla_id", org_slug=org_slug),
        "colour_counts": [
            (Colour(c), n) for c, n in metrics_selectors.colour_counts(selected).items()
        ],
        "watch": [] if request.htmx else list(metrics_selectors.watch_list()),
        # Of the contracts the filters select: a filter narrows them too.
        "vendor_warnings": []
        if request.htmx
        else vendor_warnings.open_warnings(contract_ids=selected_pks, limit=10),
        "overdue_actions": []
        if request.htmx
        else actions.overdue_action_items(contract_ids=selected_pks, limit=10),
        **({} if request.htmx else _shown(governance.sliding_back(selected_ids), "sliding")),
        "tenant": tenant,
    }
    return render_page(request, "contracts/portfolio.html", context, partial="table")


def _shown(rows: list, name: str) -> dict:
    """The first `LIST_ROWS` rows of a side list under `name`, and how many more there are."""
    return {name: rows[:LIST_ROWS], f"{name}_more": max(len(rows) - LIST_ROWS, 0)}


def contract_detail(request: HttpRequest, org_slug: str, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get(request.tenant, contract_id)
    today = timezone.localdate()
    since = today.replace(day=1) - timedelta(days=31 * CHART_MONTHS)
    # Per SLA, how many statuses the charts draw and when the last of them was written
    # (the engine stamps `computed_at` on every status it inserts or changes).
    recent = (
        PeriodStatus.objects.filter(service_level=OuterRef("pk"), period_start__gte=since)
        .order_by()
        .values("service_level")
    )
    slas = selectors.contract_slas(
        contract,
        annotations={
            "charted_count": Subquery(recent.annotate(n=Count("pk")).values("n")),
            "charted_at": Subquery(recent.annotate(at=Max("computed_at")).values("at")),
        },
    )
    months = _heatmap_months(today)
    rows = [
        {
            "sla": sla,
            "health": getattr(sla, "health", None),
            "terms": selectors.terms_in_force(sla.all_terms, today),
        }
        for sla in slas
    ]
    key = fragments.fragment_key(
        "contract-charts",
        organization_id=request.tenant.organization.pk,
        vendor_id=request.tenant.vendor_id,
        parts=(
            contract.pk,
            since,
            months,
            [
                (
                    fragments.row_fingerprint(row["sla"]),
                    fragments.row_fingerprint(row["health"]),
                    row["sla"].charted_count,
                    row["sla"].charted_at,
                )
                for row in rows
            ],
        ),
    )
    charted = fragments.cached_fragments(
        key, lambda: _contract_charts(request, contract, rows, since, months)
    )
    credit_months, credit_years = metrics_selectors.contract_credits(contract)
    context = {
        "contract": contract,
        "rows": rows,
        "charted": charted,
        "rollup": metrics_selectors.rollup(s for s in slas if s.is_active),
        "months": months,
        "trend_marks": {"forecast": any(row["health"] and row["health"].forecast for row in rows)},
        "credit_months": metrics_ledger.headroom_by_month(contract, credit_months[-12:]),
        "credit_years": credit_years,
        "recommendation": contract.recommendation(),
        "governance": health_histories([contract])[contract.pk],
        "contacts": list(contract.vendor_contacts.all()),
        "escalations": escalation_selectors.open_escalations(contract=contract),
        "own_policy": (
            not request.tenant.is_vendor
            and EscalationPolicy.objects.filter(contract=contract).exists()
        ),
        "quarter": month_spans.last_closed_quarter(today),
    }
    return render(request, "contracts/contract_detail.html", context)


def _contract_charts(request, contract, rows: list[dict], since, months: list) -> dict[str, str]:
    """
    The heatmap rows and the trend cards of a contract's SLAs, rendered (the page
    keeps them in the cache, `fragments`). Each row of `rows` gains its figure,
    values and heat: the reference the cached HTML is tested against.
    """
    statuses: dict[int, list[PeriodStatus]] = {row["sla"].pk: [] for row in rows}
    for status in PeriodStatus.objects.filter(
        service_level__contract=contract, period_start__gte=since
    ).order_by("period_start"):
        statuses[status.service_level_id].append(status)
    for row in rows:
        sla, health = row["sla"], row["health"]
        forecast = health.forecast if health else ()
        row["figure"] = charts.trend_figure(sla, statuses[sla.pk], forecast=forecast)
        row["figure_id"] = f"figure-{sla.pk}"
        row["values"] = charts.figure_table(sla, statuses[sla.pk], forecast=forecast)
        row["heat"] = _heat(statuses[sla.pk], months)
    template = "contracts/contract_detail.html"
    context = {"rows": rows}
    return {
        part: render_to_string(f"{template}#{part}", context, request)
        for part in ("heat_rows", "trend_cards")
    }


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


def vendor_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    vendors = selectors.vendors_with_counts()
    if fmt := exports.requested_format(request):
        return contract_exports.VENDORS.response(fmt, vendors)
    return render(request, "contracts/vendor_list.html", {"vendors": vendors})


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
        "export_query": f"service_level={sla.pk}",  # the SLA's rows of the contract's exports
        "timeline": timeline,
        "credit_years": sorted(credit_years.items()),
        "terms": selectors.terms_in_force(timeline, timezone.localdate()),
        "escalations": escalation_selectors.open_escalations(service_level=sla),
        "warning": escalation_selectors.open_forecast(service_level=sla),
        "chart_marks": {
            "forecast": bool(health and health.forecast),
            "worse": "worse" in flags.values(),
            "better": "better" in flags.values(),
        },
    }
    if not request.htmx:  # the history alone needs no chart
        key = fragments.fragment_key(
            "sla-chart",
            organization_id=request.tenant.organization.pk,
            vendor_id=request.tenant.vendor_id,
            parts=(
                fragments.row_fingerprint(sla),
                fragments.row_fingerprint(health),
                # The engine stamps `computed_at` on every status it inserts or changes.
                len(statuses),
                max((s.computed_at for s in statuses), default=None),
            ),
        )
        context["charted"] = fragments.cached_fragments(
            key, lambda: _sla_chart(request, context, statuses, [flags.get(s) for s in statuses])
        )
    if request.htmx:
        return render(request, "metrics/sla_detail.html#history", context)
    return render(request, "metrics/sla_detail.html", context)


def _sla_chart(request, context: dict, statuses: list, anomalies: list) -> dict[str, str]:
    """The SLA's chart and the values it draws, rendered (the page keeps them in the cache)."""
    sla, health = context["sla"], context["health"]
    forecast = health.forecast if health else ()
    context["figure"] = charts.trend_figure(
        sla, statuses, forecast=forecast, anomalies=anomalies, compact=False
    )
    context["values"] = charts.figure_table(sla, statuses, forecast=forecast, anomalies=anomalies)
    return {
        part: render_to_string(f"metrics/sla_detail.html#{part}", context, request)
        for part in ("chart", "values")
    }


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


# Wired into the apps' namespaces by slagov.urls.
CONTRACT_PAGES = [
    path("", portfolio, name="portfolio"),
    path("contracts/<int:contract_id>/", contract_detail, name="contract"),
    path("vendors/", vendor_list, name="vendors"),
]
METRICS_PAGES = [path("slas/<int:sla_id>/", sla_detail, name="sla")]
