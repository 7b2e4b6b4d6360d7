"""
The vendor page as a scorecard: what it shows on a built world (exact statuses,
credits, the warning raised ahead of a breach), who may see it (three
personas), and what it costs in queries whatever the number of contracts.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scopes_disabled

from contracts.models import Contract
from metrics import engine
from reviews.health_data import health_histories
from tests import factories
from tests.conftest import World
from tests.scorecard_world import NOW, TODAY, build_history


@pytest.fixture
def at_today():
    with time_machine.travel(NOW, tick=False):
        yield


def vendor_url(org, vendor) -> str:
    return reverse("contracts:vendor", args=[org.slug, vendor.pk])


def row(html: str, attribute: str, pk: int) -> str:
    """The text of the table row marked `attribute="pk"`, tags stripped."""
    match = re.search(rf'<tr[^>]*{attribute}="{pk}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, f"no row {attribute}={pk}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def section(html: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', html, re.S)
    assert match, f"no section {section_id}"
    return match.group(1)


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_scorecard_shows_each_slas_latest_status_and_the_contracts_worst(
    client, world: World, at_today
):
    kpi = build_history(world)
    client.force_login(world.bob)
    html = client.get(vendor_url(world.org, world.mine.vendor)).content.decode()
    c = world.mine.contract
    with scopes_disabled():
        loaded = Contract.objects.select_related("organization", "owner").get(pk=c.pk)
        health = health_histories([loaded], today=TODAY)[c.pk].current
    assert row(html, "data-contract", c.pk) == (
        # Red: the backlog KPI is red now; its score weighs one green and one red.
        f"{c.reference} {c.title} 1 Jan 2025 \u2013 31 Dec 2028 Red (breach) health score 50/100 "
        f"Proactive Bob 240,000 EUR {health.score} \u00b7 {health.band.label.lower()}"
    )
    assert row(html, "data-sla", world.mine.sla.pk) == (
        f"avail {world.mine.sla.name} SLA Green Apr 2026 99.95 % 99.9 % 99.5 %"
    )
    assert row(html, "data-sla", kpi.pk) == (
        "backlog Ticket backlog KPI (leading indicator) Red (breach) Apr 2026 160 100 150"
    )
    assert world.theirs.contract.reference not in html
    assert world.foreign.contract.reference not in html


def test_each_trend_is_charted_with_its_values_in_words(client, world: World, at_today):
    kpi = build_history(world)
    client.force_login(world.bob)
    html = client.get(vendor_url(world.org, world.mine.vendor)).content.decode()
    trends = section(html, "vendor-trends")
    card = re.search(rf'data-trend="{world.mine.sla.pk}">(.*?)</article>', trends, re.S).group(1)
    assert card.count("<svg") == 1
    assert f'aria-label="Trend of avail {world.mine.sla.name} over its' in card
    values = text(card)
    assert "Feb 2026 99.7 % Yellow (at risk) 99.9 % 99.5 %" in values
    assert "Mar 2026 99.2 % Red (breach) 99.9 % 99.5 %" in values
    assert "Apr 2026 99.95 % Green 99.9 % 99.5 %" in values
    assert "May 2025" in values
    assert "Apr 2025" not in values
    kpi_card = re.search(rf'data-trend="{kpi.pk}">(.*?)</article>', trends, re.S).group(1)
    assert "Apr 2026 160 Red (breach) 100 150" in text(kpi_card)


def test_the_warning_raised_a_month_ahead_of_the_breach_is_listed_with_its_notice(
    client, world: World, at_today
):
    build_history(world)
    warning = world.mine.warning
    with scopes_disabled():
        warning.refresh_from_db()
    assert (warning.breached_period, warning.periods_ahead) == (date(2026, 3, 1), 1)
    client.force_login(world.bob)
    html = client.get(vendor_url(world.org, world.mine.vendor)).content.decode()
    assert row(html, "data-ahead", warning.pk) == (
        f"Parts shortage {world.mine.contract.reference} · avail 10 Feb 2026 Red Mar 2026 "
        "1 month ahead"
    )
    assert "Warnings ahead of a breach: 1" in text(html)
    assert f'data-warning="{warning.pk}"' in section(html, "vendor-warnings")  # still open


def test_credits_per_month_come_from_the_one_rule_capped_per_contract(
    client, world: World, at_today
):
    build_history(world)
    client.force_login(world.bob)
    credits = text(section(client.get(vendor_url(world.org, world.mine.vendor)).content.decode(),
                          "vendor-credits"))  # fmt: skip
    ref = world.mine.contract.reference
    # 5 % of the monthly charge (240,000 / 12) for each month below 99.9 %: Feb and Mar.
    assert f"Feb 2026 {ref} avail 1,000 1,000 1,000 EUR" in credits
    assert f"Mar 2026 {ref} avail 1,000 1,000 1,000 EUR" in credits
    assert "Total credited 2,000 EUR" in credits
    assert "Jan 2026" not in credits
    assert "Apr 2026" not in credits


def test_open_escalations_and_overdue_action_items_of_the_vendor_only(
    client, world: World, at_today
):
    build_history(world)
    client.force_login(world.bob)
    html = client.get(vendor_url(world.org, world.mine.vendor)).content.decode()
    assert f'data-escalation="{world.mine.escalation.pk}"' in html
    assert f'data-escalation="{world.theirs.escalation.pk}"' not in html
    item = row(html, "data-action", world.mine.action_item.pk)
    assert item.endswith("Vic (vendor) 1 Mar 2026 overdue Open")
    assert f'data-action="{world.theirs.action_item.pk}"' not in html
    assert "Overdue action items: 1" in text(html)


def test_every_table_scrolls_inside_its_own_box_on_a_phone(client, world: World, at_today):
    build_history(world)
    client.force_login(world.bob)
    html = client.get(vendor_url(world.org, world.mine.vendor)).content.decode()
    tables = re.findall(r"(.{0,40})<table", html, re.S)
    assert tables
    assert all(before.rstrip().endswith('<div class="scroll">') for before in tables)
    assert 'class="svg-chart"' in html


def test_the_edit_links_stay_for_managers_and_the_scorecard_link_is_for_everyone(
    client, world: World
):
    client.force_login(world.bob)
    html = client.get(vendor_url(world.org, world.mine.vendor)).content.decode()
    edit = reverse("contracts:vendor_edit", args=[world.org.slug, world.mine.vendor.pk])
    assert f'href="{edit}"' in html
    assert "Add contact" in html
    assert 'id="scorecard-quarter"' in html
    client.force_login(world.vic)
    html = client.get(vendor_url(world.org, world.mine.vendor)).content.decode()
    assert f'href="{edit}"' not in html
    assert "Add contact" not in html
    assert 'id="scorecard-quarter"' in html
    assert world.mine.contact.email in html  # contacts stay


@pytest.mark.parametrize(
    ("persona", "vendor", "status"),
    [
        ("bob", "mine", 200),  # a member of the customer side
        ("lena", "theirs", 200),
        ("vic", "mine", 200),  # a vendor user: their own vendor's scorecard
        ("vic", "theirs", 404),  # another vendor of the same tenant
        ("olly", "mine", 404),
        ("charlie", "mine", 404),  # another tenant's admin
    ],
)
def test_who_sees_which_scorecard(client, world: World, persona, vendor, status):
    client.force_login(getattr(world, persona))
    side = getattr(world, vendor)
    assert client.get(vendor_url(world.org, side.vendor)).status_code == status


def test_another_tenants_vendor_is_not_found_even_by_its_own_admin_here(client, world: World):
    client.force_login(world.bob)
    assert client.get(vendor_url(world.org, world.foreign.vendor)).status_code == 404


def _fill(world: World, contracts: int, slas: int) -> None:
    org, vendor = world.org, world.mine.vendor
    created = []
    for _ in range(contracts):
        contract = factories.ContractFactory(vendor=vendor, organization=org, owner=world.bob)
        for _ in range(slas):
            sla = factories.ServiceLevelFactory(contract=contract, organization=org)
            terms = factories.TermsFactory(service_level=sla, organization=org)
            factories.CreditTierFactory(terms=terms, organization=org)
            for month in (2, 3):
                factories.ReadingFactory(
                    service_level=sla, organization=org, period_start=date(2026, month, 1),
                    value=Decimal("99.6"),
                )  # fmt: skip
            created.append(sla)
    engine.recompute_service_levels(
        organization_id=org.pk, service_level_ids=[s.pk for s in created], today=TODAY
    )


@pytest.mark.parametrize("contracts", [1, 5])
def test_the_scorecard_costs_the_same_queries_whatever_the_contracts_and_slas(
    client, world: World, contracts, django_assert_num_queries, at_today
):
    _fill(world, contracts, 3)
    client.force_login(world.bob)
    # 1 session, 2 user, 3 membership (tenant), 4 the vendor, 5 its contracts with their
    # worst colour, 6 their SLAs with health, 7 a year of statuses for the charts,
    # 8-15 governance health (reviews, action items, escalations, vendor warnings, SLAs,
    # relevance checks, readings' arrival, owners still here), 16 credits, 17 vendor
    # warnings (open, or followed by a breach), 18 open action items, 19 open escalations,
    # 20 contacts, 21 switcher memberships
    with django_assert_num_queries(21):
        response = client.get(vendor_url(world.org, world.mine.vendor))
    assert response.status_code == 200
    assert response.content.decode().count("data-trend=") == 1 + contracts * 3
