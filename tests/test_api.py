"""The REST API: same visibility as the pages, token authentication, OpenAPI docs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from contracts.models import Contract
from slagov.models import ApiToken, Membership
from slagov.services import api_token_create, api_token_revoke
from tests import factories
from tests.conftest import World


def _token_client(world: World, user) -> APIClient:
    membership = Membership.objects.get(user=user, organization=world.org)
    _, key = api_token_create(
        organization=world.org, actor=world.alice, membership=membership, name="test"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _url(world: World, name: str, **kwargs) -> str:
    return reverse(f"api:{name}", kwargs={"org_slug": world.org.slug, **kwargs})


def test_vendor_token_lists_only_its_own_contracts(world: World):
    client = _token_client(world, world.vic)
    response = client.get(_url(world, "contract-list"))
    assert response.status_code == 200
    refs = [c["reference"] for c in response.json()["results"]]
    assert refs == [world.mine.contract.reference]
    other = client.get(_url(world, "contract-detail", pk=world.theirs.contract.pk))
    assert other.status_code == 404


def test_token_is_good_for_its_own_organisation_only(world: World):
    factories.MembershipFactory(organization=world.other_org, user=world.bob)
    client = _token_client(world, world.bob)
    url = reverse("api:contract-list", kwargs={"org_slug": world.other_org.slug})
    assert client.get(url).status_code == 404


def test_revoked_token_no_longer_authenticates(world: World):
    membership = Membership.objects.get(user=world.bob, organization=world.org)
    token, key = api_token_create(
        organization=world.org, actor=world.alice, membership=membership, name="ci"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(_url(world, "vendor-list")).status_code == 200
    api_token_revoke(organization=world.org, actor=world.alice, token=token)
    assert client.get(_url(world, "vendor-list")).status_code == 401
    # Only a digest is stored: nothing in the database holds the key itself.
    token.refresh_from_db()
    assert key not in {token.key_hash, token.key_prefix, token.name}
    assert token.key_hash == ApiToken.hash_key(key)


def test_account_manager_creates_contract_vendor_user_cannot(world: World):
    payload = {
        "reference": "API-1",
        "title": "Via API",
        "vendor": world.mine.vendor.pk,
        "category": "cloud",
        "annual_value": "90000",
        "currency": "EUR",
        "start_date": "2026-01-01",
        "end_date": "2027-12-31",
    }
    denied = _token_client(world, world.vic).post(_url(world, "contract-list"), payload)
    assert denied.status_code == 403
    created = _token_client(world, world.bob).post(_url(world, "contract-list"), payload)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["effective_mode"] == "proactive"
    assert body["owner"] == "bob"
    with scopes_disabled():
        assert Contract.objects.get(reference="API-1").organization == world.org


def test_contract_of_another_vendor_is_not_a_valid_vendor_choice_across_tenants(world: World):
    payload = {
        "reference": "API-2",
        "title": "x",
        "vendor": world.foreign.vendor.pk,
        "category": "cloud",
        "annual_value": "1",
        "currency": "EUR",
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
    }
    response = _token_client(world, world.bob).post(_url(world, "contract-list"), payload)
    assert response.status_code == 400
    assert "vendor" in response.json()


@time_machine.travel(date(2026, 11, 25), tick=False)
def test_sla_shows_thresholds_in_force_after_improvement(world: World):
    sla = world.mine.sla
    with scopes_disabled():
        sla.terms.update(improvement="absolute", improvement_rate=Decimal("0.05"))
    response = _token_client(world, world.lena).get(_url(world, "sla-detail", pk=sla.pk))
    body = response.json()
    # Contract from 2025-01-01; today (2026-11) is contract year 2: one step.
    in_force = body["thresholds_in_force"]
    assert Decimal(in_force["target"]) == Decimal("99.95")
    assert Decimal(in_force["minimum"]) == Decimal("99.55")
    assert body["terms"][0]["credit_tiers"][0]["percent"] == "5.00"


def test_readings_filter_by_contract_and_period_range(world: World):
    sla = world.mine.sla
    for month in (2, 3, 4):
        factories.ReadingFactory(
            service_level=sla, organization=world.org, period_start=date(2026, month, 1)
        )
    client = _token_client(world, world.bob)
    response = client.get(
        _url(world, "reading-list"),
        {
            "contract": world.mine.contract.pk,
            "period_from": "2026-02-01",
            "period_to": "2026-03-31",
        },
    )
    periods = [r["period"] for r in response.json()["results"]]
    assert periods == ["2026-02", "2026-03"]


@pytest.mark.parametrize("contracts", [1, 6])
def test_contract_list_query_count_is_constant(world: World, contracts, django_assert_num_queries):
    for _ in range(contracts):
        factories.ContractFactory(vendor=world.mine.vendor, organization=world.org)
    client = APIClient()
    client.force_authenticate(world.bob)
    # 1 membership (tenant), 2 count for pagination, 3 contracts with worst colour
    with django_assert_num_queries(3):
        assert client.get(_url(world, "contract-list")).status_code == 200


def test_openapi_schema_and_docs_are_served_without_internet(client, world: World):
    client.force_login(world.bob)
    schema = client.get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/o/{org_slug}/contracts/" in schema.content.decode()
    docs = client.get(reverse("api-docs")).content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs
    assert "cdn" not in docs.lower()


def test_vendor_creates_own_token_in_the_app_and_admin_revokes_it(client, world: World):
    client.force_login(world.vic)
    membership = Membership.objects.get(user=world.vic)
    page = client.post(
        reverse("tokens", args=[world.org.slug]), {"name": "export", "membership": membership.pk}
    )
    key = page.context["new_key"]
    assert key.startswith("slg_")
    assert key in page.content.decode()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get(_url(world, "contract-list")).json()["count"] == 1
    # Another member's membership is not a choice for a vendor user.
    other = Membership.objects.get(user=world.bob)
    refused = client.post(
        reverse("tokens", args=[world.org.slug]), {"name": "x", "membership": other.pk}
    )
    assert "membership" in refused.context["form"].errors
    token = membership.tokens.get(name="export")
    client.force_login(world.alice)
    client.post(reverse("token_revoke", args=[world.org.slug, token.pk]))
    assert api.get(_url(world, "contract-list")).status_code == 401


def test_schema_generates_without_warnings():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
