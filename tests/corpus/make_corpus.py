"""
Build the upload corpus: every file in `tests/corpus/files/` and `tests/corpus/expected.json`.

    /work/main/.venv/bin/python tests/corpus/make_corpus.py

Deterministic: running it twice gives byte-identical files (fixed zip timestamps,
fixed workbook properties, seeded randomness). It deletes and rewrites
`tests/corpus/files/`.

The world every expectation assumes (the corpus test sets it up):
today is 2026-11-25; the uploading vendor has contract CORP-1 (2025-01-01 to
2027-12-31) with SLAs avail (percent, higher, monthly), p1-res (hours, lower,
monthly), backlog (count, lower, WEEKLY), csat (score, higher, monthly); another
vendor of the same organisation has OTHER-1 / avail; no readings exist yet.

expected.json, per file name:
  {"outcome": "ok", "rows": N, "readings": [[contract, sla, period_start, value], ...],
   "warnings": [fragment, ...], "about": "..."}
  {"outcome": "rejected", "errors": [{"row": R, "column": C, "contains": F}, ...], "about": "..."}
`rows` counts the data rows (blank lines and all-empty rows excluded); `readings`
lists every stored reading, sorted; values are exact decimals as strings and
should be compared as Decimal ("12.0" == 12.000000). `row` is what the user
sees (header = 1, blank lines count, a quoted cell spanning lines is one row, as
in Excel or LibreOffice; Excel row number in XLSX; a header problem such as a
missing column is on the header row) or null for a file-level error (or a JSON
body's field names); `column` is the column the error is about, or null when it
concerns a whole row (wrong number of fields) or the whole file. A duplicate key is
reported on the value column of each row.
"""

from __future__ import annotations

import io
import json
import random
import re
import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
from openpyxl.styles import PatternFill
from openpyxl.utils.datetime import CALENDAR_MAC_1904

HERE = Path(__file__).resolve().parent
OUT = HERE / "files"
EXPECTED = HERE / "expected.json"

FILES: dict[str, bytes] = {}
EXPECT: dict[str, dict] = {}

HEADER = ["contract", "sla", "period", "value", "note"]
MB = 1024 * 1024
ZIP_TIME = (2026, 1, 1, 0, 0, 0)


# --------------------------------------------------------------------------- helpers


def wk(year: int, week: int) -> str:
    """Monday of an ISO week, as the period start the validator stores."""
    return date.fromisocalendar(year, week, 1).isoformat()


def ok(name, data, *, rows, readings, warnings=(), about):
    assert name not in FILES, name
    keys = [(c, s, p) for c, s, p, _ in readings]
    assert len(keys) == len(set(keys)), f"{name}: two readings share a key"
    FILES[name] = data
    EXPECT[name] = {
        "outcome": "ok",
        "rows": rows,
        "readings": sorted([list(r) for r in readings]),
        "warnings": list(warnings),
        "about": about,
    }


def rejected(name, data, *, errors, about):
    assert name not in FILES, name
    assert errors, name
    FILES[name] = data
    EXPECT[name] = {
        "outcome": "rejected",
        "errors": [{"row": r, "column": c, "contains": f} for r, c, f in errors],
        "about": about,
    }


def quote(field: str, delim: str) -> str:
    if any(ch in field for ch in (delim, '"', "\n", "\r")):
        return '"' + field.replace('"', '""') + '"'
    return field


def table(lines, delim=",", eol="\n", final_eol=True) -> str:
    """A list entry is a row (fields quoted as needed); a str entry is a raw line."""
    out = [ln if isinstance(ln, str) else delim.join(quote(f, delim) for f in ln) for ln in lines]
    return eol.join(out) + (eol if final_eol else "")


def utf8(text: str) -> bytes:
    return text.encode("utf-8")


def cp1252(text: str) -> bytes:
    data = text.encode("cp1252")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    raise AssertionError("this Windows-1252 sample would also decode as UTF-8")


# ----------------------------------------------------------------------------- xlsx


def fix_core(xml: bytes) -> bytes:
    return re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2026-01-01T00:00:00Z", xml)


def rezip(data: bytes, replace: dict[str, bytes] | None = None, add=()) -> bytes:
    """Rewrite a zip deterministically, replacing or adding members."""
    replace = dict(replace or {})
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as dst:
        members = [(i.filename, src.read(i.filename)) for i in src.infolist()]
        members += list(add)
        for name, body in members:
            body = replace.pop(name, body)
            if name == "docProps/core.xml":
                body = fix_core(body)
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.external_attr = 0o600 << 16
            dst.writestr(info, body, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    assert not replace, f"not in the zip: {sorted(replace)}"
    return buf.getvalue()


def workbook(sheets, epoch=None, shared_strings=False, style_far_cell=False) -> bytes:
    """sheets: [(title, [row, ...]), ...]; a row is a list of cell values, None = blank row."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    if epoch is not None:
        wb.epoch = epoch
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row or [], start=1):
                if value is not None:
                    ws.cell(row=r, column=c, value=value)
        if style_far_cell:
            ws.cell(row=1048576, column=16384).fill = PatternFill("solid", fgColor="FFFF00")
    wb.properties.created = datetime(2026, 1, 1)
    wb.properties.modified = datetime(2026, 1, 1)
    buf = io.BytesIO()
    wb.save(buf)
    data = rezip(buf.getvalue())
    return to_shared_strings(data) if shared_strings else data


_INLINE = re.compile(
    rb'<c r="([A-Z]+\d+)"((?: s="\d+")?) t="inlineStr"><is><t([^>]*)>(.*?)</t></is></c>', re.S
)


def to_shared_strings(data: bytes) -> bytes:
    """Move openpyxl's inline strings into xl/sharedStrings.xml, as Excel itself writes them."""
    src = zipfile.ZipFile(io.BytesIO(data))
    strings: list[bytes] = []
    index: dict[bytes, int] = {}
    replace = {}

    def sub(m):
        key = m.group(3) + b"\0" + m.group(4)
        if key not in index:
            index[key] = len(strings)
            strings.append(b"<si><t" + m.group(3) + b">" + m.group(4) + b"</t></si>")
        return b'<c r="' + m.group(1) + b'"' + m.group(2) + b' t="s"><v>%d</v></c>' % index[key]

    for name in src.namelist():
        if name.startswith("xl/worksheets/sheet"):
            replace[name] = _INLINE.sub(sub, src.read(name))
    sst = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
        b' count="%d" uniqueCount="%d">'
        % (len(strings), len(strings))
        + b"".join(strings)
        + b"</sst>"
    )
    types = src.read("[Content_Types].xml").replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )
    rels = src.read("xl/_rels/workbook.xml.rels").replace(
        b"</Relationships>",
        b'<Relationship Id="rIdSst" Target="sharedStrings.xml" Type="http://schemas.'
        b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/></Relationships>',
    )
    replace["[Content_Types].xml"] = types
    replace["xl/_rels/workbook.xml.rels"] = rels
    return rezip(data, replace, add=[("xl/sharedStrings.xml", sst)])


def zip_bomb(data: bytes, member: str, size: int) -> bytes:
    """Replace `member` (a sheet) with well-formed XML padded by `size` bytes of spaces."""
    src = zipfile.ZipFile(io.BytesIO(data))
    sheet = src.read(member)
    head, tail = sheet.split(b"</sheetData>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as dst:
        for i in src.infolist():
            info = zipfile.ZipInfo(i.filename, date_time=ZIP_TIME)
            info.external_attr = 0o600 << 16
            if i.filename != member:
                dst.writestr(info, src.read(i.filename), zipfile.ZIP_DEFLATED, 9)
                continue
            info.compress_type = zipfile.ZIP_DEFLATED
            # ZipInfo has __slots__: compress_level from Python 3.13, _compresslevel before.
            setattr(
                info, "compress_level" if hasattr(info, "compress_level") else "_compresslevel", 9
            )
            with dst.open(info, "w") as out:
                out.write(head)
                chunk = b" " * MB
                for _ in range(size // MB):
                    out.write(chunk)
                out.write(b"</sheetData>" + tail)
    return buf.getvalue()


# =========================================================================== CSV, ok

ok(
    "ok_utf8_comma.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-10", "99.95", "Fibre cut in Lyon, restored in 2h"],
                ["CORP-1", "p1-res", "2026-10", "3.5", 'Ticket "INC-42" reopened once'],
                ["CORP-1", "csat", "2026-10", "4.2", "Enquête réalisée ✓"],
                ["CORP-1", "backlog", "2026-W42", "17", ""],
            ]
        )
    ),
    rows=4,
    readings=[
        ("CORP-1", "avail", "2026-10-01", "99.95"),
        ("CORP-1", "p1-res", "2026-10-01", "3.5"),
        ("CORP-1", "csat", "2026-10-01", "4.2"),
        ("CORP-1", "backlog", wk(2026, 42), "17"),
    ],
    about="UTF-8 without BOM, comma, LF; quoted notes with a comma and doubled quotes; é and ✓",
)

