"""
The API's main lists read a page in constant queries, and their fast read path
(PreparedListSerializer, thresholds once per page, statuses walked SLA by SLA)
answers exactly what DRF's per-row path answers.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from contracts import terms as terms_rules
from contracts.api import ContractSerializer, ServiceLevelSerializer, ServiceLevelViewSet
from contracts.models import Contract, ServiceLevel, ServiceLevelTerms
from contracts.selectors import contracts_with_worst_colour
from escalations.api import EscalationSerializer
from escalations.models import Escalation
from metrics import engine, selectors
from metrics.api.credits import ContractCreditsSerializer, credits_rows
from metrics.api.readings import ReadingSerializer
from metrics.api.statuses import PeriodStatusSerializer, TrendSerializer
from metrics.models import SlaHealth
from metrics.selectors import credits_for
from slagov.tenancy import resolve_tenant
from tests import factories
from tests.conftest import World

TODAY = date(2026, 5, 3)
MONTHS = [date(2026, m, 1) for m in (1, 2, 3, 4)]


def _grow(world: World, contracts: int) -> None:
    """`contracts` more contracts of the vendor, two SLAs each, with readings, statuses, trends."""
    org = world.org
    ids = []
    for c in range(contracts):
        contract = factories.ContractFactory(vendor=world.mine.vendor, organization=org)
        for s in range(2):
            sla = factories.ServiceLevelFactory(contract=contract, organization=org)
            terms = factories.TermsFactory(
                service_level=sla, organization=org,
                improvement="absolute" if s else "none", improvement_rate=Decimal("0.01") * s,
            )  # fmt: skip
            factories.CreditTierFactory(terms=terms, organization=org)
            for i, month in enumerate(MONTHS):
                value = Decimal("99.95") - Decimal("0.2") * ((c + s + i) % 3)
                factories.ReadingFactory(
                    service_level=sla, organization=org, period_start=month, value=value
                )
            ids.append(sla.pk)
            with scopes_disabled():
                Escalation.objects.create(
                    organization=org, contract=contract, service_level=sla, level=1,
                    kind=Escalation.Kind.PERFORMANCE, reason="red", opened_at=timezone.now(),
                    due_by=timezone.now() + timedelta(hours=1 - 2 * s),
                )  # fmt: skip
    engine.recompute(organization_id=org.pk, service_level_ids=ids, today=TODAY)


def _get(world: World, name: str, user=None, **params) -> dict:
    client = APIClient()
    client.force_authenticate(user or world.bob)
    url = reverse(f"api:{name}-list", kwargs={"org_slug": world.org.slug})
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


# Per list: membership (the tenant), the count, then the page's own queries.
QUERIES = {
    "contract": 3,  # the contracts, each with its worst colour (a subquery)
    "sla": 5,  # the SLAs with contract and health, their terms, the terms' credit tiers
    "status": 5,  # the SLAs in order, their statuses counted, the page's statuses
    "escalation": 3,
    "trend": 3,
    "reading": 3,
    "credit": 4,  # the contracts, their credited statuses
}


@time_machine.travel(TODAY, tick=False)
@pytest.mark.parametrize("contracts", [1, 6])
@pytest.mark.parametrize("name", list(QUERIES))
def test_a_list_page_takes_the_same_queries_however_many_rows(
    world: World, contracts, name, django_assert_num_queries
):
    _grow(world, contracts)
    client = APIClient()
    client.force_authenticate(world.bob)
    url = reverse(f"api:{name}-list", kwargs={"org_slug": world.org.slug})
    with django_assert_num_queries(QUERIES[name]):
        response = client.get(url)
    assert response.status_code == 200
    assert response.json()["count"] >= contracts


def _plain(serializer_class, instances, context) -> list:
    """DRF's own per-row path: one serializer per instance (the way the lists read before)."""
    rows = [serializer_class(instance, context=context).data for instance in instances]
    return json.loads(JSONRenderer().render(rows))


@time_machine.travel(TODAY, tick=False)
@pytest.mark.parametrize("user", ["bob", "vic"])
def test_every_list_answers_what_the_per_row_path_answers(world: World, user):
    _grow(world, 4)
    member = getattr(world, user)
    tenant = resolve_tenant(member, world.org.slug)
    context = {"tenant": tenant}
    with scope(organization=world.org.pk, vendor=tenant.vendor_id):
        expected = {
            "contract": _plain(
                ContractSerializer,
                contracts_with_worst_colour()
                .select_related("vendor", "owner", "organization")
                .order_by("reference"),
                context,
            ),
            "sla": _plain(ServiceLevelSerializer, ServiceLevelViewSet().get_queryset(), context),
            "status": _plain(PeriodStatusSerializer, selectors.period_statuses(), context),
            "escalation": _plain(
                EscalationSerializer,
                Escalation.objects.select_related(
                    "contract", "service_level", "acknowledged_by"
                ).order_by("-opened_at"),
                context,
            ),
            "trend": _plain(
                TrendSerializer,
                SlaHealth.objects.select_related("service_level__contract").order_by(
                    "service_level__contract__reference", "service_level__code"
                ),
                context,
            ),
            "reading": _plain(ReadingSerializer, selectors.readings(), context),
        }
    for name, rows in expected.items():
        assert rows, name
        assert _get(world, name, member, limit=1000)["results"] == rows, name
    # A vendor's token doesn't see the customer's judgement of the contract.
    assert ("notes" in expected["contract"][0]) is (user == "bob")


