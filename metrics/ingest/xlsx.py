"""
Reading one sheet of an .xlsx workbook as rows of text cells, streaming.

The sheet's XML is parsed event by event straight out of the ZIP archive;
only cells that hold a value are kept, so memory follows the data, never the
range a sheet declares (`<dimension ref="A1:XFD1048576">`) or the position of
its last cell. The limits are enforced while reading: the first value past
them stops the read with a message that names the cell.

The standard library and defusedxml only (no Django, no pandas): it runs in the reader's child
process (`metrics.ingest.sandbox`). Every XML part it opens was checked for
a DTD beforehand (`files._check_archive`), so expat never expands entities.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal
from xml.etree.ElementTree import ParseError, XMLPullParser

from defusedxml.ElementTree import fromstring

MAX_COLUMNS = 100  # A … CV; our templates use a dozen
MAX_CELLS = 1_200_000  # cells holding a value, in the whole sheet: 12 for each of 100,000 rows
# A cell's text is kept up to this length: the longest a column may hold is 500
# characters, so a longer cell is still reported as too long, with its start.
MAX_CELL_CHARS = 1_000
MAX_TEXT_CHARS = 40_000_000  # all the kept text of the sheet together
EXCEL_MAX_ROW = 1_048_576
CHUNK = 64 * 1024
MAX_DEPTH = 64  # elements open at once; a sheet needs five

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_REF_TEXT = re.compile(r"([A-Z]{1,3})(\d{1,7})")
# Built-in number formats that show a date or time (ECMA-376 §18.8.30).
_DATE_FORMAT_IDS = {*range(14, 23), *range(45, 48), 27, 30, 36, 50, 57}
# A custom format is a date when, outside quotes, brackets and escapes, it uses d, m, y, h or s.
DATE, PERCENT = "date", "percent"
# A cell that held a number (not text) starts with this mark in a reader's rows:
# NUL never occurs in XML text. files._xlsx_rows turns it into a files.NumberCell.
NUMBER_MARK = "\x00"
_FORMAT_NOISE = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.')


class SheetError(Exception):
    """The workbook can't be read; the message says why, for the person who uploaded it."""


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_index(letters: str) -> int:
    column = 0
    for letter in letters:
        column = column * 26 + ord(letter) - 64
    return column - 1


class _DtdScanner:
    """
    Finds a DTD (`<!DOCTYPE`, `<!ENTITY`) anywhere in a part fed chunk by chunk:
    a declaration may follow any amount of comments, so the whole part is read.
    UTF-16 parts (which expat reads too) are decoded before looking.
    """

    MARKERS = ("<!DOCTYPE", "<!ENTITY")

    def __init__(self):
        self._decoder = None
        self._tail = ""
        self._started = False

    def feed(self, chunk: bytes) -> bool:
        if not self._started:
            self._started = True
            if chunk[:2] in (b"\xff\xfe", b"\xfe\xff") or chunk[:2] in (b"<\x00", b"\x00<"):
                encoding = "utf-16-be" if chunk[:2] in (b"\xfe\xff", b"\x00<") else "utf-16-le"
                self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
            else:
                self._decoder = codecs.getincrementaldecoder("latin-1")()
        text = self._tail + self._decoder.decode(chunk)
        found = any(marker in text for marker in self.MARKERS)
        self._tail = text[-16:]
        return found


def dtd_declared(archive: zipfile.ZipFile, name: str) -> bool:
    """Does this part of the archive declare a DTD or entities, anywhere in it?"""
    scanner = _DtdScanner()
    with archive.open(name) as part:
        while chunk := part.read(CHUNK):
            if scanner.feed(chunk):
                return True
    return False


def _events(archive: zipfile.ZipFile, name: str, tags: tuple[str, ...]):
    """
    (event, element) for the given local tags, streamed from one part of the
    archive. An element's attributes are read at its start and its text at its
    end; every finished element is then dropped from its parent, so memory
    stays that of the open path, whatever the part holds.
    """
    parser = XMLPullParser(events=("start", "end"))
    wanted = {_MAIN + t for t in tags} | set(tags)
    scanner = _DtdScanner()
    stack: list = []

    def events():
        for event, element in parser.read_events():
            if event == "start":
                stack.append(element)
                if len(stack) > MAX_DEPTH:
                    raise SheetError(f"The workbook part {name} is nested too deeply.")
                if element.tag in wanted:
                    yield event, element
            else:
                stack.pop()
                if element.tag in wanted:
                    yield event, element
                if stack:
                    del stack[-1][:]

    try:
        with archive.open(name) as part:
            while chunk := part.read(CHUNK):
                if scanner.feed(chunk):
                    raise SheetError(
                        f"The workbook part {name} declares a DTD or entities; refused "
                        "(entity expansion attacks)."
                    )
                parser.feed(chunk)
                yield from events()
        parser.close()
        yield from events()
    except ParseError as exc:
        raise SheetError(f"The workbook part {name} is not well-formed XML ({exc}).") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise SheetError(f"The workbook part {name} can't be decompressed ({exc}).") from None