ok(
    "ok_utf8_bom.csv",
    b"\xef\xbb\xbf"
    + utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-09", "99.9", ""],
                ["CORP-1", "p1-res", "2026-09", "4", "Délai"],
            ],
            eol="\r\n",
        )
    ),
    rows=2,
    readings=[
        ("CORP-1", "avail", "2026-09-01", "99.9"),
        ("CORP-1", "p1-res", "2026-09-01", "4"),
    ],
    about="UTF-8 with BOM (the BOM must not end up in the 'contract' header), comma, CRLF",
)

_utf16_rows = table(
    [
        HEADER,
        ["CORP-1", "avail", "2026-08", "99.8", "Panne électrique, 3 h"],
        ["CORP-1", "p1-res", "2026-08", "2.75", "Pénalité 1 200 €"],
        ["CORP-1", "backlog", "2026-W35", "9", ""],
    ],
    delim="\t",
    eol="\r\n",
)
ok(
    "ok_utf16le_bom_tab.csv",
    b"\xff\xfe" + _utf16_rows.encode("utf-16-le"),
    rows=3,
    readings=[
        ("CORP-1", "avail", "2026-08-01", "99.8"),
        ("CORP-1", "p1-res", "2026-08-01", "2.75"),
        ("CORP-1", "backlog", wk(2026, 35), "9"),
    ],
    about="UTF-16 LE with BOM, tab, CRLF (Excel 'Unicode text'); notes with é, € and a comma",
)

ok(
    "ok_utf16be_bom_tab.csv",
    b"\xfe\xff"
    + table(
        [
            HEADER,
            ["CORP-1", "avail", "2026-07", "99.7", "Été calme"],
            ["CORP-1", "csat", "2026-07", "4", ""],
        ],
        delim="\t",
        eol="\r\n",
    ).encode("utf-16-be"),
    rows=2,
    readings=[
        ("CORP-1", "avail", "2026-07-01", "99.7"),
        ("CORP-1", "csat", "2026-07-01", "4"),
    ],
    about="UTF-16 BE with BOM, tab, CRLF",
)

ok(
    "ok_cp1252_semicolon.csv",
    cp1252(
        table(
            [
                HEADER,
                [
                    "CORP-1",
                    "avail",
                    "2026-10",
                    "99,95%",
                    "Maintenance planifiée \u2013 pénalité 1 200 €",
                ],
                ["CORP-1", "p1-res", "2026-10", "3,5", "Délai respecté"],
                ["CORP-1", "csat", "2026-10", "4,2", ""],
                ["CORP-1", "backlog", "2026-W43", "12", "Semaine 43"],
            ],
            delim=";",
            eol="\r\n",
        )
    ),
    rows=4,
    readings=[
        ("CORP-1", "avail", "2026-10-01", "99.95"),
        ("CORP-1", "p1-res", "2026-10-01", "3.5"),
        ("CORP-1", "csat", "2026-10-01", "4.2"),
        ("CORP-1", "backlog", wk(2026, 43), "12"),
    ],
    about="Windows-1252 (é, en dash, € are single bytes, invalid UTF-8), semicolon, decimal comma, "
    "'99,95%', CRLF: a French Excel export",
)

ok(
    "ok_semicolon_decimal_comma.csv",
    utf8(
        table(
            [
                HEADER,
                [
                    "CORP-1",
                    "avail",
                    "2026-09",
                    "99,5",
                    "Deux incidents, tous deux mineurs, clôturés",
                ],
                ["CORP-1", "p1-res", "2026-09", "2,25", ""],
                [
                    "CORP-1",
                    "csat",
                    "2026-09",
                    "3,75",
                    "Panel: 120 réponses, 3 relances, 2 plaintes, 1 retour, 0 litige",
                ],
                ["CORP-1", "backlog", "2026-W38", "12,0", ""],
                ["CORP-1", "avail", "2026-08", "99,95 %", ""],
            ],
            delim=";",
        )
    ),
    rows=5,
    readings=[
        ("CORP-1", "avail", "2026-09-01", "99.5"),
        ("CORP-1", "p1-res", "2026-09-01", "2.25"),
        ("CORP-1", "csat", "2026-09-01", "3.75"),
        ("CORP-1", "backlog", wk(2026, 38), "12.0"),
        ("CORP-1", "avail", "2026-08-01", "99.95"),
    ],
    about="semicolon with a decimal comma in every value and commas in notes: the delimiter "
    "sniffer must still pick ';' (some lines have more commas than semicolons)",
)

ok(
    "ok_tab_utf8.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-06", "99.6", "Outage, 40 min; root cause: DNS"],
                ["CORP-1", "p1-res", "2026-06", "5", "Slow; see RCA, section 2; action plan, v2"],
            ],
            delim="\t",
        )
    ),
    rows=2,
    readings=[
        ("CORP-1", "avail", "2026-06-01", "99.6"),
        ("CORP-1", "p1-res", "2026-06-01", "5"),
    ],
    about="UTF-8, tab-delimited, notes full of commas and semicolons",
)

ok(
    "ok_single_row_semicolon.csv",
    utf8(
        table(
            [
                ["contract", "sla", "period", "value"],
                ["CORP-1", "avail", "2026-10", "99,95"],
            ],
            delim=";",
            eol="\r\n",
            final_eol=False,
        )
    ),
    rows=1,
    readings=[("CORP-1", "avail", "2026-10-01", "99.95")],
    about="header + one row, semicolon, decimal comma, no note column, no final newline",
)

ok(
    "ok_percent_forms.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-10", "99.95 %", ""],
                ["CORP-1", "avail", "2026-09", "100%", ""],
                ["CORP-1", "avail", "2026-08", "0", "total outage"],
                ["CORP-1", "avail", "2026-07", "99.5", ""],
            ]
        )
    ),
    rows=4,
    readings=[
        ("CORP-1", "avail", "2026-10-01", "99.95"),
        ("CORP-1", "avail", "2026-09-01", "100"),
        ("CORP-1", "avail", "2026-08-01", "0"),
        ("CORP-1", "avail", "2026-07-01", "99.5"),
    ],
    about="percent written '99.95 %', '100%' (upper bound), '0' (lower bound), plain '99.5'",
)

ok(
    "ok_thousands_semicolon.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "p1-res", "2026-10", "1.234,5", "dot thousands, comma decimal"],
                ["CORP-1", "p1-res", "2026-09", "1 234,5", "space thousands"],
                ["CORP-1", "backlog", "2026-W40", "2.500,0", ""],
            ],
            delim=";",
        )
    ),
    rows=3,
    readings=[
        ("CORP-1", "p1-res", "2026-10-01", "1234.5"),
        ("CORP-1", "p1-res", "2026-09-01", "1234.5"),
        ("CORP-1", "backlog", wk(2026, 40), "2500.0"),
    ],
    about="thousands separators with ';': '1.234,5', '1 234,5', '2.500,0' (never a bare '1.234')",
)

ok(
    "ok_thousands_comma_quoted.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "p1-res", "2026-10", "1,234.5", ""],
                ["CORP-1", "p1-res", "2026-09", "1,234,567.5", "long outage"],
                ["CORP-1", "backlog", "2026-W41", "12,345.0", ""],
                ["CORP-1", "backlog", "2026-W42", "1 234", ""],
            ]
        )
    ),
    rows=4,
    readings=[
        ("CORP-1", "p1-res", "2026-10-01", "1234.5"),
        ("CORP-1", "p1-res", "2026-09-01", "1234567.5"),
        ("CORP-1", "backlog", wk(2026, 41), "12345.0"),
        ("CORP-1", "backlog", wk(2026, 42), "1234"),
    ],
    about="thousands separators with ',': quoted '\"1,234.5\"', '\"1,234,567.5\"', "
    "'\"12,345.0\"', unquoted '1 234' (never a bare '1,234')",
)

ok(
    "ok_thousands_nbsp_cp1252.csv",
    cp1252(
        table(
            [
                HEADER,
                ["CORP-1", "p1-res", "2026-10", "1\u00a0234,5", "Délai dépassé"],
                ["CORP-1", "avail", "2026-10", "99,9", ""],
            ],
            delim=";",
            eol="\r\n",
        )
    ),
    rows=2,
    readings=[
        ("CORP-1", "p1-res", "2026-10-01", "1234.5"),
        ("CORP-1", "avail", "2026-10-01", "99.9"),
    ],
    about="Windows-1252 with a no-break space (byte A0) as thousands separator: '1\\xa0234,5'",
)

