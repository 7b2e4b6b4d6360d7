"""
The leadership view: its figures on a built world, the heatmap of vendors by
month, what another tenant holds never counted, who may see it, its query
count, and a phone's width in real Chromium.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django_scopes import scopes_disabled

from contracts.models import ServiceLevel
from escalations.leadership import HeatCell
from escalations.models import Escalation
from metrics import engine
from metrics.models import SlaHealth
from tests import factories
from tests.conftest import World
from tests.test_browser import browser, page  # noqa: F401 (fixtures)
from tests.test_outcomes_data import NOW, TODAY, at, build, read

pytestmark = pytest.mark.django_db


def _health(sla, **fields) -> None:
    with scopes_disabled():
        SlaHealth.objects.filter(service_level=sla).update(**fields)


def _sla(contract, code, **kw):
    sla = factories.ServiceLevelFactory(contract=contract, organization=contract.organization,
                                        code=code, **kw)  # fmt: skip
    factories.TermsFactory(service_level=sla, organization=contract.organization,
                           direction=sla.direction)  # fmt: skip
    return sla


@pytest.fixture
def leadership_world(world: World, settings):
    """
    The outcomes world (2026 Q2 so far: one breach avoided, one breach not warned ahead,
    a 2 h acknowledgement, resolutions of 1,416 h and 240 h, one of two items on time,
    1,000 EUR of credits), and now: mine's availability red with a red KPI on the same
    contract; theirs (in USD) forecast to breach on one SLA and drifting on another; an
    inactive SLA red; the other tenant red, overdue and at risk too.
    """
    settings.TIME_ZONE = "Europe/Berlin"
    built = build(world)
    mine, theirs, foreign = world.mine, world.theirs, world.foreign
    with scopes_disabled():
        theirs.contract.currency, theirs.contract.annual_value = "USD", Decimal("100000")
        theirs.contract.save(update_fields=["currency", "annual_value"])
        Escalation.objects.filter(pk__in=[mine.escalation.pk, foreign.escalation.pk]).update(
            due_by=NOW - timedelta(hours=1)
        )
        ServiceLevel.objects.filter(pk=built.resp.pk).update(is_active=False)
    kpi = _sla(mine.contract, "backlog", kind="kpi")
    drifting = _sla(theirs.contract, "mttr")
    for sla in (kpi, drifting):
        factories.SlaHealthFactory(service_level=sla, organization=world.org)
    _health(mine.sla, colour="red")
    _health(kpi, colour="red")
    _health(built.resp, colour="red")  # inactive: not counted
    _health(theirs.sla, colour="yellow", periods_to_breach=2)
    _health(drifting, colour="green", drifting=True)
    _health(foreign.sla, colour="red", periods_to_breach=1)
    return built


def _get(client, user, org):
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        return client.get(reverse("escalations:leadership", args=[org.slug]))


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def _figure(html: str, words: str) -> str:
    """The figure whose words are `words`, as text."""
    for item in re.findall(r'<li class="figure[^"]*"[^>]*>(.*?)</li>', html, re.S):
        if words in _text(item):
            return _text(item)
    raise AssertionError(f"no figure says {words!r}")


def test_the_figures_now_on_a_built_world(client, world: World, leadership_world):
    response = _get(client, world.lena, world.org)
    assert response.status_code == 200
    watch = response.context["watch"]
    assert [h.service_level.code for h in watch.reds] == ["avail", "backlog"]
    assert [h.service_level.code for h in watch.coming] == ["avail", "mttr"]  # soonest first
    assert watch.money_at_risk == {"EUR": Decimal("240000"), "USD": Decimal("100000")}
    html = response.content.decode()
    assert _figure(html, "red now") == "2 SLAs red now"
    assert _figure(html, "forecast to breach") == "2 drifting or forecast to breach"
    # Mine's escalation past its due-by; three items overdue (mine's two, theirs' one).
    assert _figure(html, "overdue:") == ("4 overdue: 1 escalation past due-by , 3 action items")
    assert _figure(html, "money at risk") == "240,000 EUR 100,000 USD money at risk (annual value)"


def test_this_quarters_outcomes_with_their_trend(client, world: World, leadership_world):
    html = _get(client, world.lena, world.org).content.decode()
    assert "2026 Q2 so far" in html
    assert _figure(html, "avoided") == "1 breach avoided ▼ down from 2 last quarter (worse)"
    assert _figure(html, "warned ahead") == "1 breach (0 warned ahead) the same as last quarter"
    assert _figure(html, "acknowledge") == (
        "2.0 h median time to acknowledge ▼ down from 5.0 h last quarter (better)"
    )
    assert _figure(html, "to resolve") == (
        "828 h median time to resolve ▲ up from 240 h last quarter (worse)"
    )
    assert _figure(html, "on time") == (
        "1 of 2 action items done on time ▲ up from 0 % last quarter (better)"
    )
    # Theirs is now billed in USD: the currencies moved apart, so no arrow.
    assert _figure(html, "service credits") == (
        "1,000 USD service credits EUR down from 2,000; USD up from 0 last quarter"
    )
    help_url = reverse("reviews:help_numbers", args=[world.org.slug])
    assert f'href="{help_url}#breaches-avoided"' in html
    assert f'<a class="small" href="{help_url}">How these are counted</a>' in html


def test_the_heatmap_shows_each_vendors_worst_colour_per_month(
    client, world: World, leadership_world
):
    # A weekly SLA of theirs with one red week in January: January turns red for theirs.
    weekly = _sla(world.theirs.contract, "p1", period="weekly", data_start=date(2026, 1, 5))
    for monday, value in ((date(2026, 1, 5), "99.95"), (date(2026, 1, 12), "99.0"),
                          (date(2026, 1, 19), "99.95")):  # fmt: skip
        read(world.theirs, monday, value, at("2026-01-27"), sla=weekly)
    engine.recompute(organization_id=world.org.pk, service_level_ids=[weekly.pk], today=TODAY)
    response = _get(client, world.lena, world.org)
    months = response.context["months"]
    assert months[0] == date(2025, 5, 1)
    assert months[-1] == date(2026, 4, 1)
    rows = {row.vendor: row.cells for row in response.context["heat_rows"]}
    assert list(rows) == ["Vendor Mine", "Vendor Theirs"]  # never the other tenant's
    late = ["late"] * 8  # May to December 2025: owed, never sent
    assert [c.colour for c in rows["Vendor Mine"]] == [*late, "green", "yellow", "red", "green"]
    # Theirs: January's red week outweighs its green month; no data in February and March.
    assert [c.colour for c in rows["Vendor Theirs"]] == [*late, "red", "late", "late", "red"]
    assert rows["Vendor Mine"][10] == HeatCell(date(2026, 3, 1), "red")
    html = response.content.decode()
    assert 'title="Vendor Mine, March 2026: Red (breach)"' in html
    vendor_url = reverse("contracts:vendor", args=[world.org.slug, world.mine.vendor.pk])
    assert f'<a href="{vendor_url}" title="Vendor Mine">Vendor Mine</a>' in html


def test_another_tenants_rows_never_count(client, world: World, leadership_world):
    foreign = world.foreign
    html = _get(client, world.lena, world.org).content.decode()
    assert foreign.contract.reference not in html
    assert "Vendor Foreign" not in html
    # Its own leadership view counts its own: red and at risk, one escalation overdue.
    factories.MembershipFactory(organization=world.other_org, user=world.lena, role="leadership")
    theirs = _get(client, world.lena, world.other_org).content.decode()
    assert _figure(theirs, "red now") == "1 SLA red now"
    assert _figure(theirs, "overdue:") == "2 overdue: 1 escalation past due-by , 1 action item"
    assert world.mine.contract.reference not in theirs


def test_customer_side_only_and_a_404_for_another_tenant(client, world: World):
    url = reverse("escalations:leadership", args=[world.org.slug])
    for user, status in ((world.lena, 200), (world.bob, 200), (world.vic, 403),
                         (world.olly, 403), (world.charlie, 404)):  # fmt: skip
        client.force_login(user)
        assert client.get(url).status_code == status, user.username


def test_the_sliding_back_section_shows_only_when_given(rf, world: World):
    from django.template.loader import render_to_string

    context = {"org": world.org}
    assert render_to_string("escalations/leadership/_sliding_back.html", context).strip() == ""
    shown = render_to_string(
        "escalations/leadership/_sliding_back.html", context | {"sliding_back": []}
    )
    assert "No contract is sliding back." in shown


@pytest.mark.parametrize("vendors", [1, 5])
def test_the_page_takes_the_same_queries_whatever_the_portfolio(
    client, world: World, leadership_world, vendors, django_assert_num_queries
):
    for i in range(vendors):
        vendor = factories.VendorFactory(organization=world.org, name=f"Extra {i}")
        contract = factories.ContractFactory(organization=world.org, vendor=vendor)
        sla = _sla(contract, "avail")
        read(world.mine, date(2026, 3, 1), "99.0", at("2026-04-02"), sla=sla)
        engine.recompute(organization_id=world.org.pk, service_level_ids=[sla.pk], today=TODAY)
        with scopes_disabled():
            Escalation.objects.create(
                organization=world.org, contract=contract, service_level=sla, kind="performance",
                level=2, reason="test", opened_at=at("2026-05-01"), due_by=at("2026-05-02"),
            )  # fmt: skip
    client.force_login(world.lena)
    url = reverse("escalations:leadership", args=[world.org.slug])
    # 1 session, 2 user, 3 membership (tenant), 4 open escalations, 5 red and coming SLAs,
    # 6 overdue action items, then (PostgreSQL) the organisation's change stamp, 7-15 this
    # and last quarter's outcomes (reviews.outcomes_data: nine), 16 the heatmap, 17 open
    # vendor warnings, then governance health worked out (SQLite, or PostgreSQL once after
    # a write): the stamp again (PostgreSQL only), its contracts, their facts (reviews,
    # action items, escalations, warnings, SLAs, relevance checks, readings; no contract
    # here has an owner to look up); then unclaimed credits, switcher memberships
    postgresql = connection.vendor == "postgresql"
    with time_machine.travel(NOW, tick=False), django_assert_num_queries(29 if postgresql else 27):
        response = client.get(url)
    assert len(response.context["heat_rows"]) == 2 + vendors
    if postgresql:  # from the cache while nothing they read has changed: the stamps alone
        with time_machine.travel(NOW, tick=False), django_assert_num_queries(11):
            assert client.get(url).status_code == 200


def test_the_help_page_defines_every_figure_the_view_links_to(
    client, world: World, leadership_world, django_assert_num_queries
):
    html = _get(client, world.lena, world.org).content.decode()
    help_url = reverse("reviews:help_numbers", args=[world.org.slug])
    anchors = set(re.findall(re.escape(help_url) + r"#([a-z-]+)", html))
    assert anchors == {
        "money-at-risk", "breaches-avoided", "breaches", "time-to-acknowledge",
        "time-to-resolve", "actions-on-time", "credits", "health",
    }  # fmt: skip
    # 1 session, 2 user, 3 membership (tenant), 4 switcher memberships
    with django_assert_num_queries(4):
        page = client.get(help_url).content.decode()
    for anchor in anchors | {"red-now", "forecast-to-breach", "overdue", "heatmap",
                             "warned-ahead", "quarters", "health"}:  # fmt: skip
        assert f'id="{anchor}"' in page, anchor
    assert '<h2 id="health">Governance health</h2>' in page
    assert "one of the 3 periods before the breach" in page  # escalations.ahead.AHEAD


def test_every_member_reads_the_help_page_and_another_tenant_gets_a_404(client, world: World):
    url = reverse("reviews:help_numbers", args=[world.org.slug])
    for user, status in ((world.lena, 200), (world.bob, 200), (world.vic, 200),
                         (world.olly, 200), (world.charlie, 404)):  # fmt: skip
        client.force_login(user)
        assert client.get(url).status_code == status, user.username
    client.force_login(world.vic)
    assert "Back to the leadership view" not in client.get(url).content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_page_fits_a_375px_phone_without_sideways_scrolling(page):  # noqa: F811
    from slagov.demo import seed
    from tests.test_browser import login

    seed()
    page.set_viewport_size({"width": 375, "height": 812})
    login(page, "lena")
    response = page.goto(f"{page.base}/o/northwind/leadership/")
    assert response.status == 200
    assert page.locator("#figures-now li").count() == 4
    assert page.locator("#vendor-heatmap tbody tr").count() >= 1
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375


def test_unclaimed_credits_show_after_the_governance_lists(client, world: World):
    """Credits are the backstop: on the page, never above the figures or the lists."""
    from django_scopes import scopes_disabled

    from metrics.models import CreditEntry

    with scopes_disabled():
        CreditEntry.objects.filter(pk=world.mine.credit_entry.pk).update(amount=Decimal("123.45"))
    client.force_login(world.lena)
    with time_machine.travel(NOW, tick=False):
        text = client.get(reverse("escalations:leadership", args=[world.org.slug])).content.decode()
    credits = text.index('id="unclaimed-credits"')
    assert text.index('id="sliding-back"') < credits
    assert text.index('id="vendor-heatmap"') < credits
    assert "123.45 EUR" in text[credits:]
    assert world.foreign.contract.reference not in text
