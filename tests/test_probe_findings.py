"""
Defects found by probing forms and the API as a careless or malicious
account manager would: each test sends the input that was accepted or broke.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from tests.conftest import World, token_client


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


def test_a_double_submitted_new_vendor_is_a_field_error_not_a_server_error(world: World):
    """Two submits of the same new vendor both pass the form's check; the second
    save loses the race on the unique name and must say so, not answer 500."""
    from django.core.exceptions import ValidationError

    from contracts import services
    from contracts.models import Vendor

    data = {"name": "Twice Ltd", "website": "", "description": ""}
    with scopes_disabled():
        services.vendor_save(organization=world.org, actor=world.bob, data=data)
        with pytest.raises(ValidationError) as raised:
            services.vendor_save(organization=world.org, actor=world.bob, data=dict(data))
        assert raised.value.messages
        assert Vendor.objects.filter(organization=world.org, name="Twice Ltd").count() == 1


def test_a_double_submitted_new_contract_is_a_field_error_not_a_server_error(world: World):
    from django.core.exceptions import ValidationError

    from contracts import services

    with scopes_disabled():
        existing = world.mine.contract
        data = {
            field: getattr(existing, field)
            for field in ("title", "vendor", "category", "annual_value", "currency",
                          "start_date", "end_date", "owner", "review_cadence",
                          "submission_deadline_days", "at_risk_percent")
        }  # fmt: skip
        data["reference"] = existing.reference
        with pytest.raises(ValidationError):
            services.contract_save(organization=world.org, actor=world.bob, data=data)


def test_resolving_an_escalation_twice_at_once_resolves_it_once(world: World, client):
    """A double submit of "Resolve": the second request loaded the escalation while
    it was still open; it must not write a second resolution over the first."""
    from django.core.exceptions import ValidationError

    from escalations import services
    from escalations.models import Escalation, EscalationEvent
    from slagov.tenancy import resolve_tenant

    escalation = world.mine.escalation
    with scopes_disabled():
        stale = Escalation.objects.get(pk=escalation.pk)
    client.force_login(world.bob)
    url = reverse("escalations:resolve", args=[world.org.slug, escalation.pk])
    assert client.post(url, {"note": "first"}).status_code == 302
    with scopes_disabled():
        tenant = resolve_tenant(world.alice, world.org.slug)
        with pytest.raises(ValidationError):
            services.escalation_resolve(
                escalation=stale, actor=world.alice, note="second", tenant=tenant
            )
        escalation.refresh_from_db()
        resolved = EscalationEvent.objects.filter(
            escalation=escalation, kind=EscalationEvent.Kind.RESOLVED
        )
        assert resolved.count() == 1
    assert escalation.resolution_note == "first"
    assert escalation.resolved_by == world.bob


def test_the_contract_forms_contact_picker_lists_only_the_contracts_vendors_contacts(
    world: World, client
):
    contract = world.mine.contract
    client.force_login(world.bob)
    url = reverse("contracts:contract_edit", args=[world.org.slug, contract.pk])
    page = client.get(url)
    offered = set(page.context["form"].fields["vendor_contacts"].queryset)
    assert offered == {world.mine.contact}  # not the other vendor's, nor another tenant's
    html = page.content.decode()
    assert world.mine.contact.email in html
    assert world.theirs.contact.email not in html
    # Posting another vendor's contact is a field error that says why; nothing is saved.
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    data.update(vendor=contract.vendor_id, owner=data.get("owner") or "",
                vendor_contacts=[world.theirs.contact.pk])  # fmt: skip
    response = client.post(url, data)
    assert response.status_code in (200, 400)
    assert "Pick contacts of the contract&#x27;s vendor only." in response.content.decode()
    with scopes_disabled():
        assert list(contract.vendor_contacts.all()) == []
    # A new contract for a chosen vendor (?vendor=) offers that vendor's contacts.
    new = client.get(reverse("contracts:contract_create", args=[world.org.slug]),
                     {"vendor": world.theirs.vendor.pk})  # fmt: skip
    assert set(new.context["form"].fields["vendor_contacts"].queryset) == {world.theirs.contact}


def test_the_terms_form_prefills_whole_numbers_as_written_never_in_exponent_form(
    world: World, client
):
    sla = world.mine.sla
    with scopes_disabled():
        terms = world.mine.terms
        terms.target, terms.minimum = Decimal("100"), Decimal("99.500000")
        terms.improvement, terms.improvement_rate = "relative", Decimal("10.000000")
        terms.save()
        terms.credit_tiers.update(worse_than=Decimal("90.000000"), percent=Decimal("10.00"))
    client.force_login(world.bob)
    html = client.get(reverse("contracts:terms_create", args=[world.org.slug, sla.pk])).content
    html = html.decode()
    assert 'name="target" value="100"' in html
    assert 'name="minimum" value="99.5"' in html
    assert 'name="improvement_rate" value="10"' in html
    assert 'value="90"' in html  # the credit tier's level
    assert "E+" not in html
