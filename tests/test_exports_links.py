"""
The export links on the pages (the filters kept), and what every page export
promises whatever the data: the same queries for ten rows as for one, the same
file when asked again, a 404 or a 400 for ids that name nothing.
"""

from __future__ import annotations

import html

import pytest

from tests.conftest import World
from tests.export_files import csv_rows, grow
from tests.test_exports import _clock, as_, export, url  # noqa: F401 (_clock: the fixture)

# --- The links on the pages -------------------------------------------------------------------


def _links(response) -> list[str]:
    """The addresses of the page's export links (`_export_links.html`), in order."""
    text = html.unescape(response.content.decode())
    blocks = [part.split("</p>", 1)[0] for part in text.split('<p class="export')[1:]]
    return [link.split('"', 1)[0] for block in blocks for link in block.split('href="')[1:]]


def test_each_list_page_links_its_export_with_its_filters(client, world: World):
    as_(client, world.bob)
    vendor = world.theirs.vendor.pk
    portfolio = client.get(url(world, "contracts:portfolio", vendor=vendor, q="x"))
    assert _links(portfolio) == [
        f"/o/acme/?vendor={vendor}&q=x&format=csv",
        f"/o/acme/?vendor={vendor}&q=x&format=xlsx",
        # The same contracts' governance health (reviews.api_health), the filters kept.
        f"/api/v1/o/acme/governance-health/?vendor={vendor}&q=x&format=csv",
        f"/api/v1/o/acme/governance-health/?vendor={vendor}&q=x&format=xlsx",
    ]
    partial = client.get(url(world, "contracts:portfolio", vendor=vendor), HTTP_HX_REQUEST="true")
    assert _links(partial)[0] == f"/o/acme/?vendor={vendor}&format=csv"
    contract = world.mine.contract.pk
    for name, query in [
        ("escalations:list", {"state": "resolved", "level": 1}),
        ("reviews:my_actions", {"show": "all", "state": "closed"}),
        ("reviews:warnings", {"state": "closed"}),
        ("reviews:calendar", {"contract": contract}),
    ]:
        expected = url(world, name, **query, format="csv")
        assert _links(client.get(url(world, name, **query)))[0] == expected, name
    assert _links(client.get(url(world, "contracts:vendors")))[0] == "/o/acme/vendors/?format=csv"
    assert _links(client.get(url(world, "metrics:submissions")))[0] == (
        "/o/acme/submissions/?format=csv"
    )


def test_the_contract_vendor_and_sla_pages_link_their_exports(client, world: World):
    as_(client, world.bob)
    contract = world.mine.contract.pk
    links = _links(client.get(url(world, "contracts:contract", contract)))
    assert links == [
        f"/o/acme/contracts/{contract}/statuses/?format=csv",
        f"/o/acme/contracts/{contract}/statuses/?format=xlsx",
        f"/o/acme/contracts/{contract}/readings/?format=csv",
        f"/o/acme/contracts/{contract}/readings/?format=xlsx",
        f"/o/acme/contracts/{contract}/credits/?format=csv",
        f"/o/acme/contracts/{contract}/credits/?format=xlsx",
    ]
    sla = world.mine.sla.pk
    links = _links(client.get(url(world, "metrics:sla", sla, page=2)))
    assert links[0] == f"/o/acme/contracts/{contract}/statuses/?service_level={sla}&format=csv"
    assert links[2] == f"/o/acme/contracts/{contract}/readings/?service_level={sla}&format=csv"
    vendor = world.mine.vendor.pk
    links = _links(client.get(url(world, "contracts:vendor", vendor)))
    assert links[0] == f"/o/acme/vendors/{vendor}/statuses/?format=csv"
    assert links[2] == f"/o/acme/vendors/{vendor}/readings/?format=csv"


# --- Queries: as many for ten rows as for one -------------------------------------------------

# Each page export: 1 session, 2 user, 3 membership (the tenant), then the rows with what
# their columns read in the same query, and, where named, one more query.
PAGE_EXPORTS = [
    # 4 the contracts with vendor, owner and worst colour, 5 their active SLAs with health
    ("contracts:portfolio", None, {}, 5),
    # 4 the vendors with their contracts and SLAs counted
    ("contracts:vendors", None, {}, 4),
    ("escalations:list", None, {}, 4),
    ("reviews:my_actions", None, {"show": "all"}, 4),
    ("reviews:calendar", None, {}, 4),
    ("reviews:warnings", None, {}, 4),
    ("metrics:submissions", None, {}, 4),
    # 4 the contract (or vendor) asked for, 5 its rows
    ("metrics:contract_statuses", "contract", {}, 5),
    ("metrics:contract_readings", "contract", {}, 5),
    # 5 the credits of every month, summed from the statuses
    ("metrics:contract_credits", "contract", {}, 5),
    ("metrics:vendor_statuses", "vendor", {}, 5),
    ("metrics:vendor_readings", "vendor", {}, 5),
]


@pytest.mark.parametrize(("name", "of", "query", "queries"), PAGE_EXPORTS)
@pytest.mark.parametrize("more", [0, 4])
def test_a_page_exports_in_the_same_queries_however_many_rows(
    client, world, django_assert_num_queries, name, of, query, queries, more
):
    grow(world, more)
    args = {"contract": [world.mine.contract.pk], "vendor": [world.mine.vendor.pk]}.get(of, [])
    as_(client, world.bob)
    address = url(world, name, *args, **query)
    with django_assert_num_queries(queries):
        rows = csv_rows(export(client, address))
    assert len(rows) >= (2 if more else 1)  # a header, and rows once there are more


@pytest.mark.parametrize(("name", "of", "query", "queries"), PAGE_EXPORTS)
def test_downloading_again_gives_the_same_file(client, world, name, of, query, queries):
    grow(world, 2)  # rows that tie on their dates: the order still holds
    args = {"contract": [world.mine.contract.pk], "vendor": [world.mine.vendor.pk]}.get(of, [])
    address = url(world, name, *args, **query)
    as_(client, world.bob)
    first, again = export(client, address), export(client, address)
    assert first.content == again.content
    assert first["Content-Disposition"] == again["Content-Disposition"]


@pytest.mark.parametrize("name", ["contract_statuses", "contract_readings", "contract_credits",
                                  "vendor_statuses", "vendor_readings"])  # fmt: skip
@pytest.mark.parametrize("huge", [2**63, 10**30])
def test_an_id_past_any_row_in_an_export_address_is_a_404(client, world, name, huge):
    response = export(as_(client, world.bob), url(world, f"metrics:{name}", huge))
    assert response.status_code == 404


@pytest.mark.parametrize("value", ["99999999999999999999999", "-1", "1.5", "0x10"])
def test_an_id_filter_that_is_no_id_is_a_400_naming_it(client, world, value):
    address = url(world, "metrics:contract_statuses", world.mine.contract.pk)
    response = export(as_(client, world.bob), f"{address}?service_level={value}")
    assert response.status_code == 400
    assert response.content.decode().startswith("Nothing exported: service_level: ")
