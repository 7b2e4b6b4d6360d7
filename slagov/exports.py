"""
Exports of what a list shows, as CSV or XLSX: the one way a table leaves slagov.

A page or an API endpoint builds its rows from the same scoped, filtered
queryset it shows, and hands them here with its columns. Numbers stay
numbers and dates stay dates (typed cells in XLSX; plain figures with a
point in CSV), and every text cell is safe from formulas: text that starts
with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading
apostrophe, so a spreadsheet shows it and never runs it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone

FORMATS = ("csv", "xlsx")
# A list can be long; an export of more rows than this is cut and says so.
EXPORT_MAX = 50_000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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


@dataclass(frozen=True)
class Column:
    header: str
    get: Callable[[object], object]


def requested_format(request) -> str | None:
    """`csv` or `xlsx` when the request asks for an export (`?format=`), else None."""
    wanted = request.GET.get("format", "")
    return wanted if wanted in FORMATS else None


def table(columns: list[Column], rows: Iterable) -> list[list]:
    """The header and the cells of each row (at most EXPORT_MAX rows)."""
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
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = safe_sheet_title(title)
    for row in cells:
        sheet.append(row)
    for header in sheet[1]:
        header.font = Font(bold=True)
    for row in sheet.iter_rows(min_row=2):
        for c in row:
            if isinstance(c.value, datetime):
                c.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(c.value, date):
                c.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    for column in sheet.columns:
        width = max(len(str(c.value)) if c.value is not None else 0 for c in column[:200])
        sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 60)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


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
    out["Content-Disposition"] = f'attachment; filename="{filename}"'
    return out