ok(
    "ok_headers_odd.csv",
    utf8(
        table(
            [
                [" Value ", "CONTRACT", "Period", "  SLA", "NOTE "],
                [" 98.5 ", "CORP-1", "2026-05", "avail", ""],
                ["7", "CORP-1", "2026-05", "p1-res", "fine"],
            ]
        )
    ),
    rows=2,
    readings=[
        ("CORP-1", "avail", "2026-05-01", "98.5"),
        ("CORP-1", "p1-res", "2026-05-01", "7"),
    ],
    about="headers in odd case, padded, in another order; a value padded with spaces",
)

ok(
    "ok_unknown_column.csv",
    utf8(
        table(
            [
                ["contract", "sla", "period", "value", "note", "reported_by"],
                ["CORP-1", "avail", "2026-04", "99.4", "", "jdoe"],
                ["CORP-1", "csat", "2026-04", "4.1", "", "jdoe"],
            ]
        )
    ),
    rows=2,
    readings=[
        ("CORP-1", "avail", "2026-04-01", "99.4"),
        ("CORP-1", "csat", "2026-04-01", "4.1"),
    ],
    warnings=["unknown column"],
    about="an extra column 'reported_by': a warning, ignored",
)

ok(
    "ok_no_note_column.csv",
    utf8(
        table(
            [
                ["contract", "sla", "period", "value"],
                ["CORP-1", "avail", "2026-03", "99.3"],
                ["CORP-1", "backlog", "2026-W12", "4"],
            ],
            final_eol=False,
        )
    ),
    rows=2,
    readings=[
        ("CORP-1", "avail", "2026-03-01", "99.3"),
        ("CORP-1", "backlog", wk(2026, 12), "4"),
    ],
    about="no note column (optional); no final newline",
)

ok(
    "ok_short_rows_without_note.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-04", "99.4"],
                ["CORP-1", "p1-res", "2026-04", "6", "late vendor"],
                ["CORP-1", "csat", "2026-04", "3.9"],
            ]
        )
    ),
    rows=3,
    readings=[
        ("CORP-1", "avail", "2026-04-01", "99.4"),
        ("CORP-1", "p1-res", "2026-04-01", "6"),
        ("CORP-1", "csat", "2026-04-01", "3.9"),
    ],
    about="rows that stop before the optional trailing note field: accepted (decision)",
)

ok(
    "ok_blank_lines.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-02", "99.2", ""],
                "",
                ["CORP-1", "p1-res", "2026-02", "3", ""],
                "",
                "",
                ["CORP-1", "csat", "2026-02", "4.4", ""],
                "",
                "",
            ]
        )
    ),
    rows=3,
    readings=[
        ("CORP-1", "avail", "2026-02-01", "99.2"),
        ("CORP-1", "p1-res", "2026-02-01", "3"),
        ("CORP-1", "csat", "2026-02-01", "4.4"),
    ],
    about="blank lines in the middle and at the end are skipped",
)

ok(
    "ok_trailing_empty_rows.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-01", "99.1", ""],
                ["CORP-1", "p1-res", "2026-01", "2.5", ""],
                ",,,,",
                ",,,,",
                ",,,,",
            ],
            eol="\r\n",
        )
    ),
    rows=2,
    readings=[
        ("CORP-1", "avail", "2026-01-01", "99.1"),
        ("CORP-1", "p1-res", "2026-01-01", "2.5"),
    ],
    about="Excel-style rows of empty fields (',,,,') at the end count as blank (decision)",
)

ok(
    "ok_quoted_multiline_note.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2025-12", "99.8", "Line one\nLine two, with comma"],
                ["CORP-1", "p1-res", "2025-12", "3.25", 'He said "fixed", then ""re-opened""'],
            ]
        )
    ),
    rows=2,
    readings=[
        ("CORP-1", "avail", "2025-12-01", "99.8"),
        ("CORP-1", "p1-res", "2025-12-01", "3.25"),
    ],
    about="a quoted note spanning two lines and notes with escaped quotes",
)

ok(
    "ok_formula_note.csv",
    utf8(
        table(
            [
                HEADER,
                [
                    "CORP-1",
                    "avail",
                    "2026-03",
                    "99.9",
                    '=HYPERLINK("http://evil.example/x","click me")',
                ],
                ["CORP-1", "p1-res", "2026-03", "2", "+SUM(1,2)"],
                ["CORP-1", "csat", "2026-03", "4", "@cmd|' /C calc'!A0"],
                ["CORP-1", "backlog", "2026-W10", "3", "-1+2"],
            ]
        )
    ),
    rows=4,
    readings=[
        ("CORP-1", "avail", "2026-03-01", "99.9"),
        ("CORP-1", "p1-res", "2026-03-01", "2"),
        ("CORP-1", "csat", "2026-03-01", "4"),
        ("CORP-1", "backlog", wk(2026, 10), "3"),
    ],
    about="notes that look like spreadsheet formulas (=, +, @, -) on valid rows: stored as text "
    "(escaping them is an export concern)",
)

ok(
    "ok_weekly.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "backlog", "2026-W42", "20", ""],
                ["CORP-1", "backlog", "2026-10-22", "18", "a Thursday"],
                ["CORP-1", "backlog", "2026-W47", "11", "last ended week"],
                ["CORP-1", "backlog", "2026-11-08", "14", "a Sunday"],
                ["CORP-1", "backlog", "2025-W02", "30", "first full week of the term"],
            ]
        )
    ),
    rows=5,
    readings=[
        ("CORP-1", "backlog", wk(2026, 42), "20"),
        ("CORP-1", "backlog", "2026-10-19", "18"),
        ("CORP-1", "backlog", wk(2026, 47), "11"),
        ("CORP-1", "backlog", "2026-11-02", "14"),
        ("CORP-1", "backlog", wk(2025, 2), "30"),
    ],
    about="weekly SLA: ISO weeks and dates inside a week (Thursday, Sunday) -> Monday; W47 is "
    "the last week ended by 2026-11-25",
)

ok(
    "ok_period_forms.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-10", "99.1", "last ended month"],
                ["CORP-1", "avail", "2026-09-01", "99.2", ""],
                ["CORP-1", "avail", "2026-08-31", "99.3", "last day of the month"],
                ["CORP-1", "avail", "2025-01", "99.5", "first month of the term"],
                ["CORP-1", "p1-res", "2025-01-31", "2", ""],
            ]
        )
    ),
    rows=5,
    readings=[
        ("CORP-1", "avail", "2026-10-01", "99.1"),
        ("CORP-1", "avail", "2026-09-01", "99.2"),
        ("CORP-1", "avail", "2026-08-01", "99.3"),
        ("CORP-1", "avail", "2025-01-01", "99.5"),
        ("CORP-1", "p1-res", "2025-01-01", "2"),
    ],
    about="monthly periods as YYYY-MM, first day, last day; the term's first month",
)

ok(
    "ok_period_datetime_text.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-07-15 00:00:00", "99.4", ""],
                ["CORP-1", "backlog", "2026-10-14 13:45:00", "6", ""],
            ]
        )
    ),
    rows=2,
    readings=[
        ("CORP-1", "avail", "2026-07-01", "99.4"),
        ("CORP-1", "backlog", wk(2026, 42), "6"),
    ],
    about="dates with a time, as spreadsheets export them (contracts.periods.parse_period "
    "accepts these) (decision)",
)

ok(
    "ok_duplicate_same_value.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-10", "99.9", ""],
                ["CORP-1", "avail", "2026-10", "99.9", ""],
                ["CORP-1", "p1-res", "2026-10", "4.5", ""],
                ["CORP-1", "p1-res", "2026-10-20", "4.5", ""],
            ]
        )
    ),
    rows=4,
    readings=[
        ("CORP-1", "avail", "2026-10-01", "99.9"),
        ("CORP-1", "p1-res", "2026-10-01", "4.5"),
    ],
    about="the same key twice with the same value (once verbatim, once with the period spelt "
    "differently): stored once",
)

ok(
    "ok_note_500_chars.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-10", "99.9", "é" * 500],
            ]
        )
    ),
    rows=1,
    readings=[("CORP-1", "avail", "2026-10-01", "99.9")],
    about="a note of exactly 500 characters (1000 UTF-8 bytes): Reading.note max_length is 500 "
    "characters",
)

# ===================================================================== CSV, rejected

rejected(
    "bad_zero_bytes.csv",
    b"",
    errors=[(None, None, "no data rows")],
    about="an empty file",
)