def _parse_small(archive: zipfile.ZipFile, name: str):
    """A small part (workbook, relationships), parsed whole after its size is checked."""
    info = archive.getinfo(name)
    if info.file_size > 5 * 1024 * 1024:
        raise SheetError(f"The workbook part {name} is too large ({info.file_size:,} bytes).")
    data = archive.read(name)
    if _DtdScanner().feed(data):
        raise SheetError(
            f"The workbook part {name} declares a DTD or entities; refused "
            "(entity expansion attacks)."
        )
    try:
        root = fromstring(data, forbid_dtd=True)
    except ParseError as exc:
        raise SheetError(f"The workbook part {name} is not well-formed XML ({exc}).") from None
    return root


def _target(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts = base.split("/")[:-1] + target.split("/")
    resolved: list[str] = []
    for part in parts:
        if part == "..":
            if resolved:
                resolved.pop()
        elif part and part != ".":
            resolved.append(part)
    return "/".join(resolved)


def _relationships(archive: zipfile.ZipFile) -> dict[str, tuple[str, str]]:
    """Id → (type suffix, part name) of xl/workbook.xml's relationships."""
    name = "xl/_rels/workbook.xml.rels"
    if name not in archive.NameToInfo:
        return {}
    root = _parse_small(archive, name)
    found = {}
    for el in root.iter(_PKG_REL + "Relationship"):
        kind = el.get("Type", "").rsplit("/", 1)[-1]
        found[el.get("Id", "")] = (kind, _target("xl/workbook.xml", el.get("Target", "")))
    return found


class Workbook:
    """The parts of a workbook needed to read one sheet's values."""

    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive
        root = _parse_small(archive, "xl/workbook.xml")
        props = root.find(_MAIN + "workbookPr")
        self.date1904 = props is not None and props.get("date1904", "").lower() in {"1", "true"}
        rels = _relationships(archive)
        self.sheets: list[tuple[str, str]] = []  # (name, part), in the workbook's order
        for el in root.iter(_MAIN + "sheet"):
            kind, part = rels.get(el.get(_REL + "id", ""), ("", ""))
            if kind == "worksheet" and part in archive.NameToInfo:
                self.sheets.append((el.get("name", ""), part))
        if not self.sheets:
            raise SheetError("The workbook has no worksheet.")
        self._rels = rels

    def part_of(self, kind: str) -> str | None:
        return next(
            (p for k, p in self._rels.values() if k == kind and p in self.archive.NameToInfo),
            None,
        )

    def shared_strings(self) -> list[str]:
        part = self.part_of("sharedStrings")
        if part is None:
            return []
        strings: list[str] = []
        pieces: list[str] = []
        length = 0
        phonetic = 0  # inside <rPh>: a reading aid, not the cell's text
        for event, el in _events(self.archive, part, ("si", "t", "rPh")):
            tag = el.tag.removeprefix(_MAIN)
            if tag == "rPh":
                phonetic += 1 if event == "start" else -1
            elif tag == "t" and event == "end":
                if not phonetic and length <= 4 * MAX_CELL_CHARS:  # room for blanks around
                    text = el.text or ""
                    pieces.append(text)
                    length += len(text)
                el.clear()
            elif tag == "si" and event == "end":
                if len(strings) >= MAX_CELLS:
                    raise SheetError(
                        f"The workbook holds more than {MAX_CELLS:,} distinct texts; "
                        "at most that many cells can hold a value."
                    )
                strings.append("".join(pieces).strip()[: MAX_CELL_CHARS + 1])
                pieces, length = [], 0
                el.clear()
        return strings

    def number_styles(self) -> list[str]:
        """
        For each cell style (the `s` of a cell), what its number format shows:
        DATE, PERCENT (0.9995 shown as 99.95%) or "" (the number as it is).
        """
        part = self.part_of("styles")
        if part is None:
            return []
        custom: dict[int, str] = {}
        styles: list[str] = []
        in_xfs = False
        for event, el in _events(self.archive, part, ("numFmt", "cellXfs", "xf")):
            tag = el.tag.removeprefix(_MAIN)
            if tag == "cellXfs":
                in_xfs = event == "start"
            elif tag == "numFmt" and event == "end":
                code = _FORMAT_NOISE.sub("", el.get("formatCode", "")).lower()
                custom[_int(el.get("numFmtId"))] = (
                    DATE if re.search(r"[dmyhs]", code) else PERCENT if "%" in code else ""
                )
            elif tag == "xf" and event == "start" and in_xfs:
                fmt = _int(el.get("numFmtId"))
                builtin = DATE if fmt in _DATE_FORMAT_IDS else PERCENT if fmt in {9, 10} else ""
                styles.append(custom.get(fmt, builtin))
                if len(styles) > 65_000:
                    raise SheetError("The workbook declares too many cell styles.")
        return styles


def _int(text: str | None, default: int = 0) -> int:
    try:
        return int(text or default)
    except ValueError:
        return default


def _serial_to_datetime(serial: float, date1904: bool) -> datetime | None:
    """An Excel date serial as a datetime (None when it is no date Excel can show)."""
    # Below 1 a "date" is a bare time of day or a duration: read as the number it is.
    if not 1 <= serial < 2_958_466:  # 9999-12-31 in the 1900 system
        return None
    # Excel serials are local, naive wall-clock dates: no time zone applies.
    if date1904:
        base = datetime(1904, 1, 1)  # noqa: DTZ001
    else:
        # Excel counts a 29 February 1900 that never was: serials from 61 on are one day off.
        base = datetime(1899, 12, 30) if serial >= 61 else datetime(1899, 12, 31)  # noqa: DTZ001
    try:
        moment = base + timedelta(days=serial)
    except OverflowError:
        return None
    # Excel stores times to the millisecond; drop float noise below it.
    micro = round(moment.microsecond / 1000) * 1000
    if micro >= 1_000_000:
        return moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.replace(microsecond=micro)


def excel_number(value: float) -> str | None:
    """
    A number as Excel shows it at most: 15 significant digits, never an exponent
    (0.1 + 0.2 is 0.3, 1.5e-05 is 0.000015). Not finite: None.
    """
    if value != value or value in (float("inf"), float("-inf")):
        return None
    if value == 0:
        return "0"
    if value.is_integer() and -1e15 < value < 1e15:
        return str(int(value))
    shortest = repr(value)  # the shortest text that reads back as this float
    if "e" not in shortest and len(shortest.lstrip("-").replace(".", "").lstrip("0")) <= 15:
        return shortest  # already at most 15 significant digits
    return f"{Decimal(f'{value:.15g}'):f}"


def _number_text(text: str, style: str = "") -> str:
    """The `<v>` of a number cell: marked as a number, or as a percentage if so formatted."""
    try:
        value = float(text)
    except ValueError:
        return text.strip()
    if style == PERCENT:
        shown = excel_number(value * 100)
        return f"{shown}%" if shown is not None else text.strip()
    shown = excel_number(value)
    return NUMBER_MARK + shown if shown is not None else text.strip()


def _date_text(moment: datetime) -> str:
    if moment.hour == moment.minute == moment.second == moment.microsecond == 0:
        return moment.date().isoformat()
    return moment.isoformat(sep=" ")


def choose_sheet(book: Workbook, prefer: str = "readings") -> tuple[str, str]:
    """(name, part) of the sheet named `prefer` (case-insensitively), else the first."""
    return next(((n, p) for n, p in book.sheets if n.strip().lower() == prefer), book.sheets[0])


def read_sheet_streaming(
    archive: zipfile.ZipFile, book: Workbook, name: str, part: str, *, max_rows: int
) -> list[tuple[int, list[str]]]:
    """
    The reference reader: the rows of one sheet that hold a value, as
    [(row number, [cell text, ...]), ...], each row as wide as its last value.
    Raises SheetError when the sheet can't be read or passes a limit: more
    than `max_rows` rows (besides the header), a value beyond column
    MAX_COLUMNS, more than MAX_CELLS values or MAX_TEXT_CHARS characters.
    """
    strings = book.shared_strings()
    styles = book.number_styles()
    rows: list[tuple[int, list[str]]] = []
    cells = chars = 0
    row_number = 0
    column = -1
    current: dict[int, str] = {}
    kind = style = ref = ""
    value: str | None = None
    inline: list[str] = []

    def flush() -> None:
        if current:
            width = max(current) + 1
            rows.append((row_number, [current.get(i, "") for i in range(width)]))
            if len(rows) > max_rows + 1:
                raise SheetError(
                    f"The sheet {name!r} has more than {max_rows:,} data rows "
                    f"(row {row_number:,} is past the limit); at most {max_rows:,} per upload."
                )

    for event, el in _events(archive, part, ("row", "c", "v", "t", "is")):
        tag = el.tag.removeprefix(_MAIN)
        if tag == "row":
            if event == "start":
                row_number = _int(el.get("r"), row_number + 1)
                if not 0 < row_number <= EXCEL_MAX_ROW:
                    raise SheetError(f"The sheet {name!r} has a row numbered {row_number}.")
                column, current = -1, {}
            else:
                flush()
                current = {}
                el.clear()
        elif tag == "c":
            if event == "start":
                ref = el.get("r", "")
                match = _REF_TEXT.fullmatch(ref)
                if match:
                    column = _column_index(match.group(1))
                else:
                    column += 1
                    ref = f"{column_letter(column)}{row_number}"
                kind, style, value, inline = el.get("t", "n"), el.get("s", ""), None, []
            else:
                text = _cell(kind, style, value, inline, strings, styles, book.date1904).strip()
                if text:
                    if column >= MAX_COLUMNS:
                        raise SheetError(
                            f"Cell {ref} of sheet {name!r} holds a value; a sheet may use "
                            f"columns A to {column_letter(MAX_COLUMNS - 1)} only."
                        )
                    text = text[: MAX_CELL_CHARS + 1]
                    cells += 1
                    chars += len(text)
                    if cells > MAX_CELLS or chars > MAX_TEXT_CHARS:
                        raise SheetError(
                            f"The sheet {name!r} holds more than {MAX_CELLS:,} values or "
                            f"{MAX_TEXT_CHARS:,} characters; split it into several uploads."
                        )
                    current[column] = text
                el.clear()
        elif event == "end":
            if tag == "v":
                value = el.text or ""
            elif tag == "t":
                inline.append(el.text or "")
            el.clear()
    return rows


def _cell(kind, style, value, inline, strings, styles, date1904) -> str:
    if kind == "inlineStr":
        return "".join(inline)
    if value is None:
        return ""
    if kind == "s":
        index = _int(value, -1)
        if not 0 <= index < len(strings):
            raise SheetError(f"A cell refers to text number {value}, which the workbook lacks.")
        return strings[index]
    if kind == "b":
        return "TRUE" if value.strip() in {"1", "true"} else "FALSE"
    if kind in {"str", "e", "d"}:
        return value
    # A number; with a date format, a date serial.
    index = _int(style, -1)
    shown = styles[index] if 0 <= index < len(styles) else ""
    if shown == DATE:
        try:
            moment = _serial_to_datetime(float(value), date1904)
        except ValueError:
            moment = None
        if moment is not None:
            return _date_text(moment)
        shown = ""
    return _number_text(value, shown)


# --- The fast path: a pre-scan proves the extent, then calamine reads the values ------

# Beyond this many cells from A1 to the last value, the fast reader's grid is refused.
MAX_GRID_CELLS = 1_200_000
# A sheet that needs the reference reader (cells without an `r="A1"` reference
# first, prefixed elements) may be at most this large uncompressed: that reader
# runs in Python, about 4 MB of XML a second.
MAX_STREAMING_PART = 16 * 1024 * 1024
SCAN_CHUNK = 1024 * 1024

_ANY_CELL = re.compile(rb"<c[\s/>]")
_PREFIXED = re.compile(rb"<[A-Za-z_][\w.-]*:(?:c|row|sheetData)[\s/>]")
# A cell as Excel, LibreOffice and openpyxl write it: the reference first.
_CELL_REF = re.compile(rb'<c r="[A-Z]{1,3}[0-9]{1,7}"')
# Such a cell that may hold a value: neither `<c …/>` nor `<c …></c>`.
_VALUED_CELL = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*(?<!/)>(?!</c>)')
# The same, with its style when the style comes right after the reference (as written).
_STYLED_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})([0-9]{1,7})"(?: s="([0-9]+)")?([^>]*)(?<!/)>(?!</c>)'
)
_RAW_VALUE = re.compile(
    rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*(?<!/)>(?:<f[^>]*/>|<f[^>]*>[^<]*</f>)?<v>([^<]*)</v>'
)
_ERROR_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*?\bt="e"[^>]*>(?:<f[^>]*/>|<f[^>]*>[^<]*</f>)?'
    rb"<v>([^<]*)</v>"
)


