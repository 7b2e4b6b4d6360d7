"""Reading files: row numbers as the user sees them; which sheet of a workbook is read."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest

from metrics.ingest import files


def test_rows_are_numbered_as_a_spreadsheet_shows_them_when_quoted_cells_span_lines():
    data = (
        b'contract;sla;period;value;note\r\nCORP-1;avail;2026-10;99,9;"one\r\ntwo\r\nthree"\r\n'
        b"\r\nCORP-1;avail;2026-09;1;x\r\nCORP-1;avail;2026-08;2;y;z\r\n"
    )
    table = files.read_table(data, "spans.csv")
    # Excel and LibreOffice: the three-line note is one cell of row 2, the blank line row 3.
    assert table.frame["row"].tolist() == [2, 4]
    assert table.frame["note"].tolist() == ["one\r\ntwo\r\nthree", "x"]
    assert [(p.row, p.message) for p in table.problems] == [
        (5, "This row has 6 fields; the header has 5.")
    ]


def test_cr_only_line_ends_are_rows():
    data = b"contract,sla,period,value\rCORP-1,avail,2026-10,1\r\rCORP-1,avail,2026-09,2\r"
    table = files.read_table(data, "mac.csv")
    assert table.frame[["row", "value"]].values.tolist() == [[2, "1"], [4, "2"]]


def test_excels_sep_line_sets_the_delimiter_and_is_no_row():
    data = b"sep=;\r\ncontract;sla;period;value\r\nCORP-1;avail;2026-10;1.200\r\n"
    table = files.read_table(data, "excel.csv")
    assert table.frame[["row", "value"]].values.tolist() == [[2, "1.200"]]
    assert table.frame.attrs["decimal_mark"] == "comma"
    assert table.problems == []


def test_a_quote_never_closed_is_refused_not_swallowing_the_rows_after_it():
    data = (
        b"contract,sla,period,value,note\n"
        b'CORP-1,avail,2026-10,99.9,"forgot to close\n'
        b"CORP-1,avail,2026-09,99.8,\nCORP-1,avail,2026-08,99.7,\n"
    )
    with pytest.raises(files.UnreadableFileError, match="Row 2 opens a quoted cell"):
        files.read_table(data, "open.csv")


def test_a_file_mixing_utf8_and_windows_1252_lines_reads_each_line_right():
    data = (
        b"contract;sla;period;value;note\r\n"
        + "CORP-1;avail;2026-10;99,9;Réparation\r\n".encode("cp1252")
        + "CORP-1;avail;2026-09;99,8;Réparation\r\n".encode()
    )
    for prefix in (b"", b"\xef\xbb\xbf"):  # with a UTF-8 BOM the same
        table = files.read_table(prefix + data, "mixed.csv")
        assert table.frame["note"].tolist() == ["Réparation", "Réparation"]


def test_a_repeated_header_and_a_bom_inside_the_file_are_named():
    first = b"contract,sla,period,value\nCORP-1,avail,2026-10,1\n"
    joined = b"\xef\xbb\xbf" + first + b"\xef\xbb\xbf" + first
    table = files.read_table(joined, "joined.csv")
    assert table.frame["contract"].tolist() == ["CORP-1", "CORP-1"]
    assert [(p.row, p.message) for p in table.problems] == [
        (3, "This row repeats the header (row 1): were two files joined? Remove it.")
    ]


def test_a_missing_required_column_is_reported_on_the_header_row():
    table = files.read_table(b"\n\ncontract,sla,value\nCORP-1,avail,1\n", "t.csv")
    assert [(p.row, p.column) for p in table.problems] == [(3, "period")]


def test_warnings_about_unknown_columns_are_capped():
    header = ",".join(["contract", "sla", "period", "value"] + [f"x{i}" for i in range(50_000)])
    table = files.read_table(f"{header}\nCORP-1,avail,2026-10,1\n".encode(), "wide.csv")
    assert len(table.warnings) == 21
    assert table.warnings[0] == "Ignored unknown column 'x0'."
    assert table.warnings[-1] == "… and 49,980 more unknown columns, ignored too."


def test_json_rows_with_a_nul_or_a_lone_surrogate_are_refused_with_row_and_field():
    body = json.dumps(
        {"rows": [
            {"contract": "CORP-1", "sla": "avail", "period": "2026-10", "value": 1},
            {"contract": "CORP-1", "sla": "avail", "period": "2026-09", "value": 2,
             "note": "a\x00b"},
            {"contract": "CORP-\ud800", "sla": "avail", "period": "2026-08", "value": 3},
        ]}
    ).encode()  # fmt: skip
    table = files.read_table(body, "rows.json")
    assert table.frame["row"].tolist() == [1]
    assert [(p.row, p.column, p.message) for p in table.problems] == [
        (2, "note", "The note contains a NUL character (U+0000)."),
        (3, "contract", "The contract contains an invalid character (a lone surrogate, U+D800)."),
    ]
    for problem in table.problems:
        problem.value.encode("utf-8")  # storable


def test_the_first_sheet_in_the_workbooks_order_is_read_without_a_readings_sheet():
    book = openpyxl.Workbook()
    book.active.title = "made first"
    book.active.append(["contract", "sla", "period", "value"])
    book.active.append(["CORP-1", "avail", "2026-10", 1])
    shown_first = book.create_sheet("shown first")
    shown_first.append(["contract", "sla", "period", "value"])
    shown_first.append(["CORP-1", "avail", "2026-09", 2])
    book.move_sheet("shown first", offset=-1)
    buffer = io.BytesIO()
    book.save(buffer)
    table = files.read_table(buffer.getvalue(), "two.xlsx")
    assert table.frame["period"].tolist() == ["2026-09"]
