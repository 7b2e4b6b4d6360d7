"""
Every list page exports what it shows, as CSV and XLSX: the rows its filters
select (all of them, not the first page), scoped like the page: a member sees
theirs, a vendor user only their vendor's, another tenant's or another
vendor's object is a 404, and a filter that is not valid is a 400 naming it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scopes_disabled

from escalations.models import Escalation
from metrics import engine
from reviews.models import ActionItem
from tests import factories
from tests.conftest import World
from tests.export_files import column, csv_rows, grow, xlsx_as_csv

NOW = datetime(2026, 2, 20, 10, 0, tzinfo=UTC)  # the world's reviews were ten days ago


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def url(world: World, name: str, *args, **query) -> str:
    path = reverse(name, args=[world.org.slug, *args])
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return f"{path}?{params}" if params else path


def export(client, address: str, fmt: str = "csv"):
    joiner = "&" if "?" in address else "?"
    return client.get(f"{address}{joiner}format={fmt}")


def rows_of(client, address: str) -> list[list[str]]:
    """The CSV download, checked to hold the same cells as the XLSX one."""
    rows = csv_rows(export(client, address))
    assert xlsx_as_csv(export(client, address, "xlsx")) == rows
    return rows


def as_(client, user):
    client.force_login(user)
    return client


# --- The portfolio and the vendors ----------------------------------------------------------


def test_the_portfolio_exports_the_contracts_the_member_sees(client, world: World):
    rows = rows_of(as_(client, world.bob), url(world, "contracts:portfolio"))
    assert rows[0] == [
        "Contract", "Title", "Vendor", "Category", "Governance mode", "Owner", "Annual value",
        "Currency", "Start date", "End date", "Review cadence", "SLAs and KPIs", "Green",
        "Yellow (at risk)", "Red (breach)", "No data", "Late", "Worst status",
    ]  # fmt: skip
    mine, theirs = world.mine.contract, world.theirs.contract
    assert rows[1:] == [
        [mine.reference, mine.title, "Vendor Mine", "IT outsourcing", "Proactive", "", "240000",
         "EUR", "2025-01-01", "2028-12-31", "Monthly", "1", "1", "0", "0", "0", "0", "Green"],
        [theirs.reference, theirs.title, "Vendor Theirs", "IT outsourcing", "Proactive", "",
         "240000", "EUR", "2025-01-01", "2028-12-31", "Monthly", "1", "1", "0", "0", "0", "0",
         "Green"],
    ]  # fmt: skip


def test_a_vendor_users_portfolio_export_holds_only_its_vendor(client, world: World):
    rows = rows_of(as_(client, world.vic), url(world, "contracts:portfolio"))
    assert column(rows, "Contract") == [world.mine.contract.reference]
    rows = rows_of(as_(client, world.olly), url(world, "contracts:portfolio"))
    assert column(rows, "Vendor") == ["Vendor Theirs"]


def test_the_portfolio_filters_narrow_its_export(client, world: World):
    as_(client, world.bob)
    by_vendor = rows_of(client, url(world, "contracts:portfolio", vendor=world.theirs.vendor.pk))
    assert column(by_vendor, "Contract") == [world.theirs.contract.reference]
    searched = rows_of(client, url(world, "contracts:portfolio", q=world.mine.contract.title))
    assert column(searched, "Contract") == [world.mine.contract.reference]
    assert rows_of(client, url(world, "contracts:portfolio", status="red"))[1:] == []


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"vendor": "abc"}, "vendor:"),
        ({"status": "purple"}, "status:"),
        ({"category": "x" * 300}, "category:"),
    ],
)
def test_a_portfolio_filter_that_is_not_valid_is_a_400_naming_it(client, world, query, named):
    response = export(as_(client, world.bob), url(world, "contracts:portfolio", **query))
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert named in response.content.decode()


def test_another_tenants_vendor_as_a_filter_exports_nothing_of_it(client, world: World):
    # Not a choice here: a 400 naming the filter, never that vendor's contracts.
    response = export(
        as_(client, world.bob), url(world, "contracts:portfolio", vendor=world.foreign.vendor.pk)
    )
    assert response.status_code == 400
    assert "vendor:" in response.content.decode()
    assert world.foreign.contract.reference not in response.content.decode()


def test_the_vendors_export_counts_their_slas_by_colour(client, world: World):
    rows = rows_of(as_(client, world.bob), url(world, "contracts:vendors"))
    assert rows == [
        ["Vendor", "Website", "Contracts", "Green", "Yellow (at risk)", "Red (breach)",
         "No data", "Late"],
        ["Vendor Mine", "", "1", "1", "0", "0", "0", "0"],
        ["Vendor Theirs", "", "1", "1", "0", "0", "0", "0"],
    ]  # fmt: skip
    assert column(rows_of(as_(client, world.vic), url(world, "contracts:vendors")), "Vendor") == [
        "Vendor Mine"
    ]


# --- A contract's and a vendor's statuses, readings and credits -------------------------------


def test_a_contracts_statuses_export_one_row_per_sla_and_period(client, world: World):
    rows = rows_of(
        as_(client, world.vic), url(world, "metrics:contract_statuses", world.mine.contract.pk)
    )
    assert rows[0] == [
        "Contract", "Vendor", "SLA", "SLA name", "Kind", "Unit", "Period", "Period start",
        "Status", "Value", "Target", "Minimum", "Credit %", "Credit amount", "Currency",
        "Reading revision", "Computed at",
    ]  # fmt: skip
    # The world's SLA owes data from January 2025; it was judged on 3 February 2026.
    assert column(rows, "Period") == [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01"]
    assert set(column(rows, "Contract")) == {world.mine.contract.reference}
    january = rows[-1]
    assert january[6:16] == [
        "2026-01", "2026-01-01", "Green", "99.95", "99.9", "99.5", "0", "0", "EUR", "1",
    ]  # fmt: skip
    assert column(rows, "Status")[:12] == ["Late"] * 12


def test_the_status_filters_narrow_a_contracts_export(client, world: World):
    address = url(world, "metrics:contract_statuses", world.mine.contract.pk)
    as_(client, world.bob)
    assert column(rows_of(client, f"{address}?colour=green"), "Period") == ["2026-01"]
    narrowed = rows_of(client, f"{address}?period_from=2025-11-01&period_to=2025-12-01")
    assert column(narrowed, "Period") == ["2025-11", "2025-12"]
    assert rows_of(client, f"{address}?service_level={world.theirs.sla.pk}")[1:] == []


@pytest.mark.parametrize(
    ("query", "named"),
    [("colour=purple", "colour:"), ("period_from=2026-02-30", "period_from:"),
     ("service_level=%D9%A3", "service_level:"), ("period_to=9999-01-01", "period_to:")],
)  # fmt: skip
def test_a_status_filter_that_is_not_valid_is_a_400_naming_it(client, world, query, named):
    address = url(world, "metrics:contract_statuses", world.mine.contract.pk)
    response = export(as_(client, world.bob), f"{address}?{query}")
    assert response.status_code == 400
    assert named in response.content.decode()


@pytest.mark.parametrize("name", ["contract_statuses", "contract_readings", "contract_credits"])
def test_a_contract_export_is_a_404_for_another_vendor_and_another_tenant(client, world, name):
    mine = world.mine.contract.pk
    assert export(as_(client, world.vic), url(world, f"metrics:{name}", mine)).status_code == 200
    # The same tenant's other vendor, the other tenant's admin, a contract of the other tenant.
    for outsider, contract in [(world.olly, mine), (world.charlie, mine),
                               (world.bob, world.foreign.contract.pk)]:  # fmt: skip
        response = export(as_(client, outsider), url(world, f"metrics:{name}", contract))
        assert response.status_code == 404, outsider


@pytest.mark.parametrize("name", ["vendor_statuses", "vendor_readings"])
def test_a_vendor_export_is_a_404_for_another_vendor_and_another_tenant(client, world, name):
    mine = world.mine.vendor.pk
    rows = rows_of(as_(client, world.vic), url(world, f"metrics:{name}", mine))
    assert set(column(rows, "Vendor")) == {"Vendor Mine"}
    for outsider, vendor in [(world.olly, mine), (world.charlie, mine),
                             (world.bob, world.foreign.vendor.pk)]:  # fmt: skip
        response = export(as_(client, outsider), url(world, f"metrics:{name}", vendor))
        assert response.status_code == 404, outsider


@pytest.mark.parametrize("fmt", ["pdf", "CSV", "csv%00", "xlsx%20"])
def test_an_export_only_address_with_an_unknown_format_is_a_400_naming_it(client, world, fmt):
    address = url(world, "metrics:contract_statuses", world.mine.contract.pk)
    response = as_(client, world.bob).get(f"{address}?format={fmt}")
    assert response.status_code == 400
    assert response.content.decode() == "Nothing exported: format: csv or xlsx."


@pytest.mark.parametrize("query", ["", "?format=", "?colour=green"])
def test_an_export_only_address_without_a_format_answers_csv(client, world, query):
    address = url(world, "metrics:contract_statuses", world.mine.contract.pk)
    rows = csv_rows(as_(client, world.bob).get(f"{address}{query}"))
    assert rows[0][:3] == ["Contract", "Vendor", "SLA"]


def test_a_contracts_readings_export_says_who_gave_each_value_and_its_revision(client, world):
    with scopes_disabled():
        world.mine.reading.submitted_by = world.vic
        world.mine.reading.revision = 3
        world.mine.reading.note = "Corrected after the outage report"
        world.mine.reading.save()
    rows = rows_of(
        as_(client, world.bob), url(world, "metrics:contract_readings", world.mine.contract.pk)
    )
    assert rows[0] == [
        "Contract", "Vendor", "SLA", "SLA name", "Kind", "Unit", "Period", "Period start",
        "Value", "Revision", "Source", "Submitted by", "Submitted at", "Submission", "Note",
    ]  # fmt: skip
    submitted = world.mine.reading.submitted_at.strftime("%Y-%m-%d %H:%M")
    assert rows[1][6:] == [
        "2026-01", "2026-01-01", "99.95", "3", "Manual entry", "Vic", submitted, "",
        "Corrected after the outage report",
    ]  # fmt: skip
    assert len(rows) == 2


def test_a_vendors_readings_cover_all_its_contracts_and_nothing_else(client, world: World):
    second = factories.ContractFactory(vendor=world.mine.vendor, organization=world.org)
    sla = factories.ServiceLevelFactory(contract=second, organization=world.org, code="mttr")
    factories.ReadingFactory(service_level=sla, period_start=date(2026, 1, 1), value=Decimal("4"))
    rows = rows_of(
        as_(client, world.vic), url(world, "metrics:vendor_readings", world.mine.vendor.pk)
    )
    assert sorted(zip(column(rows, "Contract"), column(rows, "SLA"), strict=True)) == sorted(
        [(world.mine.contract.reference, "avail"), (second.reference, "mttr")]
    )


def _breach_in_december(world: World) -> None:
    """A red December for the world's SLA of `mine`: 5 % of 20,000 a month, under the cap."""
    sla = world.mine.sla
    factories.ReadingFactory(
        service_level=sla, period_start=date(2025, 12, 1), value=Decimal("99.2")
    )
    engine.recompute(organization_id=world.org.pk, service_level_ids=[sla.pk],
                     today=date(2026, 2, 3))  # fmt: skip