@dataclass
class Extent:
    """What the pre-scan learned of a sheet without building anything of it."""

    regular: bool = True  # every cell is written `<c r="A1" …>`
    last_row: int = 0  # of a cell that may hold a value
    last_column: int = -1
    last_ref: str = ""
    rows: int = 0  # rows that hold a value
    errors: dict[tuple[int, int], str] = field(default_factory=dict)
    percent: set[tuple[int, int]] = field(default_factory=set)  # cells formatted as 99.95%

    @property
    def grid(self) -> int:
        return self.last_row * (self.last_column + 1)


def scan_extent(
    archive: zipfile.ZipFile, part: str, *, max_rows: int, percent_styles: frozenset = frozenset()
) -> Extent:
    """
    Read the sheet's XML once, as bytes, for the cells that may hold a value
    (not `<c …/>`, not `<c …></c>`): the last row and column, how many rows,
    and the Excel errors (#DIV/0!…) the fast reader would show as empty.
    Refuses the sheet as soon as it passes a limit.
    """
    extent = Extent()
    previous_row = 0
    for text in _tag_aligned_chunks(archive, part):
        if _PREFIXED.search(text):
            extent.regular = False
        if len(_CELL_REF.findall(text)) != len(_ANY_CELL.findall(text)):
            extent.regular = False
        cells = _VALUED_CELL.findall(text)
        if not cells:
            continue
        for letters in {letters for letters, _ in cells}:
            column = _column_index(letters.decode())
            if column >= MAX_COLUMNS:
                ref = next(f"{a.decode()}{b.decode()}" for a, b in cells if a == letters)
                raise SheetError(
                    f"Cell {ref} of the sheet holds a value; a sheet may use columns A to "
                    f"{column_letter(MAX_COLUMNS - 1)} only."
                )
            extent.last_column = max(extent.last_column, column)
        numbers = {int(digits) for _, digits in cells}
        extent.rows += len(numbers - {previous_row})
        previous_row = int(cells[-1][1])
        last = max(numbers)
        if last > extent.last_row:
            extent.last_row = last
            extent.last_ref = next(
                f"{a.decode()}{last}" for a, b in reversed(cells) if int(b) == last
            )
        if extent.rows > max_rows + 1:
            raise SheetError(
                f"The sheet has more than {max_rows:,} data rows; at most {max_rows:,} per upload."
            )
        if percent_styles:
            for letters, digits, style, rest in _STYLED_CELL.findall(text):
                if style in percent_styles:
                    extent.percent.add((int(digits), _column_index(letters.decode())))
                elif not style and b' s="' in rest:
                    extent.regular = False  # a style written elsewhere: read by the reference
        if b't="e"' in text:
            for letters, digits, value in _ERROR_CELL.findall(text):
                if len(extent.errors) < 10_000:
                    key = (int(digits), _column_index(letters.decode()))
                    extent.errors[key] = value.decode("utf-8", "replace") or "#ERROR"
    return extent