@time_machine.travel(TODAY, tick=False)
def test_the_credit_list_answers_what_its_serializer_answers(world: World):
    _grow(world, 4)
    with scope(organization=world.org.pk, vendor=None):
        contracts = list(Contract.objects.order_by("reference"))
        credits = credits_for(contracts)
        data = [
            {"contract": c.pk, "reference": c.reference, "currency": c.currency,
             "months": credits[c.pk][0], "years": credits[c.pk][1]}
            for c in contracts
        ]  # fmt: skip
        expected = json.loads(
            JSONRenderer().render(ContractCreditsSerializer(data, many=True).data)
        )
    assert any(row["months"] for row in expected)
    assert credits_rows(contracts, credits) == expected
    assert _get(world, "credit", limit=1000)["results"] == expected


@time_machine.travel(TODAY, tick=False)
def test_a_page_of_statuses_is_the_slice_of_every_status_in_order(world: World):
    _grow(world, 5)
    rng = random.Random(15)
    with scope(organization=world.org.pk, vendor=None):
        everything = selectors.period_statuses()
        contract = Contract.objects.order_by("-reference").first()
        subsets = [
            (everything, False),
            (everything.filter(colour__in=["red", "yellow"]), True),
            (everything.filter(service_level__contract=contract), True),
            (everything.filter(period_start__gte=MONTHS[2]), True),
        ]
        for statuses, filtered in subsets:
            total = statuses.count()
            for _ in range(25):
                offset, limit = rng.randint(0, total + 2), rng.randint(1, 30)
                page = selectors.period_statuses_slice(statuses, offset, limit, filtered=filtered)
                assert page == list(statuses[offset : offset + limit]), (offset, limit)


@time_machine.travel(TODAY, tick=False)
def test_statuses_pages_cover_every_status_once(world: World):
    _grow(world, 3)
    seen = []
    offset = 0
    while True:
        page = _get(world, "status", offset=offset, limit=7)
        seen += [(r["service_level"], r["period_start"]) for r in page["results"]]
        if page["next"] is None:
            break
        offset += 7
    assert len(seen) == len(set(seen)) == page["count"]
    yellow = _get(world, "status", colour="yellow", limit=1000)
    assert {r["colour"] for r in yellow["results"]} == {"yellow"}
    assert yellow["count"] == len(yellow["results"])


def test_thresholds_for_a_page_equal_each_timeline_on_random_terms():
    rng = random.Random(7)
    slas, days = [], {}
    for pk in range(1, 301):
        unit = rng.choice(["percent", "minutes", "count"])
        direction = "higher" if unit == "percent" else "lower"
        start = date(2020, 1, 1) + timedelta(days=rng.randint(0, 2000))
        sla = ServiceLevel(
            pk=pk, unit=unit, direction=direction, contract=Contract(start_date=start)
        )
        sla.all_terms = []
        effective = start - timedelta(days=rng.randint(0, 60))
        for n in range(rng.randint(0, 3)):
            target = Decimal(rng.choice(["99.9", "99.5", "95", "10", "4"]))
            minimum = target - Decimal("0.5") if direction == "higher" else target + Decimal("2")
            sla.all_terms.append(
                ServiceLevelTerms(
                    pk=pk * 10 + n, effective_from=effective, direction=direction,
                    target=target, minimum=minimum,
                    improvement=rng.choice(["none", "relative", "absolute"]),
                    improvement_rate=Decimal(rng.choice(["0", "0.01", "0.5", "2"])),
                    improvement_bound=rng.choice([None, target]),
                )
            )  # fmt: skip
            effective += timedelta(days=rng.randint(30, 900))
        slas.append(sla)
        days[pk] = start + timedelta(days=rng.randint(-100, 3000))
    found = terms_rules.thresholds_for(slas, lambda sla: days[sla.pk])
    for sla in slas:
        timeline = terms_rules.TermsTimeline(
            sla.all_terms, sla.contract.start_date, sla.unit, with_tiers=False
        )
        reference = timeline.thresholds(days[sla.pk])
        assert found[sla.pk] == reference, sla.pk
