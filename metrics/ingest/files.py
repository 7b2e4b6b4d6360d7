"""
Reading an uploaded file into a table of text cells, safely.

CSV: UTF-8 (with or without BOM), UTF-16 with BOM, or Windows-1252; the
delimiter (`,` `;` or tab) is detected from the header. XLSX: the sheet named
`readings`, else the first one; before anything parses it, the archive is
checked for its entry count, its uncompressed size and compression ratios,
and every XML part for a DTD (billion laughs, external entities), with
defusedxml reading the workbook itself.

The result keeps each row's number as the user sees it in the file (the
header is row 1) and collects every structural problem instead of stopping at
the first one.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import zipfile
from dataclasses import dataclass, field

import pandas as pd

from metrics.ingest import xlsx

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
XLSX_MAX_ENTRIES = 1_000
XLSX_MAX_UNCOMPRESSED = 200 * 1024 * 1024
XLSX_MAX_RATIO = 150  # uncompressed / compressed, for entries above 1 MB
REQUIRED = ("contract", "sla", "period", "value")
OPTIONAL = ("note",)
COLUMNS = REQUIRED + OPTIONAL
# Columns our own templates add for whoever fills them in: ignored without a warning.
INFO_COLUMNS = ("sla_name", "unit", "target", "minimum", "due_by")
CSV_EXTENSIONS = {".csv", ".txt", ".tsv"}
XLSX_EXTENSIONS = {".xlsx", ".xlsm"}
JSON_EXTENSIONS = {".json"}  # API batches: {"rows": [{"contract": …, "sla": …}, …]}

# Cells are read without a size limit (the file limit bounds them); the
# validator reports a too-long cell with its row and column.
csv.field_size_limit(MAX_BYTES + 1)


@dataclass
class Problem:
    row: int | None
    column: str
    value: str
    message: str


@dataclass
class Table:
    """Rows of text cells: columns `row` plus contract, sla, period, value, note."""

    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    data_rows: int = 0


class UnreadableFileError(Exception):
    """The whole file can't be read; nothing in it is looked at further."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def extension_of(filename: str) -> str:
    name = filename.lower().strip()
    dot = name.rfind(".")
    return name[dot:] if dot >= 0 else ""


def read_table(data: bytes, filename: str) -> Table:
    """Parse an upload. Raises UnreadableFileError for a file that can't be read at all."""
    if len(data) > MAX_BYTES:
        raise UnreadableFileError(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; the limit is "
            f"{MAX_BYTES // 1024 // 1024} MB. Split it by contract or period."
        )
    if not data:
        raise UnreadableFileError("The file is empty: it has no data rows.")
    ext = extension_of(filename)
    if ext in XLSX_EXTENSIONS:
        rows = _xlsx_rows(data)
    elif ext in CSV_EXTENSIONS:
        rows = _csv_rows(data)
    elif ext in JSON_EXTENSIONS:
        rows = _json_rows(data)
    elif ext == ".xls":
        raise UnreadableFileError(
            "Old .xls workbooks are not supported: save the file as .xlsx or .csv."
        )
    else:
        raise UnreadableFileError(
            f"Unsupported file type {ext or '(none)'!r}: upload a .csv or .xlsx file."
        )
    return _table(rows)


# --- CSV ------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        text = data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise UnreadableFileError(
                "The file is not a text (CSV) file: its UTF-16 is broken."
            ) from None
    elif data.startswith(b"PK\x03\x04") or b"\x00" in data[:4096]:
        raise UnreadableFileError(
            "The file is not a text (CSV) file: it looks binary. "
            "Upload an Excel workbook with the .xlsx extension."
        )
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                raise UnreadableFileError(
                    "The file is not a text (CSV) file in UTF-8, UTF-16 or Windows-1252."
                ) from None
    if "\x00" in text:
        raise UnreadableFileError("The file is not a text (CSV) file: it contains NUL characters.")
    return text


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    best, best_count = ",", 0
    for candidate in ("\t", ";", ","):
        count = len(next(csv.reader([first], delimiter=candidate), []))
        if count > best_count:
            best, best_count = candidate, count
    return best


def _csv_rows(data: bytes) -> list[tuple[int, list[str]]]:
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    # A record starts on the line after the previous one ended (a quoted cell may span lines).
    rows, line = [], 0
    try:
        for record in reader:
            rows.append((line + 1, record))
            line = reader.line_num
    except csv.Error as exc:
        raise UnreadableFileError(f"Line {reader.line_num} can't be read as CSV: {exc}.") from None
    return rows


# --- XLSX -----------------------------------------------------------------------


