"""
Long lists on pages: a page of rows at a time with the filters kept, the totals
still covering every row, links built without a reversal per row, the
responses compressed, and queries that don't grow with the rows.
"""

from __future__ import annotations

import gzip
import random
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django_scopes import scopes_disabled

from contracts import selectors as contract_selectors
from escalations import views as escalation_views
from metrics import selectors as metrics_selectors
from reviews import views as review_views
from reviews.health_data import SLIDING_MONTHS, health_histories
from reviews.models import Review
from slagov import pages
from slagov.web import IdUrl
from tests import factories
from tests.conftest import World, make_escalation
from tests.test_governance_health import _sliding
from tests.test_pages import _fill_portfolio, _portfolio, _recompute


def _rows(html: str, marker: str) -> int:
    return html.count(marker)


# --- links ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "id_kwarg"),
    [
        ("contracts:contract", "contract_id"),
        ("metrics:sla", "sla_id"),
        ("escalations:detail", "escalation_id"),
        ("reviews:detail", "review_id"),
    ],
)
def test_a_link_built_from_one_reversal_is_the_reversed_url(name, id_kwarg):
    rng = random.Random(15)
    for slug in ("acme", "o-1", "x9"):
        route = IdUrl(name, id_kwarg, org_slug=slug)
        for pk in [1, 9, 10, 2**63 - 1, *(rng.randrange(1, 10**12) for _ in range(50))]:
            assert route(pk) == reverse(name, kwargs={"org_slug": slug, id_kwarg: pk})


# --- the portfolio ------------------------------------------------------------------


def test_the_colour_counts_of_many_contracts_are_the_sum_of_their_rollups(world: World):
    rng = random.Random(3)
    _fill_portfolio(world.org, 6, 3)
    with scopes_disabled():
        slas = list(contract_selectors.active_service_level_ids(world.org.pk))
    # Some SLAs without any health (no data), some red, some inactive.
    with scopes_disabled():
        from contracts.models import ServiceLevel
        from metrics.models import SlaHealth

        for pk in rng.sample(slas, 4):
            SlaHealth.objects.filter(service_level_id=pk).delete()
        for pk in rng.sample(slas, 4):
            SlaHealth.objects.filter(service_level_id=pk).update(colour="red")
        ServiceLevel.objects.filter(pk__in=rng.sample(slas, 3)).update(is_active=False)
        contracts = contract_selectors.portfolio_contracts()
        expected = dict.fromkeys(metrics_selectors.Colour, 0)
        for contract in contracts:
            for colour, n in metrics_selectors.rollup(contract.active_slas).counts.items():
                expected[colour] += n
        assert metrics_selectors.colour_counts(contracts) == expected
        some = contracts.filter(pk__in=[c.pk for c in list(contracts)[:3]])
        expected_some = dict.fromkeys(metrics_selectors.Colour, 0)
        for contract in some:
            for colour, n in metrics_selectors.rollup(contract.active_slas).counts.items():
                expected_some[colour] += n
        assert metrics_selectors.colour_counts(some) == expected_some


def test_the_portfolio_shows_a_page_of_contracts_and_counts_them_all(
    client, world: World, monkeypatch
):
    monkeypatch.setattr(pages, "PORTFOLIO_PAGE", 3)
    _fill_portfolio(world.org, 5, 2)  # 5 more contracts of 2 SLAs: 7 contracts, 12 SLAs
    client.force_login(world.bob)
    first = client.get(_portfolio(world.org)).content.decode()
    assert _rows(first, "data-contract=") == 3
    assert "7 contracts, 1\u20133 shown." in first
    # The counts above the table cover every contract, not only this page's.
    counts = first[first.index('aria-label="SLAs by latest status"') :]
    counts = counts[: counts.index("</div>")]
    total = sum(int(n) for n in re.findall(r"<strong>(\d+)</strong>", counts))
    assert total == 12
    assert 'href="?page=2"' in first
    last = client.get(_portfolio(world.org), {"page": 3}).content.decode()
    assert _rows(last, "data-contract=") == 1
    assert "7 contracts, 7\u20137 shown." in last
    # Past the last page: the last page.
    assert _rows(client.get(_portfolio(world.org), {"page": 99}).content.decode(),
                 "data-contract=") == 1  # fmt: skip