rejected(
    "bad_header_only.csv",
    utf8(table([HEADER])),
    errors=[(None, None, "no data rows")],
    about="header and nothing else",
)

rejected(
    "bad_header_then_blank_lines.csv",
    utf8(table([HEADER, "", "", ""])),
    errors=[(None, None, "no data rows")],
    about="header followed by blank lines only",
)

_rng = random.Random(20261125)
rejected(
    "bad_binary.csv",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(_rng.randrange(256) for _ in range(2048)),
    errors=[(None, None, "not a text")],
    about="binary bytes (PNG signature, NULs, bytes undefined in Windows-1252) named .csv",
)

rejected(
    "bad_missing_value_column.csv",
    utf8(
        table(
            [
                ["contract", "sla", "period", "note"],
                ["CORP-1", "avail", "2026-10", "99.9"],
            ]
        )
    ),
    errors=[(1, "value", "missing column")],
    about="no value column (reported on the header row, row 1)",
)

rejected(
    "bad_no_header.csv",
    utf8(
        table(
            [
                ["CORP-1", "avail", "2026-10", "99.9", ""],
                ["CORP-1", "p1-res", "2026-10", "3", ""],
            ]
        )
    ),
    errors=[(1, "contract", "missing column"), (1, "value", "missing column")],
    about="the first line is data, not a header",
)

rejected(
    "bad_duplicate_header.csv",
    utf8(
        table(
            [
                ["contract", "sla", "period", "value", "note", " VALUE"],
                ["CORP-1", "avail", "2026-10", "99.9", "", "98"],
            ]
        )
    ),
    errors=[(1, "value", "appears twice")],
    about="'value' and ' VALUE': the same header once matched case-insensitively and trimmed",
)

rejected(
    "bad_ragged_rows.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-09", "99.9", "ok"],
                ["CORP-1", "p1-res", "2026-09", "4", "ok", "unexpected"],
                ["CORP-1", "csat", "2026-09"],
                ["CORP-1", "backlog", "2026-W39", "7", ""],
            ]
        )
    ),
    errors=[(3, None, "fields"), (4, "value", "value")],
    about="row 3 has six fields; row 4 stops before the value",
)

_blank_lines = [
    HEADER,
    ["CORP-1", "avail", "2026-09", "99.9", ""],
    "",
    ["CORP-1", "p1-res", "2026-09", "4", ""],
    "",
    "",
    ["CORP-1", "csat", "2026-09", "abc", ""],
    ["CORP-1", "backlog", "2026-W39", "7", ""],
    "",
    ["CORP-1", "uptime", "2026-09", "99", ""],
]
rejected(
    "bad_blank_lines_lf.csv",
    utf8(table(_blank_lines)),
    errors=[(7, "value", "not a number"), (10, "sla", "unknown SLA")],
    about="row numbers after blank lines (LF): errors on lines 7 and 10",
)
rejected(
    "bad_blank_lines_crlf.csv",
    utf8(table(_blank_lines, eol="\r\n")),
    errors=[(7, "value", "not a number"), (10, "sla", "unknown SLA")],
    about="the same with CRLF line ends: still lines 7 and 10",
)

rejected(
    "bad_value_not_number.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-10", "99.9", ""],
                ["CORP-1", "p1-res", "2026-10", "abc", ""],
                ["CORP-1", "csat", "2026-10", "=1+1", ""],
                ["CORP-1", "csat", "2026-09", "NaN", ""],
                ["CORP-1", "p1-res", "2026-09", "Infinity", ""],
                ["CORP-1", "avail", "2026-09", "", "forgot the value"],
                ["CORP-1", "p1-res", "2026-08", "12 hours", ""],
            ]
        )
    ),
    errors=[
        (3, "value", "not a number"),
        (4, "value", "not a number"),
        (5, "value", "not a number"),
        (6, "value", "not a number"),
        (7, "value", "value"),
        (8, "value", "not a number"),
    ],
    about="'abc', a formula '=1+1', 'NaN' and 'Infinity' (Decimal parses both!), an empty value, "
    "'12 hours'",
)

rejected(
    "bad_percent_on_non_percent.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "p1-res", "2026-10", "12%", ""],
                ["CORP-1", "csat", "2026-10", "4 %", ""],
                ["CORP-1", "backlog", "2026-W42", "5%", ""],
                ["CORP-1", "avail", "2026-10", "99%", "fine"],
            ]
        )
    ),
    errors=[(2, "value", "%"), (3, "value", "%"), (4, "value", "%")],
    about="a % sign on hours, score and count values",
)

rejected(
    "bad_percent_range.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-10", "100.5", ""],
                ["CORP-1", "avail", "2026-09", "101 %", ""],
                ["CORP-1", "avail", "2026-08", "100", "fine"],
            ]
        )
    ),
    errors=[(2, "value", "between 0 and 100"), (3, "value", "between 0 and 100")],
    about="percent above 100",
)

rejected(
    "bad_negative.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "p1-res", "2026-10", "-2", ""],
                ["CORP-1", "backlog", "2026-W42", "-1", ""],
                ["CORP-1", "csat", "2026-10", "-0.5", ""],
                ["CORP-1", "avail", "2026-10", "99.9", "fine"],
            ]
        )
    ),
    errors=[
        (2, "value", "can't be negative"),
        (3, "value", "can't be negative"),
        (4, "value", "can't be negative"),
    ],
    about="negative hours, count and score",
)

rejected(
    "bad_unknown_contract.csv",
    utf8(
        table(
            [
                HEADER,
                ["OTHER-1", "avail", "2026-10", "99.9", ""],
                ["NOPE-9", "avail", "2026-10", "99.9", ""],
                ["CORP-1", "avail", "2026-10", "99.9", "fine"],
            ]
        )
    ),
    errors=[(2, "contract", "unknown contract"), (3, "contract", "unknown contract")],
    about="OTHER-1 (another vendor's contract, same SLA code) must read exactly like the "
    "non-existent NOPE-9",
)

rejected(
    "bad_unknown_sla.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "uptime", "2026-10", "99.9", ""],
                ["CORP-1", "avail", "2026-10", "99.9", "fine"],
            ]
        )
    ),
    errors=[(2, "sla", "unknown SLA")],
    about="an SLA code the contract does not have",
)

rejected(
    "bad_future_period.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-11", "99.9", ""],
                ["CORP-1", "backlog", "2026-W48", "5", ""],
                ["CORP-1", "backlog", "2026-11-23", "5", "Monday of W48"],
                ["CORP-1", "p1-res", "2026-12-01", "3", ""],
                ["CORP-1", "csat", "2026-11-25", "4", "today"],
                ["CORP-1", "avail", "2026-10", "99.9", "fine"],
            ]
        )
    ),
    errors=[
        (2, "period", "has not ended"),
        (3, "period", "has not ended"),
        (4, "period", "has not ended"),
        (5, "period", "has not ended"),
        (6, "period", "has not ended"),
    ],
    about="periods not ended on 2026-11-25: 2026-11, W48, a date in W48, December, today",
)

rejected(
    "bad_outside_term.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2024-12", "99.9", ""],
                ["CORP-1", "backlog", "2024-W50", "5", ""],
                ["CORP-1", "p1-res", "2024-12-31", "3", ""],
                ["CORP-1", "csat", "2023-06-15", "4", ""],
                ["CORP-1", "avail", "2025-01", "99.9", "fine"],
            ]
        )
    ),
    errors=[
        (2, "period", "outside the contract term"),
        (3, "period", "outside the contract term"),
        (4, "period", "outside the contract term"),
        (5, "period", "outside the contract term"),
    ],
    about="periods before the term (2025-01-01)",
)

rejected(
    "bad_not_a_period.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-13", "99.9", ""],
                ["CORP-1", "avail", "soon", "99.9", ""],
                ["CORP-1", "backlog", "2026-10", "5", "a month for a weekly SLA"],
                ["CORP-1", "backlog", "2026-W54", "5", ""],
                ["CORP-1", "p1-res", "", "3", "no period"],
                ["CORP-1", "csat", "Oct 2026", "4", ""],
                ["CORP-1", "avail", "2026-08", "99.9", "fine"],
            ]
        )
    ),
    errors=[
        (2, "period", "not a period"),
        (3, "period", "not a period"),
        (4, "period", "not a period"),
        (5, "period", "not a period"),
        (6, "period", "period"),
        (7, "period", "not a period"),
    ],
    about="month 13, words, a month for a weekly SLA, week 54, an empty period, 'Oct 2026'",
)

rejected(
    "bad_week_for_monthly_sla.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-W42", "99.9", ""],
                ["CORP-1", "p1-res", "2026-10", "3", "fine"],
            ]
        )
    ),
    errors=[(2, "period", "not a period")],
    about="an ISO week for a monthly SLA (decision: Python 3.11's date.fromisoformat accepts "
    "'2026-W42', so parse_period currently maps it to October)",
)