def _check_archive(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UnreadableFileError(
            "The file is not an Excel (.xlsx) workbook (it is not a ZIP archive)."
        ) from None
    names = {entry.filename for entry in entries}
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise UnreadableFileError("The file is not an Excel (.xlsx) workbook (no workbook inside).")
    if len(entries) > XLSX_MAX_ENTRIES:
        raise UnreadableFileError(
            f"The workbook has {len(entries)} parts; at most {XLSX_MAX_ENTRIES}."
        )
    total = sum(entry.file_size for entry in entries)
    if total > XLSX_MAX_UNCOMPRESSED:
        raise UnreadableFileError(
            f"The workbook's uncompressed size is {total / 1024 / 1024:.0f} MB; at most "
            f"{XLSX_MAX_UNCOMPRESSED // 1024 // 1024} MB (a ZIP bomb?)."
        )
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > 1024 * 1024 and ratio > XLSX_MAX_RATIO:
            raise UnreadableFileError(
                f"The workbook part {entry.filename} expands {ratio:.0f}-fold when uncompressed; "
                "refused as a ZIP bomb."
            )
    for entry in entries:
        if not entry.filename.endswith((".xml", ".rels", ".vml")):
            continue
        # A DTD may follow any amount of comments: the whole part is read, in chunks.
        if xlsx.dtd_declared(archive, entry.filename):
            raise UnreadableFileError(
                f"The workbook part {entry.filename} declares a DTD or entities; refused "
                "(entity expansion attacks)."
            )
    return archive


def _xlsx_rows(data: bytes) -> list[tuple[int, list[str]]]:
    from metrics.ingest import sandbox

    _check_archive(data)
    try:
        return sandbox.read_xlsx_rows(data, max_rows=MAX_ROWS)
    except sandbox.ReadFailedError as exc:
        raise UnreadableFileError(str(exc)) from None


# --- JSON (API) -----------------------------------------------------------------


def _json_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value)[:1000]
    return str(value)


def _json_rows(data: bytes) -> list[tuple[int, list[str]]]:
    """Item N of `rows` is reported as row N; the keys of all items make the header."""
    try:
        body = json.loads(data.decode("utf-8"), parse_float=str, parse_int=str)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableFileError(f"The body is not valid JSON: {exc}.") from None
    items = body.get("rows") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise UnreadableFileError('Send {"rows": [{"contract": …, "sla": …, …}, …]}.')
    header: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            raise UnreadableFileError("Every item of rows must be an object.")
        header.extend(k for k in item if k not in header)
    rows = [(0, header)]
    rows.extend((n, [_json_cell(item.get(k)) for k in header]) for n, item in enumerate(items, 1))
    return rows


# --- Both -----------------------------------------------------------------------


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _table(rows: list[tuple[int, list[str]]]) -> Table:
    rows = [(n, cells) for n, cells in rows if "".join(cells).strip()]
    if not rows:
        raise UnreadableFileError("The file has no data rows (it is empty).")
    header_row, header = rows[0]
    names = [h.strip().lower() for h in header]
    warnings: list[str] = []
    problems: list[Problem] = []
    positions: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            continue
        if name in positions:
            problems.append(
                Problem(
                    header_row, name, header[index],
                    f"The column {name!r} appears twice (columns {_column_letter(positions[name])} "
                    f"and {_column_letter(index)}).",
                )
            )  # fmt: skip
        elif name in COLUMNS:
            positions[name] = index
        elif name in INFO_COLUMNS:
            continue
        else:
            warnings.append(f"Ignored unknown column {header[index].strip()!r}.")
    missing = [c for c in REQUIRED if c not in positions]
    for column in missing:
        problems.append(
            Problem(None, column, "", f"The missing column {column!r} is required (header row).")
        )
    if problems:
        return Table(frame=pd.DataFrame(columns=["row", *COLUMNS]), warnings=warnings,
                     problems=problems)  # fmt: skip
    data = rows[1:]
    if not data:
        raise UnreadableFileError("The file has a header but no data rows.")
    if len(data) > MAX_ROWS:
        raise UnreadableFileError(
            f"The file has {len(data):,} data rows; at most {MAX_ROWS:,} per upload."
        )

    width = len(header)
    numbers, records = [], []
    for number, cells in data:
        if len(cells) > width:
            if any(c.strip() for c in cells[width:]):
                message = f"This row has {len(cells)} fields; the header has {width}."
                problems.append(Problem(number, "", "", message))
                continue
            cells = cells[:width]
        elif len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        numbers.append(number)
        records.append(cells)
    by_position = list(zip(*records, strict=True)) if records else [()] * width
    columns = {
        column: (
            [c.strip() for c in by_position[positions[column]]]
            if column in positions
            else [""] * len(records)
        )
        for column in COLUMNS
    }
    frame = pd.DataFrame({"row": numbers, **columns})
    return Table(frame=frame, warnings=warnings, problems=problems, data_rows=len(data))
