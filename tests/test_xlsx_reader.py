"""
Reading workbooks: streaming, within limits, in a child process that may die
without taking anything else down; the fast reader equals the reference one.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from metrics.ingest import files, sandbox, worst_cases, xlsx

CORPUS = Path(__file__).parent / "corpus"


def _reference_rows(data: bytes) -> list[tuple[int, list[str]]]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    book = xlsx.Workbook(archive)
    name, part = xlsx.choose_sheet(book)
    return xlsx.read_sheet_streaming(archive, book, name, part, max_rows=files.MAX_ROWS)


def _fast_rows(data: bytes) -> list[tuple[int, list[str]]]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    _, part = xlsx.choose_sheet(xlsx.Workbook(archive))
    extent = xlsx.scan_extent(archive, part, max_rows=files.MAX_ROWS)
    assert extent.regular, "the workbooks are written as Excel writes them: the fast reader reads"
    return xlsx.read_sheet(data, max_rows=files.MAX_ROWS)[1]


def _readable_corpus_workbooks():
    expected = json.loads((CORPUS / "expected.json").read_text())
    for name in sorted(expected):
        if not name.endswith(".xlsx"):
            continue
        data = (CORPUS / "files" / name).read_bytes()
        try:
            files._check_archive(data)
            archive = zipfile.ZipFile(io.BytesIO(data))
            _, part = xlsx.choose_sheet(xlsx.Workbook(archive))
            extent = xlsx.scan_extent(archive, part, max_rows=files.MAX_ROWS)
        except (files.UnreadableFileError, xlsx.SheetError, zipfile.BadZipFile):
            continue  # refused before either reader reads a cell
        # The irregular ones are read by the reference reader alone; too large a grid, by none.
        if extent.regular and extent.grid <= xlsx.MAX_GRID_CELLS:
            yield name


@pytest.mark.parametrize("name", list(_readable_corpus_workbooks()))
def test_the_fast_reader_reads_every_corpus_workbook_like_the_reference(name):
    data = (CORPUS / "files" / name).read_bytes()
    assert _fast_rows(data) == _reference_rows(data)


def _random_workbook(seed: int) -> bytes:
    rng = random.Random(seed)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "readings"
    if seed % 3 == 0:
        wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    for _ in range(rng.randint(1, 80)):
        row, column = rng.randint(1, 40), rng.randint(1, 14)
        kind = rng.choice(["int", "float", "tiny", "huge", "text", "bool", "date", "moment"])
        value = {
            "int": lambda: rng.randint(-(10**6), 10**6),
            "float": lambda: round(rng.uniform(-1000, 1000), rng.randint(0, 6)),
            "tiny": lambda: rng.uniform(0, 1e-6),
            "huge": lambda: rng.uniform(1e15, 1e20),
            "text": lambda: rng.choice(["avail", "Réparation", " 99,5 ", "2026-W42", "=1+1", ""]),
            "bool": lambda: rng.random() < 0.5,
            "date": lambda: date(rng.randint(1990, 2030), rng.randint(1, 12), rng.randint(1, 28)),
            "moment": lambda: datetime(2026, rng.randint(1, 12), 3, rng.randint(0, 23), 30),
        }[kind]()
        ws.cell(row=row, column=column, value=value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("seed", range(40))
def test_the_fast_reader_reads_random_workbooks_like_the_reference(seed):
    data = _random_workbook(seed)
    assert _fast_rows(data) == _reference_rows(data)


def _read(case: worst_cases.Case) -> str:
    try:
        table = files.read_table(case.data, case.filename)
    except files.UnreadableFileError as exc:
        return exc.message
    return f"ok: {table.data_rows} rows"


@pytest.mark.parametrize(
    "name",
    [
        "value_at_xfd1048576",
        "dimension_claims_whole_sheet",
        "value_at_cv100000",
        "deep_nesting",
        "dtd_after_long_comment",
        "two_million_rows",
        "csv_five_million_tiny_rows",
        "csv_wide_header_over_most_rows",
        "json_a_field_per_item",
        "json_nested_five_million_deep",
    ],
)
def test_a_hostile_file_is_refused_with_a_message_or_read_within_limits(name):
    (case,) = worst_cases.cases([name])
    outcome = _read(case)
    if case.expect == "ok":
        assert outcome.startswith("ok"), outcome
    else:
        assert case.expect.lower() in outcome.lower(), outcome


def test_one_value_in_the_last_cell_names_that_cell_and_the_columns_allowed():
    (case,) = worst_cases.cases(["value_at_xfd1048576"])
    assert len(case.data) < 6_000
    message = _read(case)
    assert "Cell XFD1048576" in message
    assert "columns A to CV" in message


def test_a_declared_dimension_is_never_trusted():
    (case,) = worst_cases.cases(["dimension_claims_whole_sheet"])
    table = files.read_table(case.data, case.filename)
    assert table.data_rows == 2
    assert table.frame["contract"].tolist() == ["C-2", "C-3"]


def test_a_reader_that_runs_out_of_memory_becomes_a_clean_error_and_the_caller_lives_on():
    (case,) = worst_cases.cases(["dimension_claims_whole_sheet"])
    with pytest.raises(sandbox.ReadFailedError, match="could not be read"):
        sandbox.read_xlsx_rows(case.data, max_rows=10, memory_limit=8 * 1024 * 1024)
    # The same file still reads with the normal limit: nothing was left broken.
    assert len(sandbox.read_xlsx_rows(case.data, max_rows=10)) == 3


def test_a_reader_past_its_time_becomes_a_clean_error():
    data = worst_cases.xlsx(
        [worst_cases._header_row(), *worst_cases._data_rows(60_000, columns=12)]
    )
    with pytest.raises(sandbox.ReadFailedError, match="longer than 1 seconds"):
        sandbox.read_xlsx_rows(data, max_rows=100_000, time_limit=1)


def test_a_dtd_in_a_utf16_part_is_found():
    plain = worst_cases.xlsx([worst_cases._header_row()])
    src = zipfile.ZipFile(io.BytesIO(plain))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as dst:
        for name in src.namelist():
            body = src.read(name)
            if name == "xl/workbook.xml":
                text = body.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
                text = text.replace("?><workbook", '?><!DOCTYPE w [<!ENTITY a "b">]><workbook')
                body = text.encode("utf-16")
            dst.writestr(name, body)
    with pytest.raises(files.UnreadableFileError, match="DTD"):
        files.read_table(buf.getvalue(), "wb.xlsx")


def test_cells_written_without_references_are_read_by_the_reference_reader():
    body = [
        b'<row><c t="inlineStr"><is><t>contract</t></is></c><c t="inlineStr"><is><t>sla</t>'
        b'</is></c><c t="inlineStr"><is><t>period</t></is></c><c t="inlineStr"><is><t>value'
        b"</t></is></c></row>",
        b'<row><c t="inlineStr"><is><t>CORP-1</t></is></c><c t="inlineStr"><is><t>avail</t>'
        b'</is></c><c t="inlineStr"><is><t>2026-10</t></is></c><c><v>99.5</v></c></row>',
    ]
    table = files.read_table(worst_cases.xlsx(body), "plain.xlsx")
    assert table.frame[["contract", "sla", "period", "value"]].values.tolist() == [
        ["CORP-1", "avail", "2026-10", "99.5"]
    ]
    assert table.frame["row"].tolist() == [2]


def _values_workbook(values, number_format=None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "readings"
    ws.append(["contract", "sla", "period", "value"])
    for value in values:
        ws.append(["CORP-1", "avail", "2026-10", value])
        if number_format:
            ws.cell(row=ws.max_row, column=4).number_format = number_format
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_numeric_cells_read_as_excel_shows_them_and_are_marked_as_numbers():
    data = _values_workbook([0.1 + 0.2, 1.5e-05, 99.95, 1e20, -0.0, 12])
    table = files.read_table(data, "n.xlsx")
    assert table.frame["value"].tolist() == [
        "0.3", "0.000015", "99.95", "100000000000000000000", "0", "12"
    ]  # fmt: skip
    assert table.frame["value_is_number"].all()


def test_a_cell_formatted_as_a_percentage_reads_as_the_percentage_it_shows():
    data = _values_workbook([0.9995, 1], number_format="0.00%")
    table = files.read_table(data, "p.xlsx")
    assert table.frame["value"].tolist() == ["99.95%", "100%"]
    assert _fast_rows(data) == _reference_rows(data)


def test_text_cells_are_not_marked_as_numbers():
    data = _values_workbook(["99,5", "1.234"])
    table = files.read_table(data, "t.xlsx")
    assert table.frame["value"].tolist() == ["99,5", "1.234"]
    assert not table.frame["value_is_number"].any()


def test_excel_numbers_shortcut_equals_fifteen_significant_digits_on_random_floats():
    from decimal import Decimal

    rng = random.Random(5)
    for _ in range(50_000):
        value = rng.choice([
            rng.uniform(-1e6, 1e6), round(rng.uniform(0, 100), rng.randint(0, 8)),
            rng.uniform(0, 1e-6), float(rng.randint(-(10**17), 10**17)),
            rng.uniform(1e14, 1e16), 0.1 * rng.randint(0, 10**6), -0.0,
        ])  # fmt: skip
        reference = "0" if value == 0 else f"{Decimal(f'{value:.15g}'):f}"
        assert xlsx.excel_number(value) == reference, value