def test_a_contracts_credits_export_one_row_per_month_assessed(client, world: World):
    _breach_in_december(world)
    rows = rows_of(
        as_(client, world.bob), url(world, "metrics:contract_credits", world.mine.contract.pk)
    )
    assert rows == [
        ["Contract", "Vendor", "Currency", "Month", "Assessed", "Cap", "Credited", "Capped",
         "By SLA (before the cap)"],
        [world.mine.contract.reference, "Vendor Mine", "EUR", "2025-12-01", "1000", "2400",
         "1000", "no", "avail 1000.00"],
    ]  # fmt: skip


# --- Escalations, action items, reviews, warnings, submissions --------------------------------


def test_the_escalation_export_starts_from_the_pages_default_of_open_ones(client, world: World):
    with scopes_disabled():
        Escalation.objects.filter(pk=world.theirs.escalation.pk).update(
            state=Escalation.State.RESOLVED, resolution=Escalation.Resolution.BACK_TO_GREEN,
            resolved_at=NOW,
        )  # fmt: skip
    as_(client, world.bob)
    assert column(rows_of(client, url(world, "escalations:list")), "Escalation") == [
        str(world.mine.escalation.pk)
    ]
    resolved = rows_of(client, url(world, "escalations:list", state="resolved"))
    assert column(resolved, "Escalation") == [str(world.theirs.escalation.pk)]
    assert column(resolved, "Resolution") == ["Back to green"]
    everything = rows_of(client, url(world, "escalations:list", state=""))
    assert len(everything) == 3