def test_a_portfolio_page_link_keeps_the_filters_and_a_search_finds_any_contract(
    client, world: World, monkeypatch
):
    monkeypatch.setattr(pages, "PORTFOLIO_PAGE", 2)
    _fill_portfolio(world.org, 5, 1)
    client.force_login(world.bob)
    category = world.mine.contract.category
    html = client.get(_portfolio(world.org), {"category": category}).content.decode()
    assert f"category={category}&amp;page=2" in html
    # Whatever page it would sort onto, a search for it shows it.
    with scopes_disabled():
        last = contract_selectors.portfolio_contracts().last()
    found = client.get(_portfolio(world.org), {"q": last.reference}).content.decode()
    assert f'data-contract="{last.reference}"' in found


@pytest.mark.parametrize("contracts", [4, 12])
def test_portfolio_pages_take_the_same_queries_whatever_the_contracts(
    client, world: World, contracts, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(pages, "PORTFOLIO_PAGE", 3)
    _fill_portfolio(world.org, contracts, 2)
    client.force_login(world.bob)
    # As in test_pages: the page is 3 contracts whatever their number. Governance health
    # is worked out on the first page asked for (PostgreSQL: 23, with the change stamp;
    # SQLite: 22, nothing cached) and, on PostgreSQL, read from the cache after (15).
    postgresql = connection.vendor == "postgresql"
    for page, queries in ((1, 23 if postgresql else 22), (2, 15 if postgresql else 22)):
        with django_assert_num_queries(queries):
            response = client.get(_portfolio(world.org), {"page": page})
        assert response.status_code == 200


def test_the_portfolio_sliding_list_and_scores_are_those_of_the_full_history(client, world: World):
    contract = _sliding(world)
    with scopes_disabled(), time_machine.travel(datetime(2026, 12, 7, 9, tzinfo=UTC)):
        contract.refresh_from_db()
        full = health_histories([contract], today=date(2026, 12, 7))[contract.pk]
        short = health_histories([contract], today=date(2026, 12, 7), months=SLIDING_MONTHS)[
            contract.pk
        ]
    assert short.scores == full.scores[-3:]
    assert short.sliding is full.sliding is True
    assert short.current.summary == full.current.summary


def test_the_sliding_list_covers_every_selected_contract_not_only_this_page(
    client, world: World, monkeypatch
):
    monkeypatch.setattr(pages, "PORTFOLIO_PAGE", 1)
    contract = _sliding(world)
    client.force_login(world.alice)
    shown_on, listed_on = [], []
    with time_machine.travel(datetime(2026, 12, 7, 9, tzinfo=UTC), tick=False):
        for number in (1, 2, 3, 4):
            text = client.get(_portfolio(world.org), {"page": number}).content.decode()
            table = text[text.index('id="portfolio"') :]
            if f">{contract.reference}<" in table:
                shown_on.append(number)
            if 'id="sliding"' in text:
                sliding = text[text.index('id="sliding"') :]
                if contract.reference in sliding[: sliding.index("</table>")]:
                    listed_on.append(number)
    assert len(shown_on) == 1  # one contract a page
    assert listed_on == [1, 2, 3, 4]  # the list is the same on every page


# --- the escalation list and the reviews calendar --------------------------------------


def _escalations(world: World, count: int) -> None:
    """`count` open escalations, each of its own SLA (one open per SLA and kind)."""
    for _ in range(count):
        sla = factories.ServiceLevelFactory(contract=world.mine.contract, organization=world.org)
        make_escalation(sla)


def test_the_escalation_list_pages_keep_the_filter(client, world: World, monkeypatch):
    monkeypatch.setattr(escalation_views, "LIST_LIMIT", 2)
    _escalations(world, 5)
    client.force_login(world.bob)
    url = reverse("escalations:list", args=[world.org.slug])
    first = client.get(url, {"state": "open"}).content.decode()
    assert _rows(first, "data-escalation=") == 2
    total = int(re.search(r"(\d+) escalations, 1\u20132 shown\.", first).group(1))
    assert total >= 5  # the world's own open escalations, and these
    assert "state=open&amp;page=2" in first
    third = client.get(url, {"state": "open", "page": 3}).content.decode()
    assert _rows(third, "data-escalation=") == min(2, total - 4)


@pytest.mark.parametrize("escalations", [3, 9])
def test_escalation_list_queries_do_not_grow_with_escalations(
    client, world: World, escalations, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(escalation_views, "LIST_LIMIT", 2)
    _escalations(world, escalations)
    client.force_login(world.bob)
    # 1 session, 2 user, 3 membership, 4 vendor choices, 5 contract choices,
    # 6 escalations counted, 7 a page of them with SLA, contract and vendor,
    # 8 switcher memberships
    with django_assert_num_queries(8):
        response = client.get(reverse("escalations:list", args=[world.org.slug]), {"page": 2})
    assert response.status_code == 200


def _reviews(world: World, planned: int, past: int) -> None:
    now = datetime.now(UTC)
    with scopes_disabled():
        for i in range(planned):
            Review.objects.create(organization=world.org, contract=world.mine.contract,
                                  kind=Review.Kind.AD_HOC,
                                  scheduled_at=now + timedelta(days=i + 1))  # fmt: skip
        for i in range(past):
            Review.objects.create(organization=world.org, contract=world.mine.contract,
                                  state=Review.State.HELD, scheduled_at=now - timedelta(days=i + 1),
                                  held_at=now - timedelta(days=i + 1))  # fmt: skip


def test_the_reviews_calendar_pages_each_list_on_its_own(client, world: World, monkeypatch):
    monkeypatch.setattr(review_views, "CALENDAR_PAGE", 2)
    _reviews(world, planned=3, past=5)
    client.force_login(world.bob)
    url = reverse("reviews:calendar", args=[world.org.slug])
    html = client.get(url, {"planned": 2, "page": 3}).content.decode()
    planned = html[html.index('id="planned"') : html.index('id="past"')]
    past = html[html.index('id="past"') :]
    assert planned.count("<tr>") - 1 == 1  # the header row, and the third planned review
    assert past[: past.index("</table>")].count("<tr>") - 1 == 1
    # Moving one list keeps the other's page.
    assert "planned=2&amp;page=2" in html
    assert "page=3&amp;planned=1" in html


@pytest.mark.parametrize("reviews", [3, 9])
def test_calendar_queries_do_not_grow_with_reviews(
    client, world: World, reviews, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(review_views, "CALENDAR_PAGE", 2)
    _reviews(world, planned=reviews, past=reviews)
    client.force_login(world.bob)
    # 1 session, 2 user, 3 membership, 4-5 planned reviews counted and a page of them,
    # 6-7 past reviews counted and a page of them, 8 switcher memberships
    with django_assert_num_queries(8):
        response = client.get(reverse("reviews:calendar", args=[world.org.slug]))
    assert response.status_code == 200


# --- compression ----------------------------------------------------------------------


def test_pages_are_compressed_for_a_browser_that_accepts_it(client, world: World):
    _recompute(world.org, world.mine.sla, world.theirs.sla)
    client.force_login(world.bob)
    plain = client.get(_portfolio(world.org))
    packed = client.get(_portfolio(world.org), HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    html = gzip.decompress(packed.content).decode()
    assert world.mine.contract.reference in html
    assert len(packed.content) < len(plain.content)


def test_a_contract_found_by_filter_shows_on_the_first_page(client, world: World, monkeypatch):
    monkeypatch.setattr(pages, "PORTFOLIO_PAGE", 1)
    factories.ContractFactory(vendor=world.mine.vendor, organization=world.org)
    client.force_login(world.bob)
    html = client.get(_portfolio(world.org), {"vendor": world.theirs.vendor.pk}).content.decode()
    assert f'data-contract="{world.theirs.contract.reference}"' in html


# --- filters offering many choices ---------------------------------------------------


def test_the_quick_select_writes_the_same_select_as_django(world: World):
    from django import forms
    from django.test.html import parse_html

    from slagov.filters import QuickSelect

    choices = [("", "All <contracts>"), (1, "A & B"), (22, 'Say "hi"'), (3, "Ünïcode")]
    for value in (None, "", 22, "3", [22]):
        for attrs in ({"id": "id_contract"}, {"id": "x", "class": "narrow"}):
            quick = QuickSelect(choices=choices).render("contract", value, attrs)
            django = forms.Select(choices=choices).render("contract", value, attrs)
            assert parse_html(quick) == parse_html(django), (value, attrs)


def test_the_escalation_filter_still_selects_the_contract_asked_for(client, world: World):
    client.force_login(world.bob)
    url = reverse("escalations:list", args=[world.org.slug])
    html = client.get(url, {"contract": world.mine.contract.pk}).content.decode()
    assert f'<option value="{world.mine.contract.pk}" selected>' in html
    assert f'<option value="{world.theirs.contract.pk}">' in html