rejected(
    "bad_duplicate_different.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-10", "99.9", ""],
                ["CORP-1", "p1-res", "2026-10", "4", ""],
                ["CORP-1", "avail", "2026-10", "99.5", ""],
            ]
        )
    ),
    errors=[(2, "value", "appears twice"), (4, "value", "appears twice")],
    about="the same contract/SLA/period twice with different values: an error on both rows",
)

rejected(
    "bad_duplicate_period_spelling.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-10", "99.9", ""],
                ["CORP-1", "avail", "2026-10-15", "99.5", ""],
                ["CORP-1", "backlog", "2026-W42", "10", ""],
                ["CORP-1", "backlog", "2026-10-14", "11", "Wednesday of W42"],
            ]
        )
    ),
    errors=[
        (2, "value", "appears twice"),
        (3, "value", "appears twice"),
        (4, "value", "appears twice"),
        (5, "value", "appears twice"),
    ],
    about="duplicates only visible after normalising the period (2026-10 vs 2026-10-15, W42 vs "
    "a date in W42)",
)

rejected(
    "bad_long_note.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-10", "99.9", ""],
                ["CORP-1", "p1-res", "2026-10", "3", "x" * MB],
            ]
        )
    ),
    errors=[(3, "note", "too long")],
    about="a 1 MiB note on row 3 (beyond csv's default 128 KiB field limit too)",
)

rejected(
    "bad_long_value.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-10", "99.9", ""],
                ["CORP-1", "p1-res", "2026-10", "9" * MB, ""],
            ]
        )
    ),
    errors=[(3, "value", "too long")],
    about="a 1 MiB value (a million digits) on row 3",
)

rejected(
    "bad_note_501_chars.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-10", "99.9", "n" * 501],
            ]
        )
    ),
    errors=[(2, "note", "too long")],
    about="a 501-character note: Reading.note holds 500 (decision: reject, don't truncate)",
)

# ============================================ CSV and JSON: numbers and text, hostile

# The decimal mark is decided once per file (README, "The upload format"): from the values
# that can be read one way only, and the delimiter (`;` comma, `,` point, tab nothing).
# A value such as 1.200 or 1,200 (1.2 or 1200?) is read by it, or refused when the file
# doesn't settle it.


def json_rows(rows: list[dict]) -> bytes:
    """An API batch as the API stores it: NUL and lone surrogates escaped (\\u0000, \\ud800)."""
    return json.dumps({"rows": rows}, sort_keys=True).encode()


ok(
    "ok_semicolon_thousands_dot.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "p1-res", "2026-10", "1.200", "a dot groups thousands"],
                ["CORP-1", "backlog", "2026-W42", "2.500", ""],
                ["CORP-1", "csat", "2026-10", "4", ""],
                ["CORP-1", "avail", "2026-10", "99,5", "a decimal comma, as the delimiter says"],
                ["CORP-1", "backlog", "2026-W41", "1.234.567", ""],
            ],
            delim=";",
        )
    ),
    rows=5,
    readings=[
        ("CORP-1", "p1-res", "2026-10-01", "1200"),
        ("CORP-1", "backlog", wk(2026, 42), "2500"),
        ("CORP-1", "csat", "2026-10-01", "4"),
        ("CORP-1", "avail", "2026-10-01", "99.5"),
        ("CORP-1", "backlog", wk(2026, 41), "1234567"),
    ],
    about="';' and decimal commas: '1.200' is 1200 (the European thousands dot), not 1.2",
)

ok(
    "ok_semicolon_integers_thousands_dot.csv",
    utf8(
        table(
            [["contract", "sla", "period", "value"], ["CORP-1", "p1-res", "2026-10", "1.200"]],
            delim=";",
        )
    ),
    rows=1,
    readings=[("CORP-1", "p1-res", "2026-10-01", "1200")],
    about="';' and no value showing a decimal mark: the delimiter decides (comma), 1.200 = 1200",
)

ok(
    "ok_excel_sep_line.csv",
    b"sep=;\r\n"
    + utf8(
        table(
            [
                HEADER,
                ["CORP-1", "p1-res", "2026-10", "1.200", "a dot groups thousands"],
                ["CORP-1", "avail", "2026-10", "99,5", ""],
            ],
            delim=";",
            eol="\r\n",
        )
    ),
    rows=2,
    readings=[
        ("CORP-1", "p1-res", "2026-10-01", "1200"),
        ("CORP-1", "avail", "2026-10-01", "99.5"),
    ],
    about="Excel's 'sep=;' first line names the delimiter and is no row (Excel doesn't show it)",
)

ok(
    "ok_comma_thousands_alone.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "p1-res", "2026-10", "1,200", "quoted: a thousands comma"],
                ["CORP-1", "avail", "2026-10", "99.5", ""],
            ]
        )
    ),
    rows=2,
    readings=[
        ("CORP-1", "p1-res", "2026-10-01", "1200"),
        ("CORP-1", "avail", "2026-10-01", "99.5"),
    ],
    about="',' and decimal points: '\"1,200\"' is 1200",
)

ok(
    "ok_signs_and_zero.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "p1-res", "2026-10", "-0", "minus zero is zero"],
                ["CORP-1", "csat", "2026-10", "+4.5", ""],
                ["CORP-1", "avail", "2026-10", ".5", ""],
                ["CORP-1", "avail", "2026-09", "99.9999990", "seven places, the last a zero"],
            ]
        )
    ),
    rows=4,
    readings=[
        ("CORP-1", "p1-res", "2026-10-01", "0"),
        ("CORP-1", "csat", "2026-10-01", "4.5"),
        ("CORP-1", "avail", "2026-10-01", "0.5"),
        ("CORP-1", "avail", "2026-09-01", "99.999999"),
    ],
    about="'-0', '+4.5', '.5', and a seventh decimal place that is a zero (nothing is rounded)",
)

ok(
    "ok_cr_only.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-10", "99.9", "old Mac line ends"],
                "",
                ["CORP-1", "p1-res", "2026-10", "2", ""],
            ],
            eol="\r",
        )
    ),
    rows=2,
    readings=[
        ("CORP-1", "avail", "2026-10-01", "99.9"),
        ("CORP-1", "p1-res", "2026-10-01", "2"),
    ],
    about="CR-only line ends (classic Mac), with a blank line",
)

ok(
    "ok_bom_inside.csv",
    b"\xef\xbb\xbf"
    + utf8(table([HEADER, ["CORP-1", "avail", "2026-10", "99.9", ""]]))
    + b"\xef\xbb\xbf"
    + utf8(table([["CORP-1", "p1-res", "2026-10", "2", ""]])),
    rows=2,
    readings=[
        ("CORP-1", "avail", "2026-10-01", "99.9"),
        ("CORP-1", "p1-res", "2026-10-01", "2"),
    ],
    about="a byte order mark at the start of row 3 too (two exports joined): not part of 'CORP-1'",
)

ok(
    "ok_many_unknown_columns.csv",
    utf8(
        table(
            [
                ["contract", "sla", "period", "value"] + [f"x{i}" for i in range(50_000)],
                ["CORP-1", "avail", "2026-10", "99.9"],
            ]
        )
    ),
    rows=1,
    readings=[("CORP-1", "avail", "2026-10-01", "99.9")],
    warnings=["unknown column 'x0'", "and 49,980 more unknown columns"],
    about="50,000 unknown columns: 20 named warnings and one that counts the rest",
)

ok(
    "ok_json_numbers.json",
    b'{"rows": [\n'
    b'{"contract": "CORP-1", "sla": "p1-res", "period": "2026-10", "value": 1.200},\n'
    b'{"contract": "CORP-1", "sla": "avail", "period": "2026-10", "value": 99.95},\n'
    b'{"contract": "CORP-1", "sla": "backlog", "period": "2026-W42", "value": 12},\n'
    b'{"contract": "CORP-1", "sla": "avail", "period": "2026-09", "value": "99,5"},\n'
    b'{"contract": "CORP-1", "sla": "csat", "period": "2026-10", "value": 4E0}\n'
    b"]}\n",
    rows=5,
    readings=[
        ("CORP-1", "p1-res", "2026-10-01", "1.2"),
        ("CORP-1", "avail", "2026-10-01", "99.95"),
        ("CORP-1", "backlog", wk(2026, 42), "12"),
        ("CORP-1", "avail", "2026-09-01", "99.5"),
        ("CORP-1", "csat", "2026-10-01", "4"),
    ],
    about="JSON numbers are the numbers they spell (1.200 is 1.2, 4E0 is 4); a string '99,5' "
    "is read like a CSV value",
)

