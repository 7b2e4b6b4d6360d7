"""
The costliest and most hostile files the upload limits allow, built in memory.

`manage.py bench_files` reads each and prints its time and memory; the tests
read them too and check the outcome. Each case is (name, filename, bytes,
what must happen: "ok" or a fragment of the refusal).
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from metrics.ingest.xlsx import MAX_CELLS, column_letter

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_R_NS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
_HEAD = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
HEADER = ["contract", "sla", "period", "value", "note"]


@dataclass
class Case:
    name: str
    filename: str
    make: Callable[[], bytes]
    expect: str  # "ok", or a fragment of the message that refuses the file
    about: str
    _data: bytes | None = None

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = self.make()
        return self._data


def xlsx(
    sheet_body: Iterable[bytes],
    *,
    shared: Iterable[str] | None = None,
    dimension: str = "",
    before_sheet_data: bytes = b"",
) -> bytes:
    """A minimal workbook: one sheet named 'readings' whose <sheetData> is `sheet_body`."""
    buf = io.BytesIO()
    with _FixedTimes(buf) as z:
        overrides = (
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        )
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.'
            'org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            f'ContentType="application/xml"/>{overrides}</Types>',
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
            'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><workbook {_NS} {_R_NS}><sheets>'
            '<sheet name="readings" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        rels = (
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        )
        if shared is not None:
            rels += (
                '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/'
                '2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
            )
            with z.open("xl/sharedStrings.xml", "w") as out:
                out.write(_HEAD + f"<sst {_NS}>".encode())
                for text in shared:
                    out.write(f"<si><t>{text}</t></si>".encode())
                out.write(b"</sst>")
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            f'openxmlformats.org/package/2006/relationships">{rels}</Relationships>',
        )
        with z.open("xl/worksheets/sheet1.xml", "w") as out:
            out.write(_HEAD + f"<worksheet {_NS}>".encode())
            if dimension:
                out.write(f'<dimension ref="{dimension}"/>'.encode())
            out.write(before_sheet_data + b"<sheetData>")
            for chunk in sheet_body:
                out.write(chunk)
            out.write(b"</sheetData></worksheet>")
    return buf.getvalue()


class _FixedTimes(zipfile.ZipFile):
    """A deflated ZIP whose entries all carry one date: the same bytes on every run."""

    def __init__(self, buf):
        super().__init__(buf, "w", zipfile.ZIP_DEFLATED)

    def _info(self, name) -> zipfile.ZipInfo:
        if isinstance(name, zipfile.ZipInfo):
            return name
        info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        return info

    def writestr(self, name, data, *args, **kwargs):
        return super().writestr(self._info(name), data, *args, **kwargs)

    def open(self, name, mode="r", *args, **kwargs):
        return super().open(self._info(name) if mode == "w" else name, mode, *args, **kwargs)


def _row(number: int, cells: list[tuple[int, str, str]]) -> bytes:
    """cells: (column index, kind, raw value); kind "s" (shared), "n" (number), "str"."""
    parts = []
    for column, kind, value in cells:
        ref = f"{column_letter(column)}{number}"
        if kind == "n":
            parts.append(f'<c r="{ref}"><v>{value}</v></c>')
        else:
            parts.append(f'<c r="{ref}" t="{kind}"><v>{value}</v></c>')
    return f'<row r="{number}">{"".join(parts)}</row>'.encode()


def _header_row() -> bytes:
    return _row(1, [(i, "str", name) for i, name in enumerate(HEADER)])


def _data_rows(count: int, *, columns: int = 5, first: int = 2) -> Iterator[bytes]:
    """Rows of a plausible month: contract, SLA, period, value, note (+ numeric extras)."""
    for n in range(first, first + count):
        cells = [
            (0, "str", f"C-{n % 997}"),
            (1, "str", "avail"),
            (2, "str", "2026-10"),
            (3, "n", f"{99 + (n % 100) / 100:.2f}"),
            (4, "str", f"note {n}"),
        ]
        cells += [(c, "n", str(n % 1000 + c)) for c in range(5, columns)]
        yield _row(n, cells)


MAX_ROWS = 100_000  # files.MAX_ROWS
_NOISE = "".join(random.Random(8).choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(1_000))
_LONG_CELLS = 39_000  # 1,000-character cells: nearly the whole text budget


def _builders(max_rows: int = MAX_ROWS, max_cells: int = MAX_CELLS):
    long_strings = _LONG_CELLS
    noise = _NOISE
    return [
        Case(
            "value_at_xfd1048576", "far.xlsx",
            lambda: xlsx([_header_row(), _row(1_048_576, [(16_383, "n", "1")])]),
            "Cell XFD1048576",
            "one value in the last cell of the sheet (a 5 KB file)",
        ),
        Case(
            "dimension_claims_whole_sheet", "dimension.xlsx",
            lambda: xlsx([_header_row(), *_data_rows(2)], dimension="A1:XFD1048576"),
            "ok",
            "a <dimension> of A1:XFD1048576 over two rows of data: the claim is never trusted",
        ),
        Case(
            "value_at_cv100000", "cv.xlsx",
            lambda: xlsx([_header_row(), _row(100_000, [(99, "n", "1")])]),
            "uses the range A1:CV100000",
            "one value at CV100000: its grid from A1 would be 10,000,000 cells",
        ),
        Case(
            "two_million_rows", "rows2m.xlsx",
            lambda: xlsx(_row(n, [(0, "n", "1")]) for n in range(1, 2_000_001)),
            "data rows",
            "2,000,000 one-cell rows (1.6 MB compressed): refused at the first row past the limit",
        ),
        Case(
            "most_rows_allowed", "rows100k.xlsx",
            lambda: xlsx([_header_row(), *_data_rows(max_rows)]),
            "ok",
            f"{max_rows:,} data rows of five columns: the largest month a file may hold",
        ),
        Case(
            "most_cells_allowed", "cells2m.xlsx",
            lambda: xlsx(
                [_header_row(), *_data_rows(max_rows, columns=max_cells // (max_rows + 1))]
            ),
            "ok",
            f"{max_rows:,} rows of {max_cells // (max_rows + 1)} columns: the most values allowed",
        ),
        Case(
            "most_text_allowed", "text.xlsx",
            lambda: xlsx(
                [_header_row(), *(
                    _row(n, [(0, "s", "0"), (1, "s", "0"), (2, "s", "0"), (3, "s", "0"),
                             (4, "s", "0")])
                    for n in range(2, 2 + long_strings // 5)
                )],
                shared=[noise],
            ),
            "ok",
            f"{long_strings:,} cells each showing one 1,000-character text: the text budget",
        ),
        Case(
            "two_million_distinct_texts", "sst.xlsx",
            lambda: xlsx([_header_row()], shared=(f"t{n}" for n in range(max_cells))),
            "no data rows",
            f"{max_cells:,} distinct texts in sharedStrings.xml, none used",
        ),
        Case(
            "deep_nesting", "deep.xlsx",
            lambda: xlsx([_header_row(), _random_tags(200_000, nested=True)]),
            "no data rows",
            "200,000 nested unknown elements inside the sheet: ignored",
        ),
        Case(
            "three_million_empty_elements", "empty.xlsx",
            lambda: xlsx([_header_row(), *_data_rows(2)],
                         before_sheet_data=_random_tags(1_500_000, nested=False)),
            "ok",
            "1,500,000 unknown empty elements before the data (9 MB of XML)",
        ),
        Case(
            "dtd_after_long_comment", "dtd.xlsx",
            lambda: _dtd_after_comment(),
            "DTD",
            "a DOCTYPE after a 20 KB comment at the top of sheet1.xml",
        ),
        Case(
            "csv_ten_megabytes_of_blank_lines", "blank.csv",
            lambda: b"contract,sla,period,value\n" + b"\n" * (10 * 1024 * 1024 - 100),
            "no data rows",
            "a header, then 10 MB of blank lines (ten million empty rows)",
        ),
        Case(
            "csv_five_million_tiny_rows", "tiny.csv",
            lambda: b"contract,sla,period,value\n" + b"a\n" * (5 * 1024 * 1024 - 20),
            "data rows",
            "five million one-letter rows: refused at the first row past the limit",
        ),
        Case(
            "csv_wide_header_over_most_rows", "wide.csv",
            lambda: (",".join([*HEADER[:4], *(f"x{i}" for i in range(50_000))]) + "\n").encode()
            + b"CORP-1,avail,2026-10,99.9\n" * max_rows,
            "ok",
            f"50,000 unknown columns over {max_rows:,} short rows: never a 50,000-wide table",
        ),
        Case(
            "csv_one_ten_megabyte_cell", "cell.csv",
            lambda: b'contract,sla,period,value,note\nCORP-1,avail,2026-10,1,"'
            + b"x" * (10 * 1024 * 1024 - 100) + b'"\n',
            "ok",
            "a quoted note of 10 MB (reported as too long by the validator)",
        ),
        Case(
            "json_a_field_per_item", "keys.json",
            lambda: ('{"rows":[' + ",".join(f'{{"k{i}":1}}' for i in range(max_rows)) + "]}"
                     ).encode(),
            "different fields",
            f"{max_rows:,} items each with a field of its own: never a table of that width",
        ),
        Case(
            "json_nested_five_million_deep", "deep.json",
            lambda: b"[" * (5 * 1024 * 1024),
            "nested too deeply",
            "five million opening brackets",
        ),
        Case(
            "json_most_items_allowed", "items.json",
            lambda: ('{"rows":[' + ",".join(
                ['{"contract":"CORP-1","sla":"avail","period":"2026-10","value":99.9}'] * max_rows
            ) + "]}").encode(),
            "ok",
            f"{max_rows:,} rows in one API batch",
        ),
    ]  # fmt: skip


def cases(names: Iterable[str] | None = None) -> list[Case]:
    """The cases (only those named, if names are given); each file is built when first read."""
    wanted = set(names) if names is not None else None
    return [case for case in _builders() if wanted is None or case.name in wanted]


def _random_tags(count: int, *, nested: bool) -> bytes:
    """Unknown elements with random names (so that they don't compress like a ZIP bomb)."""
    rng = random.Random(count)
    names = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(3)) for _ in
             range(count)]  # fmt: skip
    if nested:
        return (
            "".join(f"<{n}>" for n in names).encode()
            + "".join(f"</{n}>" for n in reversed(names)).encode()
        )
    return "".join(f"<{n}/>" for n in names).encode()


def _dtd_after_comment() -> bytes:
    """A workbook whose sheet part starts with a long comment, then declares entities."""
    plain = xlsx([_header_row(), *_data_rows(1)])
    src = zipfile.ZipFile(io.BytesIO(plain))
    buf = io.BytesIO()
    with _FixedTimes(buf) as dst:
        for name in src.namelist():
            body = src.read(name)
            if name == "xl/worksheets/sheet1.xml":
                body = (
                    _HEAD
                    + b"<!--"
                    + bytes(random.Random(1).choice(b"abcdefgh") for _ in range(20_000))
                    + b'--><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">]>'
                    + body[len(_HEAD) :]
                )
            dst.writestr(name, body)
    return buf.getvalue()