def _tag_aligned_chunks(archive: zipfile.ZipFile, part: str):
    """The part's bytes in chunks of about SCAN_CHUNK that end just after a `>`."""
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(SCAN_CHUNK):
            data = tail + chunk
            cut = data.rfind(b">") + 1
            if cut == 0 and len(data) > SCAN_CHUNK:
                raise SheetError(f"The sheet holds a tag longer than {SCAN_CHUNK:,} bytes.")
            yield data[:cut]
            tail = data[cut:]
    if tail:
        yield tail


def _cell_text(value) -> str:
    """A value as the fast reader gives it, as text; the same as the reference reader's."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return _date_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        shown = excel_number(float(value))
        return NUMBER_MARK + shown if shown is not None else repr(value)
    return str(value)


def _read_fast(
    data: bytes, name: str, extent: Extent, *, max_rows: int
) -> list[tuple[int, list[str]]]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        grid = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except (CalamineError, ValueError, IndexError) as exc:
        raise SheetError(f"The workbook can't be read: {exc}.") from None
    rows: list[tuple[int, list[str]]] = []
    cells = chars = 0
    errors: dict[int, list[tuple[int, str]]] = {}
    for (row, column), text in extent.errors.items():
        errors.setdefault(row, []).append((column, text))
    for row, column in extent.percent:
        if row <= len(grid) and column < len(grid[row - 1]):
            value = grid[row - 1][column]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                shown = excel_number(value * 100)
                grid[row - 1][column] = f"{shown}%" if shown is not None else repr(value)
    # calamine shows a date-formatted number below 1 (or negative) as a time or a
    # duration; the reference reads it as the number it is: those few are re-read.
    odd: list[tuple[int, int]] = []
    limit = MAX_CELL_CHARS + 1
    for index, values in enumerate(grid):
        number = index + 1
        texts = []
        for v in values:  # one loop over every cell: the common types first
            kind = type(v)
            if kind is str:
                text = v.strip()
                texts.append(text if len(text) <= limit else text[:limit])
            elif kind is float:
                shown = excel_number(v)
                texts.append(NUMBER_MARK + shown if shown is not None else repr(v))
            elif kind in (dt_time, timedelta):
                odd.append((len(rows), len(texts)))
                texts.append("?")
            else:
                texts.append(_cell_text(v).strip()[:limit])
        for column, text in errors.get(number, ()):
            if column < len(texts):
                texts[column] = text
        while texts and not texts[-1]:
            texts.pop()
        if not texts:
            continue
        cells += len(texts) - texts.count("")
        chars += sum(map(len, texts))
        if cells > MAX_CELLS or chars > MAX_TEXT_CHARS:
            raise SheetError(
                f"The sheet {name!r} holds more than {MAX_CELLS:,} values or "
                f"{MAX_TEXT_CHARS:,} characters; split it into several uploads."
            )
        rows.append((number, texts))
    if len(rows) > max_rows + 1:
        raise SheetError(
            f"The sheet {name!r} has more than {max_rows:,} data rows; at most {max_rows:,} "
            "per upload."
        )
    if odd:
        raw = _raw_values(data, name, {(rows[r][0], c) for r, c in odd})
        for r, c in odd:
            rows[r][1][c] = _number_text(raw.get((rows[r][0], c), ""))
    return rows


def _raw_values(data: bytes, name: str, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """The `<v>` text of the given cells (row, column) of the named sheet."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    part = dict(Workbook(archive).sheets)[name]
    found: dict[tuple[int, int], str] = {}
    for text in _tag_aligned_chunks(archive, part):
        for letters, digits, value in _RAW_VALUE.findall(text):
            key = (int(digits), _column_index(letters.decode()))
            if key in wanted:
                found[key] = value.decode()
    return found