rejected(
    "bad_comma_file_decimal_comma_and_thousands.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-10", "99,95", ""],
                ["CORP-1", "p1-res", "2026-10", "1,200", "1.2 or 1200?"],
            ]
        )
    ),
    errors=[(3, "value", "ambiguous")],
    about="',' delimiter but a decimal comma in '\"99,95\"': '\"1,200\"' is not settled",
)

rejected(
    "bad_semicolon_point_and_thousands.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-10", "99.95", ""],
                ["CORP-1", "p1-res", "2026-10", "1.200", "1.2 or 1200?"],
            ],
            delim=";",
        )
    ),
    errors=[(3, "value", "ambiguous")],
    about="';' delimiter but a decimal point in '99.95': '1.200' is not settled",
)

rejected(
    "bad_tab_ambiguous.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "p1-res", "2026-10", "1.200", ""],
                ["CORP-1", "csat", "2026-10", "4", ""],
            ],
            delim="\t",
        )
    ),
    errors=[(2, "value", "ambiguous")],
    about="a tab says nothing about the decimal mark and no value does either",
)

rejected(
    "bad_both_decimal_marks.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-10", "99.95", ""],
                ["CORP-1", "csat", "2026-10", "4,5", ""],
                ["CORP-1", "p1-res", "2026-10", "2.500", "2.5 or 2500?"],
            ],
            delim="\t",
        )
    ),
    errors=[(4, "value", "ambiguous")],
    about="values with a decimal point and with a decimal comma: '2.500' is not settled",
)

rejected(
    "bad_json_ambiguous_string.json",
    json_rows([{"contract": "CORP-1", "sla": "p1-res", "period": "2026-10", "value": "1,200"}]),
    errors=[(1, "value", "ambiguous")],
    about="a JSON string '1,200' (a JSON number would be plain): JSON says nothing of the mark",
)

_hostile = [
    ("1e400", "not a number"),
    ("NaN", "not a number"),
    ("inf", "not a number"),
    ("-Infinity", "not a number"),
    ("\u0661\u0662\u0663", "digits 0 to 9"),  # Arabic-Indic 123
    ("\uff11\uff12\uff13", "digits 0 to 9"),  # full-width 123
    ("+", "not a number"),
    (".", "not a number"),
    ("5.", "not a number"),
    ("--5", "not a number"),
    ("1 2", "not a number"),
    ("1.23.456", "not a number"),
    ("0x10", "not a number"),
    ("%", "not a number"),
    ("12%%", "not a number"),
    ("9" * 60, "too large"),
    ("0.0000001", "more than 6 decimal places"),
]
rejected(
    "bad_hostile_numbers.csv",
    utf8(
        table(
            [HEADER]
            + [
                ["CORP-1", "p1-res", f"2025-{m:02d}", v, ""]
                for m, (v, _) in enumerate(_hostile[:12], 1)
            ]
            + [
                ["CORP-1", "p1-res", f"2026-{m:02d}", v, ""]
                for m, (v, _) in enumerate(_hostile[12:], 1)
            ]
            + [["CORP-1", "avail", "2026-10", "99.9999995", "would round to 100"]]
        )
    ),
    errors=[(r, "value", f) for r, (_, f) in enumerate(_hostile, 2)]
    + [(len(_hostile) + 2, "value", "more than 6 decimal places")],
    about="exponents, NaN and infinities, Arabic-Indic and full-width digits (Decimal reads both), "
    "a lone sign or point, bad grouping, hex, a bare %, 60 digits, 7 decimal places",
)

rejected(
    "bad_json_hostile_numbers.json",
    b'{"rows": [\n'
    b'{"contract": "CORP-1", "sla": "p1-res", "period": "2026-10", "value": 1e400},\n'
    b'{"contract": "CORP-1", "sla": "p1-res", "period": "2026-09", "value": NaN},\n'
    b'{"contract": "CORP-1", "sla": "p1-res", "period": "2026-08", "value": 1e-7},\n'
    b'{"contract": "CORP-1", "sla": "p1-res", "period": "2026-07", "value": -Infinity},\n'
    b'{"contract": "CORP-1", "sla": "p1-res", "period": "2026-06", "value": true}\n'
    b"]}\n",
    errors=[
        (1, "value", "too large"),
        (2, "value", "not a number"),
        (3, "value", "more than 6 decimal places"),
        (4, "value", "not a number"),
        (5, "value", "not a number"),
    ],
    about="JSON numbers out of range (1e400), Python's NaN and -Infinity extensions, 1e-7, true",
)

rejected(
    "bad_json_nul_and_surrogate.json",
    json_rows(
        [
            {
                "contract": "CORP-1",
                "sla": "avail",
                "period": "2026-10",
                "value": 1,
                "note": "a\x00b",
            },
            {"contract": "CORP-\ud800", "sla": "avail", "period": "2026-09", "value": 2},
            {"contract": "CORP-1", "sla": "avail", "period": "2026-08", "value": "9\x009"},
        ]
    ),
    errors=[(1, "note", "NUL"), (2, "contract", "surrogate"), (3, "value", "NUL")],
    about="NUL characters and a lone surrogate (PostgreSQL stores neither): refused, not a 500",
)

rejected(
    "bad_json_nul_in_field_name.json",
    json_rows(
        [{"contract": "CORP-1", "sla": "avail", "period": "2026-10", "value": 1, "x\x00": 1}]
    ),
    errors=[(None, None, "NUL")],
    about="a NUL in a field name (a JSON body has no header row: a file-level error)",
)

rejected(
    "bad_nul_in_csv.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-10", "99.9", "n" * 5000],
                ["CORP-1", "p1-res", "2026-10", "2", "a\x00b"],
            ]
        )
    ),
    errors=[(3, "note", "NUL")],
    about="a NUL character past the first 4 KB (where it would mean a binary file)",
)

rejected(
    "bad_mixed_utf8_cp1252.csv",
    utf8(table([HEADER]))
    + cp1252(table([["CORP-1", "disponibilité", "2026-10", "99.9", "saved in Excel"]]))
    + utf8(table([["CORP-1", "disponibilité", "2026-09", "99.9", "added in an editor"]])),
    errors=[(2, "sla", "unknown SLA 'disponibilité'"), (3, "sla", "unknown SLA 'disponibilité'")],
    about="a Windows-1252 line and a UTF-8 line: each decoded right, never 'disponibilitÃ©'",
)

rejected(
    "bad_multiline_note_then_errors.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-10", "99.9", "line one\nline two\nline three"],
                ["CORP-1", "p1-res", "2026-10", "abc", ""],
                "",
                ["CORP-1", "uptime", "2026-10", "1", ""],
            ]
        )
    ),
    errors=[(3, "value", "not a number"), (5, "sla", "unknown SLA")],
    about="a three-line note is one row, as Excel and LibreOffice show it: errors on rows 3 and 5 "
    "(physical lines 5 and 7)",
)

rejected(
    "bad_unclosed_quote.csv",
    utf8(
        table(
            [
                HEADER,
                ["CORP-1", "avail", "2026-10", "99.9", "fine"],
                'CORP-1,p1-res,2026-10,2,"the quote is never closed',
                ["CORP-1", "csat", "2026-10", "4", ""],
                ["CORP-1", "avail", "2026-09", "99.9", ""],
            ]
        )
    ),
    errors=[(None, None, "row 3 opens a quoted cell")],
    about="an unclosed quote would swallow every row after it into one note, silently",
)

rejected(
    "bad_repeated_header.csv",
    b"\xef\xbb\xbf"
    + utf8(table([HEADER, ["CORP-1", "avail", "2026-10", "99.9", ""]]))
    + b"\xef\xbb\xbf"
    + utf8(table([HEADER, ["CORP-1", "p1-res", "2026-10", "2", ""]])),
    errors=[(3, None, "repeats the header")],
    about="two exports joined: the second header (after its byte order mark) is row 3",
)


# ========================================================================== XLSX, ok

