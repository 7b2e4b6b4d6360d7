"""Portfolio, contract and vendor pages: what a user sees and how many queries it costs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django_scopes import scopes_disabled

from contracts.models import Contract, ServiceLevel, ServiceLevelTerms, Vendor
from contracts.periods import add_periods
from metrics import charts, engine
from tests import factories
from tests.conftest import World, make_side


def _recompute(org, *slas, today=date(2026, 3, 15)):
    engine.recompute_service_levels(
        organization_id=org.pk, service_level_ids=[s.pk for s in slas], today=today
    )


def _portfolio(org):
    return reverse("contracts:portfolio", args=[org.slug])


def test_portfolio_lists_contracts_with_coloured_sla_cells(client, world: World):
    _recompute(world.org, world.mine.sla, world.theirs.sla)
    client.force_login(world.bob)
    response = client.get(_portfolio(world.org))
    html = response.content.decode()
    assert response.status_code == 200
    assert world.mine.contract.reference in html
    assert world.theirs.contract.reference in html
    assert world.foreign.contract.reference not in html
    assert 'class="pill pill-green"' in html


def test_vendor_user_sees_only_their_vendors_contracts(client, world: World):
    client.force_login(world.vic)
    html = client.get(_portfolio(world.org)).content.decode()
    assert world.mine.contract.reference in html
    assert world.theirs.contract.reference not in html
    assert "New contract" not in html


def test_filter_by_vendor_returns_only_that_vendor_as_htmx_partial(client, world: World):
    client.force_login(world.bob)
    response = client.get(
        _portfolio(world.org), {"vendor": world.theirs.vendor.pk}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert world.theirs.contract.reference in html
    assert world.mine.contract.reference not in html
    assert "<html" not in html  # only the table partial
    assert 'id="portfolio"' in html


def test_filter_by_vendor_of_other_org_is_rejected_not_leaked(client, world: World):
    client.force_login(world.bob)
    html = client.get(_portfolio(world.org), {"vendor": world.foreign.vendor.pk}).content.decode()
    assert "Select a valid choice" in html
    assert world.foreign.contract.reference not in html


def test_filter_by_worst_status(client, world: World):
    factories.ReadingFactory(
        service_level=world.theirs.sla,
        organization=world.org,
        period_start=date(2026, 2, 1),
        value=Decimal("99.1"),
    )
    _recompute(world.org, world.mine.sla, world.theirs.sla)
    client.force_login(world.bob)
    red = client.get(_portfolio(world.org), {"status": "red"}).content.decode()
    assert world.theirs.contract.reference in red
    assert world.mine.contract.reference not in red


def _fill_portfolio(org, contracts: int, slas: int):
    vendor = factories.VendorFactory(organization=org)
    created = []
    for _ in range(contracts):
        contract = factories.ContractFactory(vendor=vendor, organization=org)
        for _ in range(slas):
            sla = factories.ServiceLevelFactory(contract=contract, organization=org)
            factories.TermsFactory(service_level=sla, organization=org)
            factories.ReadingFactory(service_level=sla, organization=org)
            created.append(sla)
    _recompute(org, *created)


@pytest.mark.parametrize("contracts", [1, 8])
def test_portfolio_query_count_does_not_grow_with_contracts(
    client, world: World, contracts, django_assert_num_queries
):
    _fill_portfolio(world.org, contracts, 3)
    client.force_login(world.bob)
    # 1 session, 2 user, 3 membership (tenant), 4 vendor choices, 5 owner choices,
    # 6 contracts the filters select (counted), 7 the page of them with worst colour,
    # 8 their SLAs with health, 9 the ids of every selected contract, then their
    # governance health (the table's scores and the "sliding back" list):
    # - worked out (SQLite, or PostgreSQL once after a write): 10 the organisation's
    #   change stamp (PostgreSQL only), the contracts with their owners, then reviews,
    #   action items, escalations, vendor warnings, SLAs, relevance checks, readings (the
    #   owners' memberships: none here, no contract has one);
    # then their SLAs counted by colour, the watch list, open vendor warnings, overdue
    # action items, switcher memberships.
    postgresql = connection.vendor == "postgresql"
    with django_assert_num_queries(23 if postgresql else 22):
        response = client.get(_portfolio(world.org))
    assert response.status_code == 200
    if postgresql:
        # - from the cache while nothing it reads has changed: 10 the stamp alone.
        with django_assert_num_queries(15):
            assert client.get(_portfolio(world.org)).status_code == 200


@pytest.mark.parametrize("slas", [1, 6])
def test_contract_page_query_count_does_not_grow_with_slas_or_history(
    client, world: World, slas, django_assert_num_queries
):
    contract = world.mine.contract
    created = []
    for _ in range(slas):
        sla = factories.ServiceLevelFactory(contract=contract, organization=world.org)
        factories.TermsFactory(service_level=sla, organization=world.org)
        for month in range(1, 1 + slas * 2):
            factories.ReadingFactory(
                service_level=sla, organization=world.org, period_start=date(2025, month, 1)
            )
        created.append(sla)
    _recompute(world.org, *created)
    client.force_login(world.bob)
    url = reverse("contracts:contract", args=[world.org.slug, contract.pk])
    # 1 session, 2 user, 3 membership, 4 contract, 5 SLAs with health (and the count and
    # last write of the statuses charted), 6 their terms, 7 statuses for the charts and
    # heatmap, 8 credits, 9 contacts, 10 open escalations, 11 has it its own policy?,
    # 12 switcher memberships, 13 the contract's reviews, 14 open vendor warnings,
    # 15 open action items, 16-22 governance health (as on the portfolio)
    with django_assert_num_queries(22):
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count('class="chart"') == slas + 1
    # Again, nothing changed: the charts and heatmap come from the cache (no statuses read).
    with django_assert_num_queries(21):
        again = client.get(url)
    assert again.content.decode().count('class="chart"') == slas + 1


def test_the_vendored_chart_bundle_points_the_browser_nowhere_off_the_app():
    """Plotly's defaults that would fetch or link off-site are the app's own in the bundle."""
    from pathlib import Path

    from django.conf import settings

    bundle = (Path(settings.BASE_DIR) / "static/vendor/plotly/plotly-basic.min.js").read_text()
    assert 'dflt:"http' not in bundle
    assert "cdn.plot.ly" not in bundle
    assert "cloud.plotly.com" not in bundle
    assert 'topojsonURL:{valType:"string",noBlank:!0,dflt:"/static/vendor/plotly/' in bundle


def test_contract_page_shows_chart_with_tier_bands_and_recommendation(client, world: World):
    _recompute(world.org, world.mine.sla)
    client.force_login(world.lena)
    response = client.get(
        reverse("contracts:contract", args=[world.org.slug, world.mine.contract.pk])
    )
    html = response.content.decode()
    assert "vendor/plotly/plotly-basic.min.js" in html
    assert "plotly.min.js" not in html  # never the full bundle
    assert 'data-figure="figure-' in html
    figure = response.context["rows"][0]["figure"]
    # The basic bundle draws every trace of every chart on the page.
    drawn = [row["figure"] for row in response.context["rows"] if row.get("figure")]
    assert drawn
    for each in drawn:
        assert {trace["type"] for trace in each["data"]} <= charts.BUNDLE_TRACES
    # A page without charts doesn't load Plotly at all.
    portfolio = client.get(_portfolio(world.org)).content.decode()
    assert "plotly" not in portfolio
    fills = [t.get("fillcolor") for t in figure["data"] if t.get("fill")]
    assert len(fills) == 3  # red, yellow and green bands
    assert "Recommended: <strong>Proactive</strong>" in html


def test_account_manager_creates_contract(client, world: World):
    client.force_login(world.bob)
    response = client.post(
        reverse("contracts:contract_create", args=[world.org.slug]),
        {
            "reference": "NEW-001",
            "title": "Cleaning",
            "vendor": world.mine.vendor.pk,
            "category": "facilities",
            "annual_value": "30000",
            "currency": "eur",
            "start_date": "2026-01-01",
            "end_date": "2026-12-31",
            "review_cadence": "monthly",
            "submission_deadline_days": "5",
            "at_risk_percent": "10",
            "governance_mode": "auto",
            "vendor_contacts": [world.mine.contact.pk],
        },
    )
    assert response.status_code == 302
    with scopes_disabled():
        contract = Contract.objects.get(reference="NEW-001")
        assert contract.organization == world.org
        assert contract.currency == "EUR"
        assert list(contract.vendor_contacts.all()) == [world.mine.contact]
        assert contract.effective_mode == "compliance"
        assert contract.history.count() == 1


def test_contract_form_reports_bad_input_per_field(client, world: World):
    client.force_login(world.bob)
    response = client.post(
        reverse("contracts:contract_create", args=[world.org.slug]),
        {
            "reference": world.mine.contract.reference,
            "title": "x",
            "vendor": world.mine.vendor.pk,
            "category": "facilities",
            "annual_value": "-5",
            "currency": "EU1",
            "start_date": "2026-01-01",
            "end_date": "2025-12-31",
            "review_cadence": "monthly",
            "submission_deadline_days": "5",
            "at_risk_percent": "10",
            "governance_mode": "auto",
            "vendor_contacts": [world.theirs.contact.pk],
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "already has this reference" in errors["reference"][0]
    assert "annual_value" in errors
    assert "three-letter" in errors["currency"][0]
    assert "end after it starts" in errors["end_date"][0]
    assert "vendor_contacts" in errors  # another vendor's contact is not a choice here


def test_creating_an_sla_with_terms_and_credit_tiers(client, world: World):
    client.force_login(world.bob)
    response = client.post(
        reverse("contracts:sla_create", args=[world.org.slug, world.mine.contract.pk]),
        {
            "code": "P1-Res",
            "name": "P1 resolution",
            "kind": "sla",
            "unit": "hours",
            "direction": "lower",
            "period": "monthly",
            "weight": "1",
            "is_active": "on",
            "effective_from": "2025-01-01",
            "target": "4",
            "minimum": "8",
            "improvement": "relative",
            "improvement_rate": "5",
            "tiers-TOTAL_FORMS": "3",
            "tiers-INITIAL_FORMS": "0",
            "tiers-0-worse_than": "8",
            "tiers-0-percent": "5",
            "tiers-1-worse_than": "12",
            "tiers-1-percent": "10",
        },
    )
    assert response.status_code == 302, response.context and response.context["form"].errors
    with scopes_disabled():
        sla = ServiceLevel.objects.get(contract=world.mine.contract, code="p1-res")
        terms = sla.terms.get()
        assert (terms.target, terms.minimum, terms.direction) == (4, 8, "lower")
        assert sorted(t.percent for t in terms.credit_tiers.all()) == [5, 10]


def test_minimum_better_than_target_is_refused_with_a_clear_message(client, world: World):
    client.force_login(world.bob)
    response = client.post(
        reverse("contracts:terms_create", args=[world.org.slug, world.mine.sla.pk]),
        {
            "effective_from": "2026-01-01",
            "target": "99.5",
            "minimum": "99.9",
            "improvement": "none",
            "tiers-TOTAL_FORMS": "0",
            "tiers-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "must be at or below the target" in response.context["form"].errors["minimum"][0]


def test_renegotiated_terms_apply_from_their_date_and_history_keeps_old_ones(
    client, world: World, django_capture_on_commit_callbacks
):
    sla = world.mine.sla
    for month, value in [(1, "99.7"), (2, "99.7")]:
        factories.ReadingFactory(
            service_level=sla,
            organization=world.org,
            period_start=date(2025, month, 1),
            value=Decimal(value),
        )
    _recompute(world.org, sla)
    with scopes_disabled():
        january = sla.statuses.get(period_start=date(2025, 1, 1))
    assert (january.colour, january.target) == ("yellow", Decimal("99.9"))
    client.force_login(world.bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("contracts:terms_create", args=[world.org.slug, sla.pk]),
            {
                "effective_from": "2025-02-01",
                "target": "99.6",
                "minimum": "99.0",
                "improvement": "none",
                "note": "renegotiated",
                "tiers-TOTAL_FORMS": "0",
                "tiers-INITIAL_FORMS": "0",
            },
        )
    assert response.status_code == 302
    with scopes_disabled():
        colours = dict(sla.statuses.values_list("period_start", "colour"))
        assert ServiceLevelTerms.objects.filter(service_level=sla).count() == 2
    assert colours[date(2025, 1, 1)] == "yellow"  # judged by 99.9/99.5
    assert colours[date(2025, 2, 1)] == "green"  # judged by 99.6/99.0
    with scopes_disabled():
        # The earlier period was not even rewritten.
        assert sla.statuses.get(period_start=date(2025, 1, 1)).computed_at == january.computed_at


def test_manual_correction_needs_a_reason_and_keeps_the_old_value(
    client, world: World, django_capture_on_commit_callbacks
):
    sla = world.mine.sla
    url = reverse("metrics:reading_create", args=[world.org.slug, sla.pk])
    client.force_login(world.bob)
    response = client.post(url, {"period": "2026-01", "value": "99.2"})
    assert "Say why the value is corrected" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"period": "2026-01-20", "value": "99.2", "note": "recount"})
    assert response.status_code == 302
    with scopes_disabled():
        reading = sla.readings.get(period_start=date(2026, 1, 1))
        assert (reading.value, reading.revision) == (Decimal("99.2"), 2)
        assert [r.value for r in reading.revisions.all()] == [Decimal("99.95")]
        assert sla.statuses.get(period_start=date(2026, 1, 1)).colour == "red"
    page = client.get(reverse("metrics:sla", args=[world.org.slug, sla.pk])).content.decode()
    assert "was 99.95" in page
    assert "recount" in page


def test_manual_entry_rejects_unparseable_period_and_impossible_percent(client, world: World):
    client.force_login(world.bob)
    response = client.post(
        reverse("metrics:reading_create", args=[world.org.slug, world.mine.sla.pk]),
        {"period": "Octember", "value": "140"},
    )
    errors = response.context["form"].errors
    assert "is not a period" in errors["period"][0]
    assert "between 0 and 100" in errors["value"][0]


def test_vendor_cannot_see_other_vendors_in_vendor_list(client, world: World):
    client.force_login(world.vic)
    html = client.get(reverse("contracts:vendors", args=[world.org.slug])).content.decode()
    assert world.mine.vendor.name in html
    assert world.theirs.vendor.name not in html


def test_admin_creates_vendor_and_contact(client, world: World):
    client.force_login(world.alice)
    response = client.post(
        reverse("contracts:vendor_create", args=[world.org.slug]),
        {"name": "Newco", "website": "newco.example"},
    )
    assert response.status_code == 302
    with scopes_disabled():
        vendor = Vendor.objects.get(organization=world.org, name="Newco")
    assert vendor.website == "https://newco.example"
    response = client.post(
        reverse("contracts:contact_create", args=[world.org.slug, vendor.pk]),
        {"name": "Nia", "email": "nia@newco.example"},
    )
    assert response.status_code == 302
    with scopes_disabled():
        assert vendor.contacts.get().email == "nia@newco.example"


def test_one_login_switches_between_organisations(client, world: World):
    side = make_side(world.other_org, "Other's vendor")
    factories.MembershipFactory(
        organization=world.other_org, user=world.vic, role="vendor", vendor=side.vendor
    )
    client.force_login(world.vic)
    assert client.get(reverse("home")).url == reverse("organizations")
    listing = client.get(reverse("organizations")).content.decode()
    assert "Acme Corp" in listing
    assert "Other Inc" in listing
    other = client.get(_portfolio(world.other_org)).content.decode()
    assert side.contract.reference in other
    assert world.foreign.contract.reference not in other  # another vendor there


@pytest.mark.parametrize("months", [2, 30])
def test_sla_page_query_count_does_not_grow_with_history(
    client, world: World, months, django_assert_num_queries
):
    sla = world.mine.sla
    for i in range(months):
        start = add_periods(date(2025, 2, 1), "monthly", i)
        if start != world.mine.reading.period_start:
            factories.ReadingFactory(
                service_level=sla,
                organization=world.org,
                period_start=start,
                value=Decimal("99.1"),
            )
    _recompute(world.org, sla, today=date(2027, 9, 1))
    client.force_login(world.bob)
    # 1 session, 2 user, 3 membership, 4 SLA with contract and health, 5 statuses with
    # their readings, 6 terms, 7 credit tiers, 8 revisions, 9 open escalations, 10 a running
    # breach forecast, 11 switcher memberships, 12 open vendor warnings, 13 open action items
    with django_assert_num_queries(13):
        response = client.get(reverse("metrics:sla", args=[world.org.slug, sla.pk]))
    assert response.status_code == 200


def test_sla_status_history_comes_a_page_of_24_periods_at_a_time(client, world: World):
    sla = world.mine.sla
    for i in range(30):
        start = add_periods(date(2024, 2, 1), "monthly", i)
        if start != world.mine.reading.period_start:
            factories.ReadingFactory(
                service_level=sla, organization=world.org, period_start=start, value=Decimal("99.1")
            )
    _recompute(world.org, sla, today=date(2026, 9, 1))
    client.force_login(world.bob)
    url = reverse("metrics:sla", args=[world.org.slug, sla.pk])
    first = client.get(url).content.decode()
    history = first.split('id="history-section"')[1]
    assert history.count('<tr class="colour-') == 24
    assert "Aug 2026" in history  # newest first
    assert "Page 1 of 2" in history
    assert 'href="?page=2#history-section"' in history
    assert first.count('<tr><th scope="row">') >= 30  # the chart's table has every period
    key = first.split('aria-label="Chart key"')[1].split("</ul>")[0]
    assert "forecast" in key
    assert "its 80 % band" in key
    assert "unusually bad value" not in key  # none drawn
    older = client.get(url, {"page": 2}, HTTP_HX_REQUEST="true").content.decode()
    assert older.startswith('\n<section id="history-section">')
    assert "<html" not in older
    assert older.count('<tr class="colour-') == 31 - 24
    assert "Page 2 of 2" in older
    assert "← Newer" in older


def test_portfolio_lists_drifting_and_forecast_to_breach_slas(client, world: World):
    sla = world.mine.sla  # availability, higher is better, 99.9 / 99.5
    for month, value in enumerate(["99.99", "99.99", "99.99", "99.96", "99.94", "99.91"], 2):
        factories.ReadingFactory(
            service_level=sla,
            organization=world.org,
            period_start=date(2026, month, 1),
            value=Decimal(value),
        )
    _recompute(world.org, sla, today=date(2026, 8, 3))
    client.force_login(world.bob)
    html = client.get(_portfolio(world.org)).content.decode()
    watch = html.split('id="watch"')[1].split("</article>")[0]
    assert f"{world.mine.contract.reference} · avail" in watch
    assert "drifting" in watch


def test_first_terms_agreed_late_also_judge_the_periods_before_them(
    world: World, django_capture_on_commit_callbacks
):
    from contracts.services import terms_agree

    org = world.org
    sla = factories.ServiceLevelFactory(contract=world.mine.contract, organization=org)
    start = world.mine.contract.start_date.replace(day=1)
    months = [add_periods(start, "monthly", n) for n in range(3)]
    for month in months:
        factories.ReadingFactory(
            service_level=sla, organization=org, period_start=month, value=Decimal("99.95")
        )
    with scopes_disabled(), django_capture_on_commit_callbacks(execute=True):
        terms_agree(
            organization=org,
            actor=world.bob,
            service_level=sla,
            effective_from=months[2],
            target=Decimal("99.9"),
            minimum=Decimal("99.5"),
        )
    with scopes_disabled():
        colours = dict(sla.statuses.values_list("period_start", "colour"))
    # The only terms there are cover the whole contract, the months before them too.
    assert [colours.get(month) for month in months] == ["green", "green", "green"]
