"""
Reading an uploaded file into a table of text cells, safely.

CSV: UTF-8 (with or without BOM), UTF-16 with BOM, or Windows-1252 (a file
mixing UTF-8 and Windows-1252 lines is read line by line); the delimiter (`,`
`;` or tab) is detected from the header and hints at the decimal mark (the
validator decides it). JSON: API batches. XLSX: the sheet named
`readings`, else the first one; before anything parses it, the archive is
checked for its entry count, its uncompressed size and compression ratios,
and every XML part for a DTD (billion laughs, external entities), with
defusedxml reading the workbook itself.

The result keeps each row's number as a spreadsheet shows the file (the
header is row 1; a quoted cell spanning lines is one row) and collects every
structural problem instead of stopping at the first one.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
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
# The stored value is shown to compare with, never read: a file changes only `value`.
STORED_COLUMN = "stored_value"
INFO_COLUMNS = (STORED_COLUMN, "sla_name", "unit", "target", "minimum", "due_by")
CSV_EXTENSIONS = {".csv", ".txt", ".tsv"}
XLSX_EXTENSIONS = {".xlsx", ".xlsm"}
MAX_JSON_FIELDS = 100  # distinct keys over all items of an API batch
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
    sla_id: int | None = None  # the row's SLA, once its contract and code are known


@dataclass
class Table:
    """Rows of text cells: columns `row` plus contract, sla, period, value, note."""

    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    data_rows: int = 0


class NumberCell(str):
    """
    The text of a cell that held a number, not text (a JSON number; a reader may mark a
    workbook's numeric cells so too): read exactly as a decimal with a point, never under
    the file's decimal mark, and no evidence of it.
    """

    __slots__ = ()


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
        # Numeric cells come as the text of a float, with a point.
        return _table(_xlsx_rows(data), decimal_mark="point", numbers_marked=True)
    elif ext in CSV_EXTENSIONS:
        from metrics.ingest import csv_fast

        text, delimiter = _csv_text(data)
        table = csv_fast.read(text, delimiter)  # None: a file only the reference reads
        if table is not None:
            return table
        rows, decimal_mark = _csv_records(text, delimiter)
    elif ext in JSON_EXTENSIONS:
        rows, decimal_mark = _json_rows(data), None
    elif ext == ".xls":
        raise UnreadableFileError(
            "Old .xls workbooks are not supported: save the file as .xlsx or .csv."
        )
    else:
        raise UnreadableFileError(
            f"Unsupported file type {ext or '(none)'!r}: upload a .csv or .xlsx file."
        )
    return _table(rows, decimal_mark=decimal_mark)


# --- CSV ------------------------------------------------------------------------


def _decode_lines(data: bytes) -> str:
    """Each line as UTF-8 when it is valid UTF-8, else as Windows-1252 (a file edited twice)."""
    parts = []
    for line in data.splitlines(keepends=True):
        try:
            parts.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            try:
                parts.append(line.decode("cp1252"))
            except UnicodeDecodeError:
                raise UnreadableFileError(
                    "The file is not a text (CSV) file in UTF-8, UTF-16 or Windows-1252."
                ) from None
    return "".join(parts)


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
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
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _decode_lines(data)
    # A byte order mark inside the file (two exports joined) belongs to no cell. A NUL
    # character further in is reported with its row and column (_table).
    return text.replace("\ufeff", "")


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    best, best_count = ",", 0
    for candidate in ("\t", ";", ","):
        count = len(next(csv.reader([first], delimiter=candidate), []))
        if count > best_count:
            best, best_count = candidate, count
    return best


# What the delimiter says about the decimal mark: Excel writes `;` where the decimal mark is
# a comma, `,` where it is a point. A tab says nothing.
DECIMAL_MARK_OF_DELIMITER = {",": "point", ";": "comma", "\t": None}
_SEP_LINE = re.compile(r"sep=([,;\t])(?:\r\n|\r|\n|$)", re.IGNORECASE)


def _csv_text(data: bytes) -> tuple[str, str]:
    """The decoded text (without Excel's `sep=` line) and its delimiter."""
    text = _decode(data)
    directive = _SEP_LINE.match(text)  # Excel's `sep=;` first line: it shows no such row
    if directive:
        return text[directive.end() :], directive.group(1)
    return text, _delimiter(text)


def _csv_rows(data: bytes) -> tuple[list[tuple[int, list[str]]], str | None]:
    """
    The records, numbered as a spreadsheet shows them (a blank line is a row, a quoted cell
    spanning lines is one row), and the decimal mark the delimiter hints at. The reference
    reader: csv_fast reads the files it can (no quotes) the same, faster.
    """
    return _csv_records(*_csv_text(data))


def _csv_records(text: str, delimiter: str) -> tuple[list[tuple[int, list[str]]], str | None]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    number = 0  # the row as a spreadsheet numbers it; blank rows count but are not kept
    before = last_before = 0  # physical lines before the next record, before the last one
    try:
        for record in reader:
            number += 1
            if "".join(record).strip():
                rows.append((number, record))
                if len(rows) > MAX_ROWS + 1:
                    raise UnreadableFileError(_too_many_rows(f"row {number:,}"))
            last_before, before = before, reader.line_num
    except csv.Error as exc:
        raise UnreadableFileError(f"Row {number + 1} can't be read as CSV: {exc}.") from None
    if before - last_before > 1:
        _refuse_unclosed_quote(text, delimiter, skip=last_before, row=number)
    return rows, DECIMAL_MARK_OF_DELIMITER[delimiter]


def _too_many_rows(where: str) -> str:
    return (
        f"The file has more than {MAX_ROWS:,} data rows ({where} is past the limit); at most "
        f"{MAX_ROWS:,} per upload. Split it by contract or period."
    )


def _refuse_unclosed_quote(text: str, delimiter: str, *, skip: int, row: int) -> None:
    """
    The last record spans lines: if only because its quote is never closed, the rows after
    it were swallowed into one cell (the lenient reader says nothing), so refuse the file.
    """
    lines = io.StringIO(text, newline="")
    for _ in range(skip):
        next(lines)
    try:
        for _ in csv.reader(io.StringIO(lines.read(), newline=""), delimiter=delimiter,
                            strict=True):  # fmt: skip
            pass
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise UnreadableFileError(
                f'Row {row} opens a quoted cell (") that is never closed, so everything after '
                "it would be one cell: close the quote."
            ) from None


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
        rows = sandbox.read_xlsx_rows(data, max_rows=MAX_ROWS)
    except sandbox.ReadFailedError as exc:
        raise UnreadableFileError(str(exc)) from None
    # Cells that held a number start with xlsx.NUMBER_MARK: _table(numbers_marked=True)
    # reads them as the numbers they hold (only in the columns it reads: it is cheaper).
    return rows


# --- JSON (API) -----------------------------------------------------------------


def _json_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (dict, list)):
        return json.dumps(value)[:1000]
    return value if isinstance(value, NumberCell) else str(value)


def _json_rows(data: bytes) -> list[tuple[int, list[str]]]:
    """
    Item N of `rows` is reported as row N; the keys of all items make the header. A JSON
    number stays the number it spells (`1.200` is 1.2); `NaN` and `Infinity` are text.
    """
    try:
        body = json.loads(
            data.decode("utf-8-sig"),
            parse_float=NumberCell,
            parse_int=NumberCell,
            parse_constant=str,
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableFileError(f"The body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise UnreadableFileError("The body is not valid JSON: it is nested too deeply.") from None
    items = body.get("rows") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise UnreadableFileError('Send {"rows": [{"contract": …, "sla": …, …}, …]}.')
    if len(items) > MAX_ROWS:
        raise UnreadableFileError(_too_many_rows(f"item {MAX_ROWS + 1:,}"))
    keys: dict[str, None] = {}  # an ordered set of the fields the items use
    for item in items:
        if not isinstance(item, dict):
            raise UnreadableFileError("Every item of rows must be an object.")
        keys.update(dict.fromkeys(item))
        if len(keys) > MAX_JSON_FIELDS:
            raise UnreadableFileError(
                f"The rows use more than {MAX_JSON_FIELDS} different fields; send "
                f"{', '.join(COLUMNS)} (and at most a few more, which are ignored)."
            )
    header = list(keys)
    rows = [(0, header)]
    rows.extend((n, [_json_cell(item.get(k)) for k in header]) for n, item in enumerate(items, 1))
    return rows


# --- Both -----------------------------------------------------------------------


MAX_WARNINGS = 20  # unknown columns named one by one; the rest are counted
# What PostgreSQL can't store in text: NUL, and a lone surrogate (no UTF-8 for it), which a
# JSON body can spell (`"\u0000"`, `"\ud800"`).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable(text: str) -> str:
    """Why a text can't be stored, or ''."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return ""
    if found.group() == "\x00":
        return "contains a NUL character (U+0000)"
    return f"contains an invalid character (a lone surrogate, U+{ord(found.group()):04X})"


def _storable(text: str) -> str:
    return _UNSTORABLE.sub("\ufffd", text)


def _unstorable_cells(numbers: list[int], columns: dict[str, list[str]]) -> list[Problem]:
    """A problem for each cell that can't be stored (its row is then left out), by row."""
    found = []
    for column in COLUMNS:
        values = columns[column]
        if _UNSTORABLE.search("".join(values)) is None:  # one search per column, as a rule
            continue
        for number, value in zip(numbers, values, strict=True):
            if why := _unstorable(value):
                found.append(Problem(number, column, _storable(value), f"The {column} {why}."))
    found.sort(key=lambda p: (p.row, COLUMNS.index(p.column)))
    return found


def _unknown_column_warnings(names: list[str]) -> list[str]:
    def shown(name: str) -> str:
        return name if len(name) <= 60 else name[:59] + "…"

    warnings = [f"Ignored unknown column {shown(n)!r}." for n in names[:MAX_WARNINGS]]
    if len(names) > MAX_WARNINGS:
        warnings.append(f"… and {len(names) - MAX_WARNINGS:,} more unknown columns, ignored too.")
    return warnings


def _repeats(cells: list[str], names: list[str]) -> bool:
    """Is this row the header again (cells beyond the row's end count as empty)?"""
    padded = [c.strip().lower() for c in cells[: len(names)]]
    return padded + [""] * (len(names) - len(padded)) == names


def _unmark(cell: str) -> str:
    """A workbook reader's cell: one that held a number becomes a NumberCell."""
    return NumberCell(cell[1:]) if cell.startswith(xlsx.NUMBER_MARK) else cell


@dataclass
class Header:
    """The header row read: names, where the known columns are, and what is wrong with it."""

    row: int
    header: list[str]
    names: list[str]
    positions: dict[str, int]
    problems: list[Problem]
    warnings: list[str]

    def empty(self) -> Table:
        """The table of a file whose header has problems: nothing further is read."""
        return Table(frame=pd.DataFrame(columns=["row", *COLUMNS]), warnings=self.warnings,
                     problems=self.problems)  # fmt: skip


def _read_header(header_row: int, header: list[str], *, numbers_marked: bool = False) -> Header:
    if numbers_marked:
        header = [_unmark(c) for c in header]
    header_at = header_row if header_row >= 1 else None  # JSON items have no header row
    problems: list[Problem] = []
    for index, name in enumerate(header):
        if why := _unstorable(name):
            problems.append(
                Problem(header_at, "", _storable(name),
                        f"The name of column {xlsx.column_letter(index)} ({name!r}) {why}.")
            )  # fmt: skip
    header = [_storable(h).replace("\ufeff", "") for h in header]
    names = [h.strip().lower() for h in header]
    unknown: list[str] = []
    positions: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            continue
        if name in positions:
            problems.append(
                Problem(
                    header_at, name, header[index],
                    f"The column {name!r} appears twice (columns "
                    f"{xlsx.column_letter(positions[name])} and {xlsx.column_letter(index)}).",
                )
            )  # fmt: skip
        elif name in COLUMNS:
            positions[name] = index
        elif name in INFO_COLUMNS:
            continue
        else:
            unknown.append(header[index].strip())
    warnings = _unknown_column_warnings(unknown)
    missing = [c for c in REQUIRED if c not in positions]
    for column in missing:
        problems.append(
            Problem(
                header_at, column, "", f"The missing column {column!r} is required (header row)."
            )
        )
    return Header(header_row, header, names, positions, problems, warnings)


def check_data_rows(count: int) -> None:
    if not count:
        raise UnreadableFileError("The file has a header but no data rows.")
    if count > MAX_ROWS:
        raise UnreadableFileError(
            f"The file has {count:,} data rows; at most {MAX_ROWS:,} per upload."
        )


def _table(
    rows: list[tuple[int, list[str]]],
    *,
    decimal_mark: str | None = "point",
    numbers_marked: bool = False,
) -> Table:
    """
    `rows`: (row number, cells) with the header first. `decimal_mark` ("point", "comma" or
    None) is what the file's form says about the decimal mark of its text values; "point"
    by default, as a workbook's numeric cells come written. `numbers_marked`: cells that
    held a number start with xlsx.NUMBER_MARK (a workbook reader's rows).
    """
    rows = [(n, cells) for n, cells in rows if "".join(cells).strip()]
    if not rows:
        raise UnreadableFileError("The file has no data rows (it is empty).")
    header_row, header = rows[0]
    head = _read_header(header_row, header, numbers_marked=numbers_marked)
    header, names, positions = head.header, head.names, head.positions
    problems, warnings = head.problems, head.warnings
    if problems:
        return head.empty()
    data = rows[1:]
    check_data_rows(len(data))

    width = len(header)
    # Only the columns read are picked from each row: a wide header never makes a wide table.
    wanted = [(column, positions[column]) for column in COLUMNS if column in positions]
    picked: dict[str, list[str]] = {column: [] for column, _ in wanted}
    numbers = []
    for number, cells in data:
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            message = f"This row has {len(cells)} fields; the header has {width}."
            problems.append(Problem(number, "", "", message))
            continue
        if cells[0].strip().lower() == names[0] and _repeats(cells, names):
            problems.append(
                Problem(number, "", "", f"This row repeats the header (row {header_row}): were "
                        "two files joined? Remove it.")
            )  # fmt: skip
            continue
        numbers.append(number)
        for column, at in wanted:
            picked[column].append(cells[at] if at < len(cells) else "")
    if numbers_marked:
        picked = {column: [_unmark(c) for c in values] for column, values in picked.items()}
    columns = {
        column: [c.strip() for c in picked[column]] if column in picked else [""] * len(numbers)
        for column in COLUMNS
    }
    # A number that was no text (a JSON number, a workbook's number) is read as it is.
    columns["value_is_number"] = [isinstance(c, NumberCell) for c in picked["value"]]
    unstorable = _unstorable_cells(numbers, columns)
    if unstorable:
        problems.extend(unstorable)
        dropped = {p.row for p in unstorable}
        keep = [i for i, number in enumerate(numbers) if number not in dropped]
        numbers = [numbers[i] for i in keep]
        columns = {column: [values[i] for i in keep] for column, values in columns.items()}
    frame = pd.DataFrame({"row": numbers, **columns})
    frame.attrs["decimal_mark"] = decimal_mark
    return Table(frame=frame, warnings=warnings, problems=problems, data_rows=len(data))