ok(
    "ok_xlsx_basic.xlsx",
    workbook(
        [
            (
                "readings",
                [
                    HEADER,
                    ["CORP-1", "avail", date(2026, 10, 1), 99.95, "Excel date"],
                    ["CORP-1", "p1-res", date(2026, 10, 15), 3.25, None],
                    ["CORP-1", "csat", "2026-10", 4, "text period"],
                    ["CORP-1", "backlog", date(2026, 10, 14), 17, "a Wednesday"],
                    ["CORP-1", "backlog", "2026-W43", 15, None],
                    ["CORP-1", "avail", datetime(2026, 9, 30, 23, 59), 99.9, "date and time"],
                ],
            )
        ],
        shared_strings=True,
    ),
    rows=6,
    readings=[
        ("CORP-1", "avail", "2026-10-01", "99.95"),
        ("CORP-1", "p1-res", "2026-10-01", "3.25"),
        ("CORP-1", "csat", "2026-10-01", "4"),
        ("CORP-1", "backlog", wk(2026, 42), "17"),
        ("CORP-1", "backlog", wk(2026, 43), "15"),
        ("CORP-1", "avail", "2026-09-01", "99.9"),
    ],
    about="one sheet 'readings'; real Excel dates (and a date-time) in the period column; numeric "
    "cells are floats (99.95 -> 99.95, not 99.9500000000000028...; 99.9 is stored in the XML as "
    "'99.90000000000001', like Excel's own 17-digit numbers); shared strings",
)

ok(
    "ok_xlsx_readings_second.xlsx",
    workbook(
        [
            (
                "Instructions",
                [
                    ["How to fill in: one row per contract, SLA and month"],
                    None,
                    HEADER,
                    ["CORP-1", "avail", "2026-10", 50, "example row, not data"],
                ],
            ),
            (
                "readings",
                [
                    HEADER,
                    ["CORP-1", "avail", date(2026, 10, 1), 99.5, None],
                    ["CORP-1", "p1-res", date(2026, 10, 1), 2, None],
                ],
            ),
        ],
        shared_strings=True,
    ),
    rows=2,
    readings=[
        ("CORP-1", "avail", "2026-10-01", "99.5"),
        ("CORP-1", "p1-res", "2026-10-01", "2"),
    ],
    about="the 'readings' sheet is second; the first sheet has instructions and an example row",
)

ok(
    "ok_xlsx_first_sheet_fallback.xlsx",
    workbook(
        [
            (
                "Data",
                [
                    ["Contract", " SLA ", "PERIOD", "Value", "Note"],
                    ["CORP-1", "avail", date(2026, 8, 1), 99.2, None],
                    ["CORP-1", "p1-res", date(2026, 8, 1), 1.5, None],
                ],
            ),
            (
                "Notes",
                [
                    HEADER,
                    ["CORP-1", "avail", "2026-08", 1, "not data"],
                ],
            ),
        ]
    ),
    rows=2,
    readings=[
        ("CORP-1", "avail", "2026-08-01", "99.2"),
        ("CORP-1", "p1-res", "2026-08-01", "1.5"),
    ],
    about="no 'readings' sheet: the first sheet ('Data') is read, headers in odd case; inline "
    "strings (as openpyxl writes them)",
)

ok(
    "ok_xlsx_text_cells.xlsx",
    workbook(
        [
            (
                "readings",
                [
                    HEADER,
                    ["CORP-1", "avail", "2026-10", "99,95%", None],
                    ["CORP-1", "p1-res", "2026-10-01", "3,5", None],
                    ["CORP-1", "backlog", "2026-W42", "1 234", None],
                ],
            )
        ],
        shared_strings=True,
    ),
    rows=3,
    readings=[
        ("CORP-1", "avail", "2026-10-01", "99.95"),
        ("CORP-1", "p1-res", "2026-10-01", "3.5"),
        ("CORP-1", "backlog", wk(2026, 42), "1234"),
    ],
    about="every cell is text (a column formatted as Text): values parsed like CSV values",
)

ok(
    "ok_xlsx_date1904.xlsx",
    workbook(
        [
            (
                "readings",
                [
                    HEADER,
                    ["CORP-1", "avail", date(2026, 10, 1), 99.9, None],
                    ["CORP-1", "backlog", date(2026, 10, 14), 5, None],
                ],
            )
        ],
        epoch=CALENDAR_MAC_1904,
    ),
    rows=2,
    readings=[
        ("CORP-1", "avail", "2026-10-01", "99.9"),
        ("CORP-1", "backlog", wk(2026, 42), "5"),
    ],
    about="a workbook in the 1904 date system (old Excel for Mac): date serials are 1462 days "
    "smaller",
)

ok(
    "ok_xlsx_far_styled_cell.xlsx",
    workbook(
        [
            (
                "readings",
                [
                    HEADER,
                    ["CORP-1", "avail", date(2026, 7, 1), 99.7, None],
                    None,
                    ["CORP-1", "csat", date(2026, 7, 1), 4.5, None],
                ],
            )
        ],
        style_far_cell=True,
    ),
    rows=2,
    readings=[
        ("CORP-1", "avail", "2026-07-01", "99.7"),
        ("CORP-1", "csat", "2026-07-01", "4.5"),
    ],
    about="a blank row, and a formatted but empty cell at XFD1048576 (dimension A1:XFD1048576): "
    "not data; iterating the full dimension is 17 billion cells, so this checks speed too",
)


def _worst_cases():
    """metrics.ingest.worst_cases (standard library only), from the repository root."""
    import sys

    sys.path.insert(0, str(HERE.parents[1]))
    from metrics.ingest import worst_cases

    return worst_cases


WC = _worst_cases()


def _raw_row(number: int, cells: list) -> bytes:
    """A sheet row as Excel writes it: strings inline, numbers as numbers."""
    parts = []
    for column, value in enumerate(cells):
        ref = f"{chr(65 + column)}{number}"
        if isinstance(value, str):
            parts.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
        elif value is not None:
            parts.append(f'<c r="{ref}"><v>{value!r}</v></c>')
    return f'<row r="{number}">{"".join(parts)}</row>'.encode()


ok(
    "ok_xlsx_dimension_claims_whole_sheet.xlsx",
    WC.xlsx(
        [_raw_row(1, HEADER[:4]), _raw_row(2, ["CORP-1", "avail", "2026-09", 99.9])],
        dimension="A1:XFD1048576",
    ),
    rows=1,
    readings=[("CORP-1", "avail", "2026-09-01", "99.9")],
    about="<dimension ref='A1:XFD1048576'> over one row of data: a declared range is never "
    "trusted (a reader that sized a grid from it would need 17 billion cells)",
)


def _percent_workbook(rows, fmt="0.00%") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "readings"
    ws.append(HEADER[:4])
    for row in rows:
        ws.append(row)
        ws.cell(row=ws.max_row, column=4).number_format = fmt
    wb.properties.created = datetime(2026, 1, 1)
    wb.properties.modified = datetime(2026, 1, 1)
    buf = io.BytesIO()
    wb.save(buf)
    return rezip(buf.getvalue())


ok(
    "ok_xlsx_percent_formatted_cells.xlsx",
    _percent_workbook([["CORP-1", "avail", "2026-09", 0.9995], ["CORP-1", "avail", "2026-10", 1]]),
    rows=2,
    readings=[("CORP-1", "avail", "2026-09-01", "99.95"), ("CORP-1", "avail", "2026-10-01", "100")],
    about="availability typed as 99.95% in Excel: the cell holds 0.9995 formatted as a "
    "percentage, and is read as the 99.95 it shows (not 0.9995, which would be red)",
)

rejected(
    "bad_xlsx_percent_format_on_hours.xlsx",
    _percent_workbook([["CORP-1", "p1-res", "2026-09", 0.5]]),
    errors=[(2, "value", "% sign")],
    about="a resolution time in hours formatted as a percentage (50%): refused, not read as 0.5",
)

ok(
    "ok_xlsx_float_noise.xlsx",
    workbook(
        [
            (
                "readings",
                [
                    HEADER,
                    ["CORP-1", "p1-res", "2026-09", 0.1 + 0.2, None],
                    ["CORP-1", "csat", "2026-09", 1.5e-05, None],
                    ["CORP-1", "avail", "2026-09", 99.95, None],
                ],
            )
        ]
    ),
    rows=3,
    readings=[
        ("CORP-1", "avail", "2026-09-01", "99.95"),
        ("CORP-1", "csat", "2026-09-01", "0.000015"),
        ("CORP-1", "p1-res", "2026-09-01", "0.3"),
    ],
    about="numbers as Excel shows them, at most 15 significant digits: 0.1+0.2 is 0.3 (not "
    "0.30000000000000004, which has too many decimals) and 1.5e-05 is 0.000015",
)

ok(
    "ok_xlsx_cells_without_references.xlsx",
    WC.xlsx(
        [
            b"<row>" + b"".join(f'<c t="inlineStr"><is><t>{h}</t></is></c>'.encode()
                                for h in HEADER[:4]) + b"</row>",
            b'<row><c t="inlineStr"><is><t>CORP-1</t></is></c><c t="inlineStr"><is><t>avail'
            b'</t></is></c><c t="inlineStr"><is><t>2026-08</t></is></c><c><v>99.8</v></c></row>',
        ]
    ),
    rows=1,
    readings=[("CORP-1", "avail", "2026-08-01", "99.8")],
    about="rows and cells without r= references (allowed, written by some libraries): read "
    "by position",
)  # fmt: skip

