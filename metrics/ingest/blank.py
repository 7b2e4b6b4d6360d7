"""
Blank upload templates for a vendor and a month: one row per SLA (and per
week for weekly SLAs) with the value left empty, plus the terms in force.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

from django_scopes import scopes_disabled
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from contracts import periods
from contracts.models import Contract, ServiceLevel, Vendor
from metrics.engine import deadline, timelines_for
from metrics.ingest.files import INFO_COLUMNS

ABOUT_HEADER = [
    *("contract", "sla", "name", "kind", "unit", "direction", "period"),
    *("target (green at or better)", "minimum (red when worse)", "data due by"),
]
HEADER = ("contract", "sla", "period", "value", "note", *INFO_COLUMNS)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value) -> str:
    """Text that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


@dataclass(frozen=True)
class Line:
    contract: Contract
    sla: ServiceLevel
    period_start: date
    target: object
    minimum: object
    due_by: date

    def cells(self) -> list[str]:
        label = periods.period_label(self.period_start, self.sla.period)
        return [
            safe_text(self.contract.reference), safe_text(self.sla.code), label, "", "",
            safe_text(self.sla.name), self.sla.get_unit_display(),
            _num(self.target), _num(self.minimum), self.due_by.isoformat(),
        ]  # fmt: skip


def _num(value) -> str:
    return "" if value is None else f"{value.normalize():f}"


@scopes_disabled()
def template_lines(*, vendor: Vendor, month: date) -> list[Line]:
    """What the vendor must report for the month (weekly SLAs: every week starting in it)."""
    month = month.replace(day=1)
    month_end = periods.period_end(month, periods.Period.MONTHLY)
    contracts = Contract.objects.filter(
        organization_id=vendor.organization_id,
        vendor=vendor,
        start_date__lt=month_end,
        end_date__gte=month,
    ).order_by("reference")
    slas = list(
        ServiceLevel.objects.filter(contract__in=contracts, is_active=True)
        .select_related("contract")
        .order_by("contract__reference", "-kind", "code")
    )
    timelines = timelines_for(slas)
    lines = []
    for sla in slas:
        timeline = timelines[sla.pk]
        if sla.period == periods.Period.WEEKLY:
            first = periods.period_start(month, sla.period)
            if first < month:
                first += timedelta(weeks=1)
            starts = list(periods.iter_periods(first, month_end - timedelta(days=1), sla.period))
        else:
            starts = [month]
        for start in starts:
            found = timeline.thresholds(start)
            thresholds = found[0] if found else None
            lines.append(
                Line(
                    contract=sla.contract, sla=sla, period_start=start,
                    target=thresholds.target if thresholds else None,
                    minimum=thresholds.minimum if thresholds else None,
                    due_by=deadline(start, sla.period, sla.contract.submission_deadline_days),
                )
            )  # fmt: skip
    return lines


def as_csv(lines: list[Line]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for line in lines:
        writer.writerow(line.cells())
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens it as UTF-8


def as_xlsx(lines: list[Line], *, vendor: Vendor, month: date) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "readings"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="FFF8C5")
    sheet.append(list(HEADER))
    for cell in sheet[1]:
        cell.font = bold
    for line in lines:
        sheet.append(line.cells())
        sheet.cell(row=sheet.max_row, column=4).fill = fill
    for column, width in zip("ABCDEFGHIJ", (14, 14, 10, 12, 30, 30, 10, 10, 10, 12), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"

    about = workbook.create_sheet("SLAs")
    about.append(ABOUT_HEADER)
    for cell in about[1]:
        cell.font = bold
    seen = set()
    for line in lines:
        if line.sla.pk in seen:
            continue
        seen.add(line.sla.pk)
        about.append([
            safe_text(line.contract.reference), safe_text(line.sla.code), safe_text(line.sla.name),
            line.sla.get_kind_display(), line.sla.get_unit_display(),
            line.sla.get_direction_display(), line.sla.get_period_display(),
            _num(line.target), _num(line.minimum), line.due_by.isoformat(),
        ])  # fmt: skip
    about.append([])
    about.append([f"{vendor.name}: data for {month:%B %Y}. Fill the value column of the "
                  "'readings' sheet; add a note to explain a corrected value."])  # fmt: skip
    for row in list(sheet.iter_rows()) + list(about.iter_rows()):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text stays text, even if it starts with "="
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
