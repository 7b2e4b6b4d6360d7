"""
What the exported files hold: text a spreadsheet would run as a formula is
quoted, numbers stay numbers (a negative one too) and dates stay dates, the CSV
is UTF-8 with a byte-order mark and parses back, and odd input (control
characters, text past a cell's limit, a name with quotes, more rows than the
cap) still gives a file that opens.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scopes_disabled

from contracts.models import Contract, Vendor
from reviews.models import ActionItem
from slagov import exports
from tests import factories
from tests.conftest import World
from tests.export_files import column, csv_rows, xlsx_as_csv, xlsx_rows, xlsx_sheet

NOW = datetime(2026, 2, 20, 10, 0, tzinfo=UTC)
FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r"]


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _get(client, world: World, name: str, *args, fmt: str = "csv", **query):
    client.force_login(world.bob)
    params = {**query, "format": fmt}
    return client.get(reverse(name, args=[world.org.slug, *args]), params)


def _rename(world: World, start: str) -> None:
    with scopes_disabled():
        Vendor.objects.filter(pk=world.mine.vendor.pk).update(name=f"{start}SUM(1,2)")
        Contract.objects.filter(pk=world.mine.contract.pk).update(
            reference=f"{start}1+1", title=f'{start}HYPERLINK("http://example.com","x")'
        )
        ActionItem.objects.filter(pk=world.mine.action_item.pk).update(
            title=f"{start}cmd|' /C calc'!A0"
        )


@pytest.mark.parametrize("start", FORMULA_STARTS, ids=["eq", "plus", "minus", "at", "tab", "cr"])
def test_text_a_spreadsheet_would_run_is_quoted_in_the_csv(client, world: World, start):
    _rename(world, start)
    rows = csv_rows(_get(client, world, "contracts:portfolio", vendor=world.mine.vendor.pk))
    assert column(rows, "Contract") == [f"'{start}1+1"]
    assert column(rows, "Vendor") == [f"'{start}SUM(1,2)"]
    assert column(rows, "Title") == [f'\'{start}HYPERLINK("http://example.com","x")']
    items = csv_rows(_get(client, world, "reviews:my_actions", show="all"))
    assert f"'{start}cmd|' /C calc'!A0" in column(items, "Title")
    assert f"'{start}1+1" in column(items, "Contract")


@pytest.mark.parametrize("start", FORMULA_STARTS, ids=["eq", "plus", "minus", "at", "tab", "cr"])
def test_text_a_spreadsheet_would_run_is_text_in_the_xlsx(client, world: World, start):
    _rename(world, start)
    sheet = xlsx_sheet(_get(client, world, "contracts:portfolio", fmt="xlsx"))
    cells = {c.value: c for row in sheet.iter_rows(min_row=2) for c in row[:3]}
    for text in (f"'{start}1+1", f"'{start}SUM(1,2)"):
        # XML reads a carriage return as a line feed; either way the text stays text.
        assert cells[text.replace("\r", "\n")].data_type == "s"  # a string, not a formula
    assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]


def test_a_negative_number_stays_a_number_and_text_like_it_is_quoted(client, world: World):
    sla = factories.ServiceLevelFactory(
        contract=world.mine.contract, organization=world.org, code="delta", unit="count",
        kind="kpi", direction="lower",
    )  # fmt: skip
    factories.ReadingFactory(
        service_level=sla, period_start=date(2026, 1, 1), value=Decimal("-5.5")
    )
    with scopes_disabled():
        ActionItem.objects.filter(pk=world.mine.action_item.pk).update(title="-5.5")
    rows = csv_rows(_get(client, world, "metrics:contract_readings", world.mine.contract.pk,
                         sla="delta"))  # fmt: skip
    assert column(rows, "Value") == ["-5.5"]
    sheet = xlsx_sheet(_get(client, world, "metrics:contract_readings", world.mine.contract.pk,
                            fmt="xlsx", sla="delta"))  # fmt: skip
    value = sheet.cell(row=2, column=rows[0].index("Value") + 1)
    assert (value.data_type, value.value) == ("n", -5.5)
    items = csv_rows(_get(client, world, "reviews:my_actions", show="all"))
    assert "'-5.5" in column(items, "Title")


def test_numbers_are_numbers_and_dates_are_dates_in_the_xlsx(client, world: World):
    response = _get(client, world, "metrics:contract_statuses", world.mine.contract.pk,
                    fmt="xlsx", colour="green")  # fmt: skip
    sheet = xlsx_sheet(response)
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, sheet[2], strict=True))
    expected_numbers = [("Value", 99.95), ("Target", 99.9), ("Minimum", 99.5), ("Credit %", 0),
                        ("Credit amount", 0), ("Reading revision", 1)]  # fmt: skip
    for name, expected in expected_numbers:
        assert (row[name].data_type, row[name].value) == ("n", expected), name
    start = row["Period start"]
    assert start.is_date
    assert start.value == datetime(2026, 1, 1)
    assert start.number_format == "yyyy-mm-dd"
    computed = row["Computed at"]
    assert computed.is_date
    assert computed.number_format == "yyyy-mm-dd hh:mm"
    assert (row["Period"].data_type, row["Period"].value) == ("s", "2026-01")
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"


def test_huge_and_tiny_numbers_are_written_whole_in_the_csv(client, world: World):
    for month, value in [(2, "999999999999.5"), (3, "0.000001"), (4, "-0.000001")]:
        factories.ReadingFactory(
            service_level=world.mine.sla, period_start=date(2025, month, 1), value=Decimal(value)
        )
    rows = csv_rows(_get(client, world, "metrics:contract_readings", world.mine.contract.pk,
                         period_to="2025-04-01"))  # fmt: skip
    assert column(rows, "Value") == ["999999999999.5", "0.000001", "-0.000001"]
    sheet = xlsx_rows(_get(client, world, "metrics:contract_readings", world.mine.contract.pk,
                           fmt="xlsx", period_to="2025-04-01"))  # fmt: skip
    assert column(sheet, "Value") == [999999999999.5, 1e-06, -1e-06]


def test_the_csv_is_utf8_with_a_bom_and_parses_back_to_the_same_text(client, world: World):
    name = "Société Générale · Ørsted — 東京"
    title = 'Line "one", two\nthree; four'
    with scopes_disabled():
        Vendor.objects.filter(pk=world.mine.vendor.pk).update(name=name)
        Contract.objects.filter(pk=world.mine.contract.pk).update(title=title)
    response = _get(client, world, "contracts:portfolio", vendor=world.mine.vendor.pk)
    assert response.content.startswith(b"\xef\xbb\xbfContract,Title,")
    rows = csv_rows(response)
    assert (column(rows, "Vendor"), column(rows, "Title")) == ([name], [title])
    xlsx = _get(client, world, "contracts:portfolio", fmt="xlsx", vendor=world.mine.vendor.pk)
    assert xlsx_as_csv(xlsx) == rows


def test_control_characters_leave_the_xlsx_and_the_file_still_opens(client, world: World):
    with scopes_disabled():
        Contract.objects.filter(pk=world.mine.contract.pk).update(title="Bell\x07 and\x1b esc\x0b")
    response = _get(client, world, "contracts:portfolio", fmt="xlsx", vendor=world.mine.vendor.pk)
    assert column(xlsx_rows(response), "Title") == ["Bell and esc"]
    rows = csv_rows(_get(client, world, "contracts:portfolio", vendor=world.mine.vendor.pk))
    assert column(rows, "Title") == ["Bell\x07 and\x1b esc\x0b"]


@pytest.mark.parametrize("hidden", ["\x01", "\x1b\x02", "\x0b"])
def test_a_formula_behind_control_characters_stays_text_in_the_xlsx(client, world, hidden):
    with scopes_disabled():
        Contract.objects.filter(pk=world.mine.contract.pk).update(title=f"{hidden}=1+1")
    response = _get(client, world, "contracts:portfolio", fmt="xlsx", vendor=world.mine.vendor.pk)
    sheet = xlsx_sheet(response)
    title = sheet.cell(row=2, column=2)
    assert (title.value, title.data_type) == ("'=1+1", "s")


def test_text_longer_than_a_cell_holds_is_cut_in_the_xlsx_only():
    cells = exports.table([exports.Column("Note", lambda row: row)], ["x" * 40_000])
    sheet = openpyxl.load_workbook(io.BytesIO(exports.as_xlsx(cells))).active
    kept = sheet["A2"].value
    assert len(kept) == exports.XLSX_TEXT_MAX
    assert kept.endswith("…")
    assert len(exports.as_csv(cells).decode("utf-8-sig").splitlines()[1]) == 40_000


@pytest.mark.parametrize(
    ("reference", "header"),
    [
        ('C"1', 'attachment; filename="statuses-C\\"1-2026-02-20.csv"'),
        ("Ü 1", "attachment; filename*=utf-8''statuses-%C3%9C%201-2026-02-20.csv"),
        ("a\\b", 'attachment; filename="statuses-a\\\\b-2026-02-20.csv"'),
    ],
)
def test_a_file_name_from_a_reference_is_a_valid_header(client, world: World, reference, header):
    with scopes_disabled():
        Contract.objects.filter(pk=world.mine.contract.pk).update(reference=reference)
    response = _get(client, world, "metrics:contract_statuses", world.mine.contract.pk)
    assert response.status_code == 200
    assert response["Content-Disposition"] == header


def test_more_rows_than_the_cap_are_cut_with_a_last_row_that_says_so(world, monkeypatch):
    monkeypatch.setattr(exports, "EXPORT_MAX", 2)
    factories.ContractFactory(vendor=world.mine.vendor, organization=world.org)
    columns = [exports.Column("Contract", lambda c: c.reference)]
    with scopes_disabled(), CaptureQueriesContext(connection) as queries:
        cells = exports.table(columns, Contract.objects.order_by("reference"))
    assert cells[1:] == [
        [world.mine.contract.reference],
        [world.theirs.contract.reference],
        ["Cut at 2 rows: narrow the filter for the rest."],
    ]
    # Only the rows it can use are read, whatever the size of the table.
    assert len(queries) == 1
    assert "LIMIT 3" in queries[0]["sql"]


def test_a_cut_list_still_opens_as_both_files(world, monkeypatch):
    monkeypatch.setattr(exports, "EXPORT_MAX", 2)
    columns = [exports.Column("Contract", lambda c: c.reference),
               exports.Column("Value", lambda c: c.annual_value)]  # fmt: skip
    with scopes_disabled():
        cells = exports.table(columns, Contract.objects.order_by("reference"))
    sheet = openpyxl.load_workbook(io.BytesIO(exports.as_xlsx(cells))).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["Contract", "Value"], [world.mine.contract.reference, 240000],
        [world.theirs.contract.reference, 240000],
        ["Cut at 2 rows: narrow the filter for the rest.", None],
    ]  # fmt: skip
    assert exports.as_csv(cells).decode("utf-8-sig").splitlines()[-1] == (
        "Cut at 2 rows: narrow the filter for the rest."
    )