# ==================================================================== XLSX, rejected

for _case in WC.cases(["value_at_xfd1048576", "value_at_cv100000", "dtd_after_long_comment"]):
    rejected(
        f"bad_xlsx_{_case.name}.xlsx",
        _case.data,
        errors=[(None, None, _case.expect)],
        about=_case.about,
    )

rejected(
    "bad_xlsx_cells.xlsx",
    workbook(
        [
            (
                "readings",
                [
                    HEADER,
                    ["CORP-1", "avail", date(2026, 9, 1), 99.9, "fine"],
                    None,
                    None,
                    ["CORP-1", "p1-res", "2026-09", True, "boolean (Decimal(True) == 1!)"],
                    ["CORP-1", "csat", "2026-09", "#DIV/0!", "error cell"],
                    ["CORP-1", "avail", date(2026, 11, 3), 99, "date in an unfinished month"],
                    ["CORP-1", "backlog", "2026-W40", datetime(2026, 10, 1), "a date as the value"],
                    None,
                    ["CORP-1", "p1-res", date(2026, 8, 1), -1.5, None],
                    ["OTHER-1", "avail", date(2026, 9, 1), 99, None],
                ],
            )
        ],
        shared_strings=True,
    ),
    errors=[
        (5, "value", "not a number"),
        (6, "value", "not a number"),
        (7, "period", "has not ended"),
        (8, "value", "not a number"),
        (10, "value", "can't be negative"),
        (11, "contract", "unknown contract"),
    ],
    about="Excel row numbers across blank rows; boolean, #DIV/0! and date cells as values; "
    "a future Excel date; negative hours; another vendor's contract",
)

rejected(
    "bad_xlsx_header_only.xlsx",
    workbook([("readings", [HEADER])]),
    errors=[(None, None, "no data rows")],
    about="header row only",
)

rejected(
    "bad_xlsx_missing_value_column.xlsx",
    workbook(
        [
            (
                "readings",
                [
                    ["contract", "sla", "period", "note"],
                    ["CORP-1", "avail", date(2026, 10, 1), "99.9"],
                ],
            )
        ]
    ),
    errors=[(1, "value", "missing column")],
    about="no value column (reported on the header row, row 1)",
)

_long = workbook(
    [
        (
            "readings",
            [
                HEADER,
                ["CORP-1", "avail", date(2026, 10, 1), 99.9, None],
                ["CORP-1", "p1-res", date(2026, 10, 1), 3, "LONG-NOTE-PLACEHOLDER"],
            ],
        )
    ],
    shared_strings=True,
)
_sst = zipfile.ZipFile(io.BytesIO(_long)).read("xl/sharedStrings.xml")
assert b"LONG-NOTE-PLACEHOLDER" in _sst
# Random letters: a long run of one letter would compress 1000-fold and be refused as a
# ZIP bomb before any cell is looked at.
_letters = random.Random(7)
_LONG_TEXT = "".join(_letters.choice("abcdefghij klmnopqrst uvwxyz") for _ in range(100_000))
_LONG_TEXT = _LONG_TEXT.encode()
assert len(set(_LONG_TEXT)) > 20
rejected(
    "bad_xlsx_long_note.xlsx",
    rezip(_long, {"xl/sharedStrings.xml": _sst.replace(b"LONG-NOTE-PLACEHOLDER", _LONG_TEXT)}),
    errors=[(3, "note", "too long")],
    about="a 100,000-character shared string (random letters, so it doesn't look like a ZIP "
    "bomb) as the note of row 3; Excel itself caps cells at 32,767",
)

_plain = workbook(
    [
        (
            "readings",
            [
                HEADER,
                ["CORP-1", "avail", date(2026, 10, 1), 99.9, None],
            ],
        )
    ]
)
rejected(
    "bad_xlsx_zip_bomb.xlsx",
    zip_bomb(_plain, "xl/worksheets/sheet1.xml", 256 * MB),
    errors=[(None, None, "uncompressed")],
    about="sheet1.xml inflates to 256 MiB of whitespace (about 250 KiB compressed; the sizes in "
    "the zip headers are honest)",
)

_sheet = zipfile.ZipFile(io.BytesIO(_plain)).read("xl/worksheets/sheet1.xml")
assert _sheet.count(b"<t>CORP-1</t>") == 1
assert not _sheet.startswith(b"<?xml")
_laughs = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!DOCTYPE worksheet [\n'
    b' <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>\n"
)
rejected(
    "bad_xlsx_billion_laughs.xlsx",
    rezip(
        _plain,
        {"xl/worksheets/sheet1.xml": _laughs + _sheet.replace(b"<t>CORP-1</t>", b"<t>&lol9;</t>")},
    ),
    errors=[(None, None, "DTD")],
    about="billion laughs: sheet1.xml declares nested entities (10^9 'lol') and uses &lol9;",
)

_ss = workbook(
    [
        (
            "readings",
            [
                HEADER,
                ["CORP-1", "avail", date(2026, 10, 1), 99.9, "XXE-PLACEHOLDER"],
            ],
        )
    ],
    shared_strings=True,
)
_sst = zipfile.ZipFile(io.BytesIO(_ss)).read("xl/sharedStrings.xml")
_decl = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
assert _sst.startswith(_decl)
rejected(
    "bad_xlsx_xxe_sharedstrings.xlsx",
    rezip(
        _ss,
        {
            "xl/sharedStrings.xml": _decl
            + b'<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
            + _sst[len(_decl) :].replace(b"XXE-PLACEHOLDER", b"&xxe;")
        },
    ),
    errors=[(None, None, "DTD")],
    about="external entity (file:///etc/passwd) in sharedStrings.xml, used as a note",
)

_wb_xml = zipfile.ZipFile(io.BytesIO(_plain)).read("xl/workbook.xml")
rejected(
    "bad_xlsx_doctype_workbook.xlsx",
    rezip(_plain, {"xl/workbook.xml": b"<!DOCTYPE workbook>\n" + _wb_xml}),
    errors=[(None, None, "DTD")],
    about="a bare DOCTYPE (no entities) in xl/workbook.xml: any DTD is refused",
)

rejected(
    "bad_html_as_xlsx.xlsx",
    utf8(
        '<html><head><meta charset="utf-8"><title>Export</title></head><body>\n'
        "<table><tr><td>contract</td><td>sla</td><td>period</td><td>value</td></tr>\n"
        "<tr><td>CORP-1</td><td>avail</td><td>2026-10</td><td>99.9</td></tr></table>\n"
        "</body></html>\n"
    ),
    errors=[(None, None, "not an Excel")],
    about="an HTML table named .xlsx (what many web apps' 'Excel export' produce)",
)

rejected(
    "bad_csv_as_xlsx.xlsx",
    utf8(table([HEADER, ["CORP-1", "avail", "2026-10", "99.9", ""]])),
    errors=[(None, None, "not an Excel")],
    about="a CSV file named .xlsx",
)

rejected(
    "bad_xls_as_xlsx.xlsx",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    + b"\x00" * 16
    + b"\x3e\x00\x03\x00\xfe\xff\x09\x00"
    + b"\x06\x00"
    + b"\x00" * 486
    + b"\xff" * 512,
    errors=[(None, None, "not an Excel")],
    about="an OLE2 compound document header (legacy .xls, or a password-protected .xlsx) named "
    ".xlsx",
)

_zbuf = io.BytesIO()
with zipfile.ZipFile(_zbuf, "w") as _z:
    _z.writestr(zipfile.ZipInfo("readme.txt", date_time=ZIP_TIME), b"not a workbook\n")
rejected(
    "bad_zip_not_xlsx.xlsx",
    _zbuf.getvalue(),
    errors=[(None, None, "not an Excel")],
    about="a valid zip archive without xl/workbook.xml",
)

_basic = FILES["ok_xlsx_basic.xlsx"]
rejected(
    "bad_xlsx_truncated.xlsx",
    _basic[: len(_basic) * 6 // 10],
    errors=[(None, None, "not an Excel")],
    about="the first 60% of ok_xlsx_basic.xlsx (an interrupted upload): no central directory",
)

# ============================================================================ write


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    for name, data in sorted(FILES.items()):
        (OUT / name).write_bytes(data)
    EXPECTED.write_text(
        json.dumps(dict(sorted(EXPECT.items())), indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    total = sum(len(d) for d in FILES.values())
    print(f"{len(FILES)} files, {total:,} bytes in {OUT}")


if __name__ == "__main__":
    main()
