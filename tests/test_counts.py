"""A count names what it counts: "5,700 tickets", on pages, in the API, in the clause."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from contracts.models import ServiceLevel
from metrics import engine
from tests import factories
from tests.test_bounds import _api, _errors, _terms_post, world_day  # noqa: F401

pytestmark = pytest.mark.usefixtures("world_day")


def _create(client, world, **fields):
    client.force_login(world.bob)
    post = {
        "code": "tickets",
        "name": "Ticket volume",
        "kind": "kpi",
        "unit": "count",
        "direction": "lower",
        "period": "monthly",
        "weight": "1",
        "is_active": "on",
        **_terms_post(target="900", minimum="1200", effective_from="2025-01-01"),
        **fields,
    }
    return client.post(
        reverse("contracts:sla_create", args=[world.org.slug, world.mine.contract.pk]), post
    )  # fmt: skip


def test_a_count_that_names_its_noun_reads_with_it_on_the_sla_page_and_in_the_api(client, world):
    response = _create(client, world, counts="  tickets ")
    assert response.status_code == 302, response.context["form"].errors
    with scopes_disabled():
        sla = ServiceLevel.objects.get(contract=world.mine.contract, code="tickets")
        assert sla.counts == "tickets"  # spaces trimmed
        factories.ReadingFactory(service_level=sla, period_start=date(2026, 1, 1),
                                 value=Decimal("5700"))  # fmt: skip
        engine.recompute(organization_id=world.org.pk, service_level_ids=[sla.pk])
    page = client.get(reverse("metrics:sla", args=[world.org.slug, sla.pk])).content.decode()
    assert "5,700 tickets" in page
    assert "measured monthly in tickets" in page
    row = _api(world).get(f"/api/v1/o/{world.org.slug}/slas/{sla.pk}/").json()
    assert (row["unit"], row["counts"]) == ("count", "tickets")


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"unit": "hours", "target": "4", "minimum": "8"}, "Only an SLA measured as a count"),
        ({"counts": "<script>"}, "in words"),
        ({"counts": "tickets2"}, "in words"),
        ({"counts": "x" * 41}, "40"),
    ],
)
def test_what_a_count_counts_is_words_and_only_for_a_count(client, world, fields, says):
    response = _create(client, world, **{"counts": "tickets", **fields})
    errors = _errors(response)
    assert says in errors["counts"][0]
    with scopes_disabled():
        created = ServiceLevel.objects.filter(contract=world.mine.contract, code="tickets")
        assert not created.exists()