def read_sheet(
    data: bytes, *, prefer: str = "readings", max_rows: int
) -> tuple[str, list[tuple[int, list[str]]]]:
    """
    (sheet name, rows) of the workbook's readings sheet, as the reference
    reader gives them. A pre-scan of the sheet's XML proves its extent first;
    a regular sheet within the limits is then read by calamine (fast, but it
    builds a dense grid from A1 to the last value, so it never sees a sheet
    whose grid would pass MAX_GRID_CELLS); an irregular one by the reference
    reader, if it is small enough for that reader's pace.
    """
    archive = zipfile.ZipFile(io.BytesIO(data))
    book = Workbook(archive)
    name, part = choose_sheet(book, prefer)
    percent = frozenset(
        str(index).encode() for index, shown in enumerate(book.number_styles()) if shown == PERCENT
    )
    extent = scan_extent(archive, part, max_rows=max_rows, percent_styles=percent)
    if not extent.regular:
        if archive.getinfo(part).file_size > MAX_STREAMING_PART:
            raise SheetError(
                f"The sheet {name!r} is written in a form that is slow to read (cells without "
                f"an A1 reference) and is larger than {MAX_STREAMING_PART // 1024 // 1024} MB. "
                "Save it again from Excel or LibreOffice, or as CSV."
            )
        return name, read_sheet_streaming(archive, book, name, part, max_rows=max_rows)
    if extent.grid > MAX_GRID_CELLS:
        raise SheetError(
            f"The sheet {name!r} uses the range A1:{column_letter(extent.last_column)}"
            f"{extent.last_row} ({extent.grid:,} cells; its last value is in "
            f"{extent.last_ref}); at most {MAX_GRID_CELLS:,} cells. Delete the rows and "
            "columns after your data, or save the data as CSV."
        )
    return name, _read_fast(data, name, extent, max_rows=max_rows)
