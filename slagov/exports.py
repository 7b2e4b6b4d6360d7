"""
Exports of what a list shows, as CSV or XLSX: the one way a table leaves slagov.

A page or an API endpoint builds its rows from the same scoped, filtered
queryset it shows, and hands them here with its columns (an `Export`: each
app keeps its lists' in its own `exports.py`, so a page and the API write
the same file). Numbers stay numbers and dates stay dates (typed cells in
XLSX; plain figures with a point in CSV), and every text cell is safe from
formulas: text that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return gets a leading apostrophe, so a spreadsheet shows it and never runs it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

FORMATS = ("csv", "xlsx")
# A list can be long; an export of more rows than this is cut and says so.
EXPORT_MAX = 50_000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Control characters an XLSX file can't hold (openpyxl refuses the whole workbook
# for one of them), and the longest text a spreadsheet cell takes.
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
XLSX_TEXT_MAX = 32_767


def safe_text(value) -> str:
    """Text that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def cell(value):
    """
    One value as a spreadsheet cell: numbers, dates and booleans as they are
    (a datetime in local time, without its zone: spreadsheets have none), any
    other value as formula-safe text.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, date):
        return value
    return safe_text(value)


def person(user) -> str:
    """A user as lists show them: the full name, else the username; blank for nobody."""
    if user is None:
        return ""
    return user.get_full_name() or user.username


@dataclass(frozen=True)
class Column:
    header: str
    get: Callable[[object], object]


def requested_format(request) -> str | None:
    """`csv` or `xlsx` when the request asks for an export (`?format=`), else None."""
    wanted = request.GET.get("format", "")
    return wanted if wanted in FORMATS else None


@dataclass(frozen=True)
class Export:
    """
    A list as it leaves slagov: its file name, its columns, the relations its
    columns read (`related`, joined in the same query when the rows are a
    queryset) and, for rows that are not model rows, how to make them from
    what the list selects (`prepare`). The page and the API share one.
    """

    name: str
    columns: list[Column]
    related: tuple[str, ...] = ()
    prepare: Callable[[Iterable], Iterable] | None = None

    def rows(self, rows: Iterable) -> Iterable:
        if self.related and isinstance(rows, QuerySet):
            rows = rows.select_related(*self.related)
        return self.prepare(rows) if self.prepare is not None else rows

    def response(self, fmt: str, rows: Iterable, *, name: str | None = None) -> HttpResponse:
        return response(fmt, name=name or self.name, columns=self.columns, rows=self.rows(rows))


def refused(problems: dict[str, list[str]] | str) -> HttpResponse:
    """A 400 that names each parameter at fault: an export never guesses what was meant."""
    if isinstance(problems, str):
        text = problems
    else:
        text = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in problems.items())
    return HttpResponse(
        f"Nothing exported: {text}", status=400, content_type="text/plain; charset=utf-8"
    )


def refused_filter(filterset) -> HttpResponse | None:
    """The 400 for a list whose filter is not valid (a page shows it unfiltered), else None."""
    if filterset.is_bound and not filterset.is_valid():
        return refused({name: list(errors) for name, errors in filterset.errors.items()})
    return None


def table(columns: list[Column], rows: Iterable) -> list[list]:
    """The header and the cells of each row (at most EXPORT_MAX rows)."""
    if isinstance(rows, QuerySet):
        # One row past the cap says there is more, without reading every row.
        rows = rows[: EXPORT_MAX + 1]
    out = [[c.header for c in columns]]
    for n, row in enumerate(rows):
        if n == EXPORT_MAX:
            out.append([f"Cut at {EXPORT_MAX:,} rows: narrow the filter for the rest."])
            break
        out.append([cell(c.get(row)) for c in columns])
    return out


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 99.950000 → 99.95, 1E+2 → 100
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def as_csv(cells: list[list]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel reads accents as they are."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in cells:
        writer.writerow([_csv_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode()


def as_xlsx(cells: list[list], *, title: str = "export") -> bytes:
    """
    A workbook of one sheet: the header bold and frozen, dates formatted as
    dates. Written row by row (openpyxl's write-only mode): a workbook held in
    memory takes some 300 MB for EXPORT_MAX rows.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(safe_sheet_title(title))
    sheet.freeze_panes = "A2"
    # Column widths must be set before the first row is written.
    widths: dict[int, int] = {}
    for row in cells[:201]:
        for n, value in enumerate(row):
            widths[n] = max(widths.get(n, 0), len(str(value)) if value is not None else 0)
    for n, width in widths.items():
        sheet.column_dimensions[get_column_letter(n + 1)].width = min(max(width + 2, 8), 60)
    bold = Font(bold=True)

    def styled(value, **style):
        out = WriteOnlyCell(sheet, value=value)
        for name, setting in style.items():
            setattr(out, name, setting)
        return out

    for n, row in enumerate(cells):
        values = []
        for value in row:
            if isinstance(value, str):
                value = _xlsx_text(value)
            if n == 0:
                values.append(styled(value, font=bold))
            elif isinstance(value, datetime):
                values.append(styled(value, number_format="yyyy-mm-dd hh:mm"))
            elif isinstance(value, date):
                values.append(styled(value, number_format="yyyy-mm-dd"))
            else:
                values.append(value)
        sheet.append(values)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _xlsx_text(text: str) -> str:
    """Text a workbook can hold: no control characters but tab and line breaks, cut at the limit."""
    # Quoted again once they are gone: "\x01=1+1" would otherwise become a formula.
    text = safe_text(_XLSX_ILLEGAL.sub("", text))
    return text if len(text) <= XLSX_TEXT_MAX else text[: XLSX_TEXT_MAX - 1] + "…"


def safe_sheet_title(title: str) -> str:
    """A sheet title Excel accepts: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join("-" if ch in "[]:*?/\\" else ch for ch in title).strip("'") or "export"
    return cleaned[:31]


def response(fmt: str, *, name: str, columns: list[Column], rows: Iterable) -> HttpResponse:
    """The download: `<name>-<today>.csv|xlsx`, built from the same rows the list shows."""
    cells = table(columns, rows)
    stamp = timezone.localdate().isoformat()
    filename = f"{name}-{stamp}.{fmt}"
    if fmt == "csv":
        out = HttpResponse(as_csv(cells), content_type="text/csv; charset=utf-8")
    else:
        out = HttpResponse(as_xlsx(cells, title=name), content_type=XLSX_TYPE)
    # A name may carry a reference typed by a person: quoted (or encoded) as RFC 6266 says.
    out["Content-Disposition"] = content_disposition_header(True, filename)
    return out