def test_the_escalation_filters_narrow_the_export_and_a_vendor_sees_its_own(client, world):
    as_(client, world.bob)
    by_vendor = rows_of(client, url(world, "escalations:list", vendor=world.theirs.vendor.pk))
    assert column(by_vendor, "Vendor") == ["Vendor Theirs"]
    assert rows_of(client, url(world, "escalations:list", level=2))[1:] == []
    vic = rows_of(as_(client, world.vic), url(world, "escalations:list"))
    assert column(vic, "Escalation") == [str(world.mine.escalation.pk)]
    refused = export(as_(client, world.bob), url(world, "escalations:list", level="²"))
    assert refused.status_code == 400
    assert "level:" in refused.content.decode()


@pytest.mark.parametrize(
    ("module", "name", "query", "listed"),
    [
        ("escalations.views", "escalations:list", {}, "escalations"),
        ("reviews.views_actions", "reviews:my_actions", {"show": "all"}, "items"),
        ("reviews.views_warnings", "reviews:warnings", {}, "warnings"),
        ("metrics.submission_views", "metrics:submissions", {}, "submissions"),
    ],
)
def test_an_export_is_not_cut_where_its_page_stops(client, world, monkeypatch, module, name,
                                                   query, listed):  # fmt: skip
    import importlib

    monkeypatch.setattr(importlib.import_module(module), "LIST_LIMIT", 2)
    grow(world, 3)
    as_(client, world.bob)
    page = client.get(url(world, name, **query))
    assert len(page.context[listed]) == 2
    assert len(rows_of(client, url(world, name, **query))) - 1 == 5


