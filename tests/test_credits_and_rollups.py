"""Credits capped by the at-risk amount, totals per contract year; roll-ups; the API reads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from contracts.models import ServiceLevel
from metrics import engine
from metrics.headroom import headroom
from metrics.selectors import contract_credits, rollup
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db


def _sla(contract, code, tiers=(("99.9", "10"),), kind="sla"):
    sla = factories.ServiceLevelFactory(
        contract=contract, organization=contract.organization, code=code, kind=kind
    )
    terms = factories.TermsFactory(service_level=sla, organization=sla.organization)
    for level, pct in tiers:
        factories.CreditTierFactory(
            terms=terms,
            organization=sla.organization,
            worse_than=Decimal(level),
            percent=Decimal(pct),
        )
    return sla


def client_for(contract):
    from django.test import Client

    manager = factories.UserFactory()
    factories.MembershipFactory(organization=contract.organization, user=manager)
    client = Client()
    client.force_login(manager)
    return client


def test_credits_are_capped_per_month_and_totalled_per_contract_year(db):
    contract = factories.ContractFactory(
        start_date=date(2025, 7, 1),
        end_date=date(2027, 6, 30),
        annual_value=Decimal("120000"),
        at_risk_percent=Decimal("12"),
    )  # monthly charge 10,000; at most 1,200 credited a month
    a, b = _sla(contract, "a"), _sla(contract, "b")
    kpi = _sla(contract, "k", kind="kpi")
    for sla, month, value in [
        (a, date(2026, 5, 1), "99.0"),
        (b, date(2026, 5, 1), "99.0"),
        (a, date(2026, 7, 1), "99.0"),
        (kpi, date(2026, 7, 1), "10"),
    ]:
        factories.ReadingFactory(
            service_level=sla,
            organization=sla.organization,
            period_start=month,
            value=Decimal(value),
        )
    engine.recompute(
        organization_id=contract.organization_id,
        service_level_ids=[a.pk, b.pk, kpi.pk],
        today=date(2026, 9, 1),
    )
    with scopes_disabled():
        months, years = contract_credits(contract)
    may, july = months
    assert (may.assessed, may.credited, may.capped) == (Decimal("2000"), Decimal("1200"), True)
    assert (july.assessed, july.credited) == (Decimal("1000"), Decimal("1000"))  # KPI: none
    assert [(y.year, y.credited) for y in years] == [(1, Decimal("1200")), (2, Decimal("1000"))]
    page = client_for(contract).get(
        reverse("contracts:contract", args=[contract.organization.slug, contract.pk])
    )
    credits = page.content.decode().split('id="credits"')[1].split("</table>")[0]
    assert "a 1,000, b 1,000" in credits
    assert '<strong>1,200</strong> <span class="muted">(cap)</span>' in credits


def test_rollup_counts_worst_and_weighted_score(db):
    contract = factories.ContractFactory()
    slas = []
    for colour, weight in [("green", 3), ("yellow", 1), ("red", 1), ("late", 1)]:
        sla = factories.ServiceLevelFactory(
            contract=contract, organization=contract.organization, weight=weight
        )
        factories.SlaHealthFactory(service_level=sla, organization=sla.organization, colour=colour)
        with scopes_disabled():
            slas.append(ServiceLevel.objects.select_related("health").get(pk=sla.pk))
    result = rollup(slas)
    assert result.worst == "red"
    assert result.counts["late"] == 1
    assert result.score == round((3 * 100 + 50 + 0) / 5)  # late doesn't score


def test_headroom_and_downtime_budget_of_a_30_day_month():
    room = headroom(
        value=Decimal("99.95"),
        target=Decimal("99.9"),
        minimum=Decimal("99.5"),
        direction="higher",
        measures_time=True,
        period_start=date(2026, 11, 1),
    )
    assert room.to_yellow == Decimal("0.05")
    assert room.to_red == Decimal("0.45")
    assert room.share_to_yellow == Decimal("0.125")
    assert room.downtime.minutes_in_period == 43200
    assert room.downtime.allowed_at_target == Decimal("43.2")  # 99.9 % of a 30-day month
    assert room.downtime.used == Decimal("21.6")
    lower = headroom(
        value=Decimal("9"), target=Decimal("4"), minimum=Decimal("8"), direction="lower"
    )
    assert (lower.to_yellow, lower.to_red) == (Decimal("-5"), Decimal("-1"))


def _api(world: World, user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_status_api_filters_by_colour_and_period_and_hides_other_vendors(world: World):
    factories.ReadingFactory(
        service_level=world.mine.sla,
        organization=world.org,
        period_start=date(2026, 2, 1),
        value=Decimal("99.0"),
    )
    engine.recompute(
        organization_id=world.org.pk, service_level_ids=[world.mine.sla.pk], today=date(2026, 3, 3)
    )
    url = reverse("api:status-list", kwargs={"org_slug": world.org.slug})
    red = _api(world, world.vic).get(url, {"colour": "red"}).json()["results"]
    assert [(r["sla"], r["period"], r["colour"]) for r in red] == [("avail", "2026-02", "red")]
    everything = _api(world, world.vic).get(url, {"period_from": "2025-01-01"}).json()
    assert {r["contract"] for r in everything["results"]} == {world.mine.contract.pk}


@time_machine.travel(date(2026, 3, 3), tick=False)
def test_trend_and_credits_api(world: World):
    sla = world.mine.sla
    for month, value in [(2, "99.91"), (3, "99.8")]:
        factories.ReadingFactory(
            service_level=sla,
            organization=world.org,
            period_start=date(2025, month, 1),
            value=Decimal(value),
        )
    engine.recompute(organization_id=world.org.pk, service_level_ids=[sla.pk])
    trend = (
        _api(world, world.bob)
        .get(reverse("api:trend-detail", kwargs={"org_slug": world.org.slug, "pk": sla.pk}))
        .json()
    )
    assert trend["colour"] == "green"
    assert trend["latest_period"] == "2026-01-01"  # February is not due until 5 March
    assert "headroom" in trend
    credits = (
        _api(world, world.bob)
        .get(
            reverse("api:credit-list", kwargs={"org_slug": world.org.slug}),
            {"contract": world.mine.contract.pk},
        )
        .json()["results"]
    )
    assert credits[0]["reference"] == world.mine.contract.reference
    assert credits[0]["months"][0]["month"] == "2025-03-01"
    assert Decimal(credits[0]["months"][0]["credited"]) == Decimal("1000.00")  # 5 % of 20,000
