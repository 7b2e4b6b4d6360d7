"""
The credit ledger's page and API: who sees which entries (another tenant's
or another vendor's: 404), who may act (a vendor reads only), refusals as
400/409 with nothing changed, exports of exactly the filtered scoped rows
(formula-safe), and the query counts.
"""

from __future__ import annotations

import html
import io

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scopes_disabled
from openpyxl import load_workbook
from rest_framework.test import APIClient

from metrics.models import CreditEntry
from tests.conftest import World, token_client
from tests.ledger_world import FEB, MAR, NOW, credited, entry, entry_in_state
from tests.test_api_schema import assert_conforms

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(scope="module")
def openapi() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture
def ledger(world: World) -> World:
    """February credited for both vendors of the tenant and for the other tenant."""
    credited(world.mine, FEB)
    credited(world.theirs, FEB)
    credited(world.foreign, FEB)
    return world


def _page(world: World, **query) -> str:
    url = reverse("metrics:credit_ledger", kwargs={"org_slug": world.org.slug})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def _act(world: World, action: str, e: CreditEntry, org=None) -> str:
    return reverse(f"metrics:credit_{action}",
                   kwargs={"org_slug": (org or world.org).slug, "entry_id": e.pk})  # fmt: skip


def _api(world: World, name: str, org=None, **kwargs) -> str:
    return reverse(f"api:credit-ledger-{name}", kwargs={"org_slug": (org or world.org).slug,
                                                        **kwargs})  # fmt: skip


def _text(response) -> str:
    return html.unescape(response.content.decode())


# --- The page --------------------------------------------------------------------------------


def test_a_manager_sees_the_tenants_entries_with_totals_and_the_forms(client, ledger: World):
    client.force_login(ledger.bob)
    response = client.get(_page(ledger))
    assert response.status_code == 200
    text = _text(response)
    refs = {e.contract.reference for e in response.context["entries"]}
    assert refs == {ledger.mine.contract.reference, ledger.theirs.contract.reference}
    assessed = next(t for t in response.context["totals"] if t.state == "assessed")
    assert (assessed.count, assessed.totals) == (2, {"EUR": entry(ledger.mine, FEB).amount * 2})
    assert 'data-move="claim"' in text
    assert "2,000.00 EUR" in text


def test_a_vendor_user_reads_only_their_vendors_entries_without_forms(client, ledger: World):
    client.force_login(ledger.vic)
    response = client.get(_page(ledger))
    assert response.status_code == 200
    assert [e.contract_id for e in response.context["entries"]] == [ledger.mine.contract.pk]
    assert 'data-move="claim"' not in _text(response)
    assert ledger.theirs.contract.reference not in _text(response)


def test_the_nav_links_to_the_ledger(client, ledger: World):
    client.force_login(ledger.vic)
    response = client.get(reverse("contracts:portfolio", kwargs={"org_slug": ledger.org.slug}))
    assert f'href="{_page(ledger)}"' in response.content.decode()


def test_the_other_tenants_admin_gets_a_404(client, ledger: World):
    client.force_login(ledger.charlie)
    assert client.get(_page(ledger)).status_code == 404
    assert client.post(_act(ledger, "claim", entry(ledger.mine, FEB))).status_code == 404
    assert entry(ledger.mine, FEB).state == "assessed"


@pytest.mark.parametrize("who", ["olly", "charlie"])
def test_an_outsider_acting_on_an_entry_gets_a_404(client, ledger: World, who):
    client.force_login(getattr(ledger, who))
    org = ledger.other_org if who == "charlie" else ledger.org
    for action in ("claim", "apply", "waive"):
        response = client.post(_act(ledger, action, entry(ledger.mine, FEB), org=org),
                               {"invoice_reference": "X", "reason": "X"})  # fmt: skip
        assert response.status_code == 404
    assert entry(ledger.mine, FEB).state == "assessed"


def test_a_vendor_user_cannot_claim_their_own_credit(client, ledger: World):
    client.force_login(ledger.vic)
    assert client.post(_act(ledger, "claim", entry(ledger.mine, FEB))).status_code == 403
    assert entry(ledger.mine, FEB).state == "assessed"


