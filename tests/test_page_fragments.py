"""
Parts of pages kept in the cache (`slagov.fragments`): the same HTML as rendered
afresh, another entry as soon as what they show changes, and never one tenant's
or vendor's for another.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from django import forms
from django.urls import reverse
from django.utils import translation
from django_scopes import scope

from contracts.models import Contract, Vendor
from metrics import engine
from slagov import fragments
from slagov.filters import LabelColumnsIterator, ModelChoiceByIdField
from tests import factories
from tests.conftest import World

DUMMY = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}


def _recompute(sla) -> None:
    engine.recompute_service_levels(
        organization_id=sla.organization_id, service_level_ids=[sla.pk], today=date(2026, 3, 15)
    )


def _page(client, world: World, contract) -> str:
    response = client.get(reverse("contracts:contract", args=[world.org.slug, contract.pk]))
    assert response.status_code == 200
    # What differs between any two responses: the CSP nonce and the CSRF token.
    html = response.content.decode()
    html = re.sub(r'nonce="[^"]*"', "", html)
    html = re.sub(r'"X-CSRFToken": "[^"]*"', "", html)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def _two_slas(world: World):
    contract = world.mine.contract
    second = factories.ServiceLevelFactory(contract=contract, organization=world.org, code="resp")
    factories.TermsFactory(service_level=second, organization=world.org)
    for month in (1, 2):
        factories.ReadingFactory(
            service_level=second, organization=world.org, period_start=date(2026, month, 1),
            value=Decimal("99.2"),
        )  # fmt: skip
    _recompute(second)
    return contract, second


def test_the_cached_contract_page_is_the_page_rendered_afresh(client, world: World, settings):
    contract, _ = _two_slas(world)
    client.force_login(world.bob)
    first = _page(client, world, contract)  # renders the charts and keeps them
    cached = _page(client, world, contract)  # from the cache
    settings.CACHES = DUMMY  # nothing kept: every part rendered on the request
    afresh = _page(client, world, contract)
    assert cached == first == afresh
    assert afresh.count('class="chart"') == 2  # one for each SLA
    assert "heat heat-" in afresh


def test_a_new_reading_shows_on_the_contract_page_at_once(client, world: World):
    contract, second = _two_slas(world)
    client.force_login(world.bob)
    before = _page(client, world, contract)
    assert "97.125" not in before
    factories.ReadingFactory(
        service_level=second, organization=world.org, period_start=date(2026, 3, 1),
        value=Decimal("97.125"),
    )  # fmt: skip
    _recompute(second)
    after = _page(client, world, contract)
    assert "97.125" in after  # in the values charted
    # A renamed SLA is renamed on its chart too.
    with scope(organization=world.org.pk):
        second.name = "Response within the hour"
        second.save()
    assert "resp · Response within the hour" in _page(client, world, contract)


def _sla_page(client, world: World, sla) -> str:
    response = client.get(reverse("metrics:sla", args=[world.org.slug, sla.pk]))
    assert response.status_code == 200
    html = re.sub(r'nonce="[^"]*"', "", response.content.decode())
    html = re.sub(r'"X-CSRFToken": "[^"]*"', "", html)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def test_the_cached_sla_chart_is_the_chart_rendered_afresh_and_follows_new_data(
    client, world: World, settings
):
    _, sla = _two_slas(world)
    client.force_login(world.bob)
    assert "97.125" not in _sla_page(client, world, sla)  # its chart is now in the cache
    factories.ReadingFactory(
        service_level=sla, organization=world.org, period_start=date(2026, 3, 1),
        value=Decimal("97.125"),
    )  # fmt: skip
    _recompute(sla)
    first = _sla_page(client, world, sla)
    figure = re.search(r'<script id="sla-figure"[^>]*>(.*?)</script>', first, re.S).group(1)
    assert "97.125" in figure  # drawn, not only listed in the history
    cached = _sla_page(client, world, sla)
    settings.CACHES = DUMMY
    assert cached == first == _sla_page(client, world, sla)
    assert 'data-figure="sla-figure"' in first


def test_the_charts_of_one_tenant_are_never_served_to_another(client, world: World):
    contract = world.mine.contract
    url = reverse("contracts:contract", args=[world.org.slug, contract.pk])
    client.force_login(world.bob)
    assert client.get(url).status_code == 200  # its charts are now in the cache
    # The same contract id under another organisation, or for another vendor: a 404.
    client.force_login(world.charlie)
    assert client.get(url).status_code == 404
    other = reverse("contracts:contract", args=[world.other_org.slug, contract.pk])
    assert client.get(other).status_code == 404
    client.force_login(world.olly)
    assert client.get(url).status_code == 404
    # The vendor's own user sees its contract, charted from its own entry.
    client.force_login(world.vic)
    assert client.get(url).status_code == 200
    # Keys differ by organisation, vendor scope and language, whatever the rest.
    keys = set()
    for org, vendor, language in [(1, None, "en"), (2, None, "en"), (1, 7, "en"), (1, None, "de")]:
        with translation.override(language):
            keys.add(
                fragments.fragment_key(
                    "contract-charts", organization_id=org, vendor_id=vendor, parts=(5,)
                )
            )
    assert len(keys) == 4


def test_filter_choices_read_as_values_are_djangos_choices(world: World):
    """LabelColumnsIterator answers what Django's iterator answers (labels by `__str__`)."""
    for reference, title in [("A&B", '<script>"x"</script>'), ("Ü-1", "Ünïcode"), ("z", "")]:
        factories.ContractFactory(
            vendor=world.mine.vendor, organization=world.org, reference=reference, title=title
        )
    with scope(organization=world.org.pk, vendor=None):
        for model in (Contract, Vendor):
            queryset = model.objects.order_by("pk")
            field = ModelChoiceByIdField(queryset=queryset, empty_label="All", null_label=None)
            django = forms.ModelChoiceField(queryset=queryset, empty_label="All")
            fast = [(str(v), label) for v, label in LabelColumnsIterator(field)]
            reference = [(str(v), label) for v, label in django.choices]
            assert fast == reference
            assert len(fast) == queryset.count() + 1
