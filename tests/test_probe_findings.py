"""
Defects found by probing forms and the API as a careless or malicious
account manager would: each test sends the input that was accepted or broke.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from slagov.models import Membership
from slagov.services import api_token_create
from tests.conftest import World


def token_client(org, user) -> APIClient:
    membership = Membership.objects.get(user=user, organization=org)
    _, key = api_token_create(organization=org, actor=user, membership=membership, name="t")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.mark.parametrize("currency", ["1$", "e", "€€€", "ÄÖÜ"])
def test_api_refuses_a_currency_the_contract_form_refuses(world: World, currency):
    contract = world.mine.contract
    url = reverse("api:contract-detail", args=[world.org.slug, contract.pk])
    response = token_client(world.org, world.bob).patch(url, {"currency": currency}, format="json")
    assert response.status_code == 400
    assert response.json()["currency"] == ["Use a three-letter currency code, e.g. EUR."]
    with scopes_disabled():
        contract.refresh_from_db()
    assert contract.currency == "EUR"


def test_api_stores_a_currency_code_in_capitals_like_the_form(world: World):
    contract = world.mine.contract
    url = reverse("api:contract-detail", args=[world.org.slug, contract.pk])
    response = token_client(world.org, world.bob).patch(url, {"currency": " usd "}, format="json")
    assert response.status_code == 200
    assert response.json()["currency"] == "USD"
    with scopes_disabled():
        contract.refresh_from_db()
    assert contract.currency == "USD"


def test_contract_form_refuses_a_currency_in_letters_outside_a_to_z(world: World, client):
    contract = world.mine.contract
    client.force_login(world.bob)
    url = reverse("contracts:contract_edit", args=[world.org.slug, contract.pk])
    page = client.get(url)
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    data.update(currency="ÄÖÜ", vendor=contract.vendor_id, owner=data.get("owner") or "")
    data["vendor_contacts"] = [c.pk for c in data.get("vendor_contacts") or []]
    response = client.post(url, data)
    assert response.status_code in (200, 400)
    assert "Use a three-letter currency code" in response.content.decode()
    with scopes_disabled():
        contract.refresh_from_db()
    assert contract.currency == "EUR"