def test_the_action_item_export_follows_whose_and_state(client, world: World):
    with scopes_disabled():
        done = ActionItem.objects.create(
            organization=world.org, contract=world.theirs.contract, title="Sign the addendum",
            owner=world.bob, owner_side="customer", due_date=date(2026, 2, 1), state="done",
            created_by=world.bob, created_at=NOW,
        )  # fmt: skip
    as_(client, world.bob)
    assert rows_of(client, url(world, "reviews:my_actions"))[1:] == []  # mine, open: none
    mine_all = rows_of(client, url(world, "reviews:my_actions", state="all"))
    assert column(mine_all, "Title") == ["Sign the addendum"]
    assert column(mine_all, "State") == ["Done"]
    everyone = rows_of(client, url(world, "reviews:my_actions", show="all", state="all"))
    assert sorted(map(int, column(everyone, "Action item"))) == sorted(
        [world.mine.action_item.pk, world.theirs.action_item.pk, done.pk]
    )
    by_contract = rows_of(
        client, url(world, "reviews:my_actions", show="all", contract=world.mine.contract.pk)
    )
    assert column(by_contract, "Action item") == [str(world.mine.action_item.pk)]
    vic = rows_of(as_(client, world.vic), url(world, "reviews:my_actions", show="all", state="all"))
    assert column(vic, "Contract") == [world.mine.contract.reference]


def test_the_action_item_export_says_overdue_as_the_page_does(client, world: World):
    with time_machine.travel(datetime(2026, 3, 5, 9, 0, tzinfo=UTC), tick=False):
        rows = rows_of(as_(client, world.vic), url(world, "reviews:my_actions"))
    assert column(rows, "Due date") == ["2026-03-01"]
    assert column(rows, "Overdue") == ["yes"]
    assert column(rows, "Owner") == ["Vic"]


def test_the_reviews_export_is_the_calendars_rows_and_its_contract_filter(client, world):
    as_(client, world.bob)
    rows = rows_of(client, url(world, "reviews:calendar"))
    assert sorted(map(int, column(rows, "Review"))) == sorted(
        [world.mine.review.pk, world.theirs.review.pk]
    )
    assert column(rows, "Held at") == ["2026-02-10 09:00"] * 2
    one = rows_of(client, url(world, "reviews:calendar", contract=world.theirs.contract.pk))
    assert column(one, "Review") == [str(world.theirs.review.pk)]
    vic = rows_of(as_(client, world.vic), url(world, "reviews:calendar"))
    assert column(vic, "Review") == [str(world.mine.review.pk)]
    other = export(as_(client, world.vic), url(world, "reviews:calendar",
                                               contract=world.theirs.contract.pk))  # fmt: skip
    assert other.status_code == 404


def test_the_reviews_export_leaves_out_what_the_calendar_no_longer_shows(client, world):
    with time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), tick=False):
        rows = rows_of(as_(client, world.bob), url(world, "reviews:calendar"))
    assert rows[1:] == []  # held in February: more than six months ago


def test_the_warnings_export_follows_the_state_filter_and_the_vendor(client, world: World):
    as_(client, world.bob)
    rows = rows_of(client, url(world, "reviews:warnings"))
    assert sorted(map(int, column(rows, "Warning"))) == sorted(
        [world.mine.warning.pk, world.theirs.warning.pk]
    )
    assert rows_of(client, url(world, "reviews:warnings", state="closed"))[1:] == []
    vic = rows_of(as_(client, world.vic), url(world, "reviews:warnings"))
    assert column(vic, "Title") == ["Parts shortage"]
    assert column(vic, "Vendor") == ["Vendor Mine"]


def test_the_submissions_export_lists_every_one_the_member_may_see(client, world: World):
    rows = rows_of(as_(client, world.bob), url(world, "metrics:submissions"))
    assert column(rows, "Submission") == [
        str(world.theirs.submission.pk),
        str(world.mine.submission.pk),
    ]
    vic = rows_of(as_(client, world.vic), url(world, "metrics:submissions"))
    assert column(vic, "Submission") == [str(world.mine.submission.pk)]
    assert column(vic, "By") == ["Vic"]
    assert column(vic, "File") == ["data.csv"]


@pytest.mark.parametrize("fmt", ["pdf", "json", ""])
def test_an_unknown_format_on_a_list_page_shows_the_page(client, world, fmt):
    response = as_(client, world.bob).get(url(world, "contracts:portfolio", format=fmt))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "Portfolio" in response.content.decode()
