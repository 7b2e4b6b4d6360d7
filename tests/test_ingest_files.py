"""Reading files: row numbers as the user sees them; which sheet of a workbook is read."""

from __future__ import annotations

import io

import openpyxl

from metrics.ingest import files


def test_rows_keep_their_line_numbers_when_quoted_cells_span_lines():
    data = (
        b'contract;sla;period;value;note\r\nCORP-1;avail;2026-10;99,9;"one\r\ntwo\r\nthree"\r\n'
        b"\r\nCORP-1;avail;2026-09;1;x\r\nCORP-1;avail;2026-08;2;y;z\r\n"
    )
    table = files.read_table(data, "spans.csv")
    assert table.frame["row"].tolist() == [2, 6]
    assert table.frame["note"].tolist() == ["one\r\ntwo\r\nthree", "x"]
    assert [(p.row, p.message) for p in table.problems] == [
        (7, "This row has 6 fields; the header has 5.")
    ]


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