def test_claim_apply_and_waive_as_plain_forms(client, ledger: World):
    client.force_login(ledger.bob)
    e = entry(ledger.mine, FEB)
    back = _page(ledger, state="claimed")
    response = client.post(_act(ledger, "claim", e), {"next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    again = client.post(_act(ledger, "claim", e), follow=True)  # a double submit
    assert "was already claimed" in _text(again)
    client.post(_act(ledger, "apply", e), {"invoice_reference": "INV-7"})
    assert (entry(ledger.mine, FEB).state, entry(ledger.mine, FEB).invoice_reference) == (
        "applied", "INV-7",
    )  # fmt: skip
    other = entry(ledger.theirs, FEB)
    client.post(_act(ledger, "waive", other), {"reason": "Outage caused by our change"})
    assert entry(ledger.theirs, FEB).waive_reason == "Outage caused by our change"


def test_a_refused_move_is_a_400_naming_the_problem_and_changes_nothing(client, ledger: World):
    client.force_login(ledger.bob)
    e = entry(ledger.mine, FEB)
    response = client.post(_act(ledger, "apply", e), {"invoice_reference": "INV-1"})
    assert response.status_code == 400
    assert "Claim this credit first" in _text(response)
    client.post(_act(ledger, "claim", e))
    blank = client.post(_act(ledger, "apply", e), {"invoice_reference": "  "})
    assert blank.status_code == 400
    assert "Give the invoice reference" in _text(blank)
    too_long = client.post(_act(ledger, "apply", e), {"invoice_reference": "X" * 101})
    assert too_long.status_code == 400
    assert "at most 100 characters" in _text(too_long)
    assert entry(ledger.mine, FEB).state == "claimed"


def test_htmx_gets_the_row_again(client, ledger: World):
    client.force_login(ledger.bob)
    e = entry(ledger.mine, FEB)
    response = client.post(_act(ledger, "claim", e), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    text = _text(response)
    assert text.lstrip().startswith(f'<tr id="credit-{e.pk}"')
    assert 'data-state="claimed"' in text
    refused = client.post(_act(ledger, "claim", entry(ledger.mine, FEB)), HTTP_HX_REQUEST="true")
    assert refused.status_code == 200  # a repeat: no error
    waived = client.post(_act(ledger, "waive", e), {"reason": ""}, HTTP_HX_REQUEST="true")
    assert waived.status_code == 400
    assert "Say why the credit is waived" in _text(waived)


@pytest.mark.parametrize(
    ("query", "field"),
    [({"month_from": "2026-13"}, "month_from"), ({"month_to": "٢٠٢٦-01"}, "month_to"),
     ({"month_from": "0001-01"}, "month_from"), ({"contract": "99999999999999999999"}, "contract"),
     ({"state": "paid"}, "state")],
)  # fmt: skip
def test_an_unreadable_filter_is_a_400_naming_it(client, ledger: World, query, field):
    client.force_login(ledger.bob)
    response = client.get(_page(ledger, **query))
    assert response.status_code == 400
    assert field in response.context["filter"].form.errors
    export = client.get(_page(ledger, format="csv", **query))
    assert export.status_code == 400


def test_the_filters_narrow_the_list(client, ledger: World):
    credited(ledger.mine, MAR)
    entry_in_state(ledger.theirs, MAR, "claimed", ledger.bob)
    client.force_login(ledger.bob)
    by_month = client.get(_page(ledger, month_from="2026-03", month_to="2026-03"))
    assert {(e.contract_id, e.month) for e in by_month.context["entries"]} == {
        (ledger.mine.contract.pk, MAR), (ledger.theirs.contract.pk, MAR),
    }  # fmt: skip
    by_state = client.get(_page(ledger, state="claimed"))
    assert [e.contract_id for e in by_state.context["entries"]] == [ledger.theirs.contract.pk]
    by_vendor = client.get(_page(ledger, vendor=ledger.mine.vendor.pk))
    assert {e.contract_id for e in by_vendor.context["entries"]} == {ledger.mine.contract.pk}


# --- Exports ---------------------------------------------------------------------------------


def test_the_csv_export_holds_only_the_filtered_scoped_rows_formula_safe(client, ledger: World):
    with scopes_disabled():
        ledger.mine.contract.reference = '=HYPERLINK("http://x.example","y")'
        ledger.mine.contract.save()
    credited(ledger.mine, MAR)
    client.force_login(ledger.vic)
    response = client.get(_page(ledger, format="csv", month_from="2026-02", month_to="2026-02"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Contract,Vendor,Month,Currency,Amount,State")
    assert lines[1:] == [
        """"'=HYPERLINK(""http://x.example"",""y"")",Vendor Mine,2026-02-01,EUR,1000,"""
        """Assessed,1000,2026-05-29,,,,,,,"""
    ]


def test_the_xlsx_export_has_typed_cells(client, ledger: World):
    client.force_login(ledger.bob)
    response = client.get(_page(ledger, format="xlsx", state="assessed"))
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 2
    assert {r[0] for r in rows} == {ledger.mine.contract.reference,
                                    ledger.theirs.contract.reference}  # fmt: skip
    assert all(r[4] == 1000 for r in rows)


# --- Query counts ----------------------------------------------------------------------------


@pytest.mark.parametrize("months", [1, 4])
def test_the_page_query_count_does_not_grow_with_entries(
    client, world: World, months, django_assert_num_queries
):
    from datetime import date

    credited(world.mine, *[date(2026, m, 1) for m in range(1, 1 + months)])
    client.force_login(world.bob)
    # 1 session, 2 user, 3 membership (tenant), 4 the entries with contract, vendor and the
    # people who acted, 5 their events, 6 the totals, 7 switcher memberships, 8 the vendors
    # and 9 the contracts to filter by
    with django_assert_num_queries(9):
        response = client.get(_page(world))
    assert len(response.context["entries"]) == months


# --- API -------------------------------------------------------------------------------------


def test_the_api_lists_a_vendors_own_entries_and_404s_anothers(openapi, ledger: World):
    vic = token_client(ledger.org, ledger.vic)
    response = vic.get(_api(ledger, "list"))
    assert response.status_code == 200
    assert [r["contract"] for r in response.json()["results"]] == [ledger.mine.contract.pk]
    assert_conforms(openapi, "/credit-ledger/", "get", response)
    assert vic.get(_api(ledger, "detail", pk=entry(ledger.theirs, FEB).pk)).status_code == 404
    mine = vic.get(_api(ledger, "detail", pk=entry(ledger.mine, FEB).pk))
    assert [e["kind"] for e in mine.json()["events"]] == ["assessed"]
    assert_conforms(openapi, "/credit-ledger/{id}/", "get", mine)
    charlie = token_client(ledger.other_org, ledger.charlie)
    assert charlie.get(_api(ledger, "list")).status_code == 404
    assert charlie.post(_api(ledger, "claim", pk=entry(ledger.mine, FEB).pk)).status_code == 404
    assert vic.post(_api(ledger, "claim", pk=entry(ledger.mine, FEB).pk)).status_code == 403
    olly = token_client(ledger.org, ledger.olly)
    assert olly.post(_api(ledger, "claim", pk=entry(ledger.mine, FEB).pk)).status_code == 404
    assert entry(ledger.mine, FEB).state == "assessed"


def test_the_api_moves_an_entry_and_answers_409_for_a_forbidden_move(openapi, ledger: World):
    bob = token_client(ledger.org, ledger.bob)
    pk = entry(ledger.mine, FEB).pk
    early = bob.post(_api(ledger, "apply", pk=pk), {"invoice_reference": "INV-3"}, format="json")
    assert early.status_code == 409
    assert_conforms(openapi, "/credit-ledger/{id}/apply/", "post", early)
    claimed = bob.post(_api(ledger, "claim", pk=pk))
    assert claimed.status_code == 200
    assert claimed.json()["state"] == "claimed"
    assert_conforms(openapi, "/credit-ledger/{id}/claim/", "post", claimed)
    assert bob.post(_api(ledger, "claim", pk=pk)).status_code == 200  # a retry: no change
    blank = bob.post(_api(ledger, "apply", pk=pk), {"invoice_reference": ""}, format="json")
    assert blank.status_code == 400
    assert "invoice_reference" in blank.json()
    long = bob.post(_api(ledger, "apply", pk=pk), {"invoice_reference": "X" * 101}, format="json")
    assert long.status_code == 400
    assert "invoice_reference" in long.json()
    applied = bob.post(_api(ledger, "apply", pk=pk), {"invoice_reference": "INV-3"}, format="json")
    assert (applied.json()["state"], applied.json()["invoice_reference"]) == ("applied", "INV-3")
    waive = bob.post(_api(ledger, "waive", pk=pk), {"reason": "late"}, format="json")
    assert waive.status_code == 409
    assert entry(ledger.mine, FEB).state == "applied"


@pytest.mark.parametrize("pk", ["٣", "99999999999999999999", "0"])
def test_the_api_404s_ids_that_name_no_entry(ledger: World, pk):
    bob = token_client(ledger.org, ledger.bob)
    url = _api(ledger, "list") + f"{pk}/"
    assert bob.get(url).status_code == 404


def test_the_api_exports_the_filtered_list(ledger: World):
    bob = token_client(ledger.org, ledger.bob)
    response = bob.get(_api(ledger, "list"), {"format": "csv", "vendor": ledger.theirs.vendor.pk})
    assert response.status_code == 200
    lines = response.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2
    assert lines[1].startswith(ledger.theirs.contract.reference + ",Vendor Theirs,2026-02-01")
    xlsx = bob.get(_api(ledger, "list"), {"format": "xlsx"})
    assert xlsx.status_code == 200
    assert len(list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows())) == 3


@pytest.mark.parametrize("months", [1, 4])
def test_the_api_list_query_count_is_constant(world: World, months, django_assert_num_queries):
    from datetime import date

    credited(world.mine, *[date(2026, m, 1) for m in range(1, 1 + months)])
    api = APIClient()
    api.force_authenticate(world.bob)
    # 1 membership (tenant), 2 count for pagination, 3 the entries with contract, vendor
    # and the people who acted
    with django_assert_num_queries(3):
        response = api.get(_api(world, "list"))
    assert response.json()["count"] == months


# --- What the lead wires into other pages ----------------------------------------------------


def test_the_contract_page_shows_each_months_cap_and_headroom(client, ledger: World):
    client.force_login(ledger.bob)
    page = client.get(
        reverse("contracts:contract", args=[ledger.org.slug, ledger.mine.contract.pk])
    )
    credits = page.content.decode().split('id="credits"')[1].split("</table>")[0]
    # Cap 2,400 (12 % of 20,000), credited 1,000: 1,400 left under the cap.
    assert '<td class="right">2,400</td><td class="right">1,400</td>' in credits


def test_the_unclaimed_partial_renders_the_summary(rf, ledger: World):
    from django.template.loader import render_to_string

    from metrics.ledger import unclaimed_summary
    from tests.ledger_world import TODAY

    with scopes_disabled():
        summary = unclaimed_summary(organization_id=ledger.org.pk, today=TODAY)
    text = html.unescape(
        render_to_string("metrics/_unclaimed_credits.html", {"unclaimed": summary,
                                                             "org": ledger.org})
    )  # fmt: skip
    # February ended 71 days before 10 May: both of the tenant's credits are 61-90 days old,
    # and February's claim window closes on 29 May.
    assert '<td>61-90 days</td><td class="right">2</td>' in " ".join(text.split())
    assert "2,000.00 EUR" in text
    assert "claim by 29 May 2026 (19 days left)" in text


def test_a_backwards_month_range_is_refused_naming_the_field(client, world):
    from tests.conftest import token_client as _token

    api = _token(world.org, world.bob)
    url = reverse("api:credit-ledger-list", args=[world.org.slug])
    response = api.get(url, {"month_from": "2026-12", "month_to": "2026-01"})
    assert response.status_code == 400
    assert "month_to" in response.json()
    client.force_login(world.bob)
    backwards = {"month_from": "2026-12", "month_to": "2026-01", "format": "csv"}
    page = client.get(reverse("metrics:credit_ledger", args=[world.org.slug]), backwards)
    assert page.status_code == 400
    assert b"month_to" in page.content
