"""
The API's lists export like their pages: `?format=csv|xlsx` gives every row the
filters select (not one page) in the page export's columns, scoped like the
page; another `format` is DRF's (`json`, else a 404), an error stays JSON, and
the schema documents the parameter and the files.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scopes_disabled
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from contracts.models import Vendor
from reviews.models import ActionItem
from slagov.exports import XLSX_TYPE
from tests.conftest import World, token_client
from tests.export_files import column, csv_rows, grow, xlsx_as_csv
from tests.test_exports import _breach_in_december

NOW = datetime(2026, 2, 20, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def api_url(world: World, name: str) -> str:
    return reverse(f"api:{name}-list", kwargs={"org_slug": world.org.slug})


def page_rows(client, world: World, user, name: str, *args, **query) -> list[list[str]]:
    client.force_login(user)
    address = reverse(name, args=[world.org.slug, *args])
    return csv_rows(client.get(address, {**query, "format": "csv"}))


def api_rows(api, world: World, name: str, fmt: str = "csv", **query) -> list[list[str]]:
    response = api.get(api_url(world, name), {**query, "format": fmt})
    return csv_rows(response) if fmt == "csv" else xlsx_as_csv(response)


def _same_rows(page: list[list[str]], api: list[list[str]], *, ordered: bool) -> None:
    assert page[0] == api[0]
    assert (page[1:] if ordered else sorted(page[1:])) == (api[1:] if ordered else sorted(api[1:]))


# (page, its arguments, its query; API list, its query; whether both list in one order)
PAIRS = [
    ("contracts:portfolio", None, {}, "contract", {}, True),
    ("contracts:portfolio", None, {"vendor": "vendor"}, "contract", {"vendor": "vendor"}, True),
    ("contracts:vendors", None, {}, "vendor", {}, True),
    ("metrics:contract_statuses", "contract", {}, "status", {"contract": "contract"}, True),
    ("metrics:contract_statuses", "contract", {"colour": "late"}, "status",
     {"contract": "contract", "colour": "late"}, True),
    ("metrics:contract_readings", "contract", {}, "reading", {"contract": "contract"}, True),
    ("metrics:contract_credits", "contract", {}, "credit", {"contract": "contract"}, True),
    ("metrics:vendor_statuses", "vendor", {}, "status", {"vendor": "vendor"}, True),
    ("metrics:vendor_readings", "vendor", {}, "reading", {"vendor": "vendor"}, True),
    ("escalations:list", None, {"state": ""}, "escalation", {}, False),
    ("escalations:list", None, {"state": "open", "contract": "contract"}, "escalation",
     {"state": "open", "contract": "contract"}, False),
    ("reviews:my_actions", None, {"show": "all", "state": "all"}, "action-item", {}, False),
    ("reviews:my_actions", None, {"show": "mine", "state": "all"}, "action-item",
     {"owner": "me"}, False),
    ("reviews:calendar", None, {}, "review", {}, False),
    ("reviews:warnings", None, {"state": "all"}, "vendor-warning", {}, False),
    ("metrics:submissions", None, {}, "submission", {}, True),
]  # fmt: skip


def _ids(world: World, values: dict) -> dict:
    named = {"contract": world.mine.contract.pk, "vendor": world.mine.vendor.pk,
             "theirs": world.theirs.vendor.pk}  # fmt: skip
    return {key: named.get(value, value) for key, value in values.items()}


@pytest.mark.parametrize(("page", "of", "query", "api_name", "api_query", "ordered"), PAIRS)
@pytest.mark.parametrize("who", ["bob", "vic"])
def test_the_api_exports_the_rows_its_page_exports(
    client, world, page, of, query, api_name, api_query, ordered, who
):
    grow(world, 2)
    _breach_in_december(world)
    with scopes_disabled():
        ActionItem.objects.create(
            organization=world.org, contract=world.mine.contract, title="Bob's", owner=world.bob,
            owner_side="customer", due_date=NOW.date(), created_by=world.bob, created_at=NOW,
        )  # fmt: skip
    user = getattr(world, who)
    args = [_ids(world, {"x": of})["x"]] if of else []
    from_page = page_rows(client, world, user, page, *args, **_ids(world, query))
    api = token_client(world.org, user)
    from_api = api_rows(api, world, api_name, **_ids(world, api_query))
    _same_rows(from_page, from_api, ordered=ordered)
    assert len(from_api) > 1
    assert api_rows(api, world, api_name, "xlsx", **_ids(world, api_query)) == from_api


def test_a_vendor_token_exports_only_its_vendors_rows(world: World):
    grow(world, 2)
    olly = token_client(world.org, world.olly)
    for name, header in [("contract", "Vendor"), ("status", "Vendor"), ("reading", "Vendor"),
                         ("escalation", "Vendor"), ("action-item", "Vendor"),
                         ("vendor-warning", "Vendor"), ("submission", "Vendor"),
                         ("vendor", "Vendor")]:  # fmt: skip
        assert set(column(api_rows(olly, world, name), header)) == {"Vendor Theirs"}, name
    # Another vendor's contract named as a filter: nothing of it.
    mine = api_rows(olly, world, "status", contract=world.mine.contract.pk)
    assert mine[1:] == []


def test_the_export_is_every_filtered_row_not_one_page(world: World):
    grow(world, 3)
    api = token_client(world.org, world.bob)
    page = api.get(api_url(world, "contract"), {"limit": 1}).json()
    assert (page["count"], len(page["results"])) == (5, 1)
    rows = api_rows(api, world, "contract", limit=1, offset=3)
    assert len(rows) - 1 == 5


def test_another_format_is_drfs_json_or_a_404(world: World):
    api = token_client(world.org, world.bob)
    listing = api.get(api_url(world, "contract"), {"format": "json"})
    assert listing["Content-Type"] == "application/json"
    assert listing.json()["count"] == 2
    for fmt in ["pdf", "CSV", "xls"]:
        refused = api.get(api_url(world, "contract"), {"format": fmt})
        assert (refused.status_code, refused["Content-Type"]) == (404, "application/json")
    detail = reverse("api:contract-detail", kwargs={"org_slug": "acme",
                                                    "pk": world.mine.contract.pk})  # fmt: skip
    assert api.get(detail, {"format": "csv"}).status_code == 404  # one contract: no export


def test_an_error_while_exporting_is_json_that_names_the_field(world: World):
    api = token_client(world.org, world.bob)
    refused = api.get(api_url(world, "status"), {"format": "csv", "period_from": "2026-02-30"})
    assert (refused.status_code, refused["Content-Type"]) == (400, "application/json")
    assert list(refused.json()) == ["period_from"]
    refused = api.get(api_url(world, "escalation"), {"format": "xlsx", "level": "٣"})
    assert (refused.status_code, list(refused.json())) == (400, ["level"])


def test_outsiders_get_no_export(world: World):
    address = api_url(world, "contract")
    anonymous = APIClient().get(address, {"format": "csv"})
    assert (anonymous.status_code, anonymous["Content-Type"]) == (401, "application/json")
    # The other tenant's token, at this tenant's address.
    charlie = APIClient()
    charlie.credentials(HTTP_AUTHORIZATION="Token " + _key(world.other_org, world.charlie))
    assert charlie.get(address, {"format": "csv"}).status_code == 404
    charlie_session = APIClient()
    charlie_session.force_authenticate(world.charlie)
    assert charlie_session.get(address, {"format": "xlsx"}).status_code == 404


def _key(org, user) -> str:
    from slagov.models import Membership
    from slagov.services import api_token_create

    membership = Membership.objects.get(user=user, organization=org)
    return api_token_create(organization=org, actor=user, membership=membership, name="k")[1]


def test_formula_text_is_quoted_in_the_api_export_too(world: World):
    with scopes_disabled():
        Vendor.objects.filter(pk=world.mine.vendor.pk).update(name="=cmd|' /C calc'!A0")
    rows = api_rows(token_client(world.org, world.bob), world, "contract")
    assert column(rows, "Vendor")[0] == "'=cmd|' /C calc'!A0"


def test_the_schema_documents_format_and_the_files_for_each_exporting_list():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    prefix = "/api/v1/o/{org_slug}"
    exporting = {"/contracts/", "/vendors/", "/statuses/", "/readings/", "/credits/",
                 "/escalations/", "/reviews/", "/action-items/", "/vendor-warnings/",
                 "/submissions/", "/credit-ledger/", "/governance-health/"}  # fmt: skip
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        names = {p["name"]: p for p in get.get("parameters", [])}
        content = get["responses"].get("200", {}).get("content", {})
        if path.removeprefix(prefix) in exporting:
            assert names["format"]["schema"]["enum"] == ["csv", "json", "xlsx"], path
            assert content["text/csv"]["schema"]["type"] == "string", path
            assert content[XLSX_TYPE]["schema"] == {"type": "string", "format": "binary"}
            assert "application/json" in content, path
        else:
            assert "format" not in names, path
            assert "text/csv" not in content, path


API_EXPORTS = [
    # 1 membership (the tenant), 2 the contracts with vendor, owner and worst colour,
    # 3 their active SLAs with health
    ("contract", 3),
    # 1 membership, 2 the rows with what their columns read (a count annotated, a join)
    ("vendor", 2), ("status", 2), ("reading", 2), ("escalation", 2), ("review", 2),
    ("action-item", 2), ("vendor-warning", 2), ("submission", 2),
    # 1 membership, 2 the contracts, 3 their credits of every month
    ("credit", 3),
]  # fmt: skip


@pytest.mark.parametrize(("name", "queries"), API_EXPORTS)
@pytest.mark.parametrize("more", [0, 4])
def test_an_api_export_takes_the_same_queries_however_many_rows(
    world, django_assert_num_queries, name, queries, more
):
    grow(world, more)
    api = APIClient()
    api.force_authenticate(world.bob)
    with django_assert_num_queries(queries):
        response = api.get(api_url(world, name), {"format": "csv"})
    assert len(csv_rows(response)) >= (2 if more else 1)
