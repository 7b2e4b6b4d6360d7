"""
Blank upload templates for a vendor and a month: one row per period owed
(each SLA's month, or each week starting in it for weekly SLAs) with the
value left empty beside the value on file, plus the terms in force.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill

from contracts import periods
from contracts.models import Contract, ServiceLevel, Vendor
from metrics.engine import deadline, timelines_for
from metrics.ingest.files import INFO_COLUMNS, STORED_COLUMN
from metrics.ingest.months import vendor_service_levels
from metrics.models import Reading
from slagov.exports import safe_text
from slagov.tenancy import in_tenant_scope

ABOUT_HEADER = [
    *("contract", "sla", "name", "kind", "unit", "direction", "period"),
    *("target (green at or better)", "minimum (red when worse)", "data due by"),
]
# The stored value sits beside the value to fill in; the reader ignores it (INFO_COLUMNS).
HEADER = (
    "contract", "sla", "period", "value", STORED_COLUMN, "note",
    *(c for c in INFO_COLUMNS if c != STORED_COLUMN),
)  # fmt: skip


@dataclass(frozen=True)
class Line:
    contract: Contract
    sla: ServiceLevel
    period_start: date
    target: object
    minimum: object
    due_by: date
    stored: Decimal | None = None  # the value on file, if any

    @property
    def period_label(self) -> str:
        return periods.period_label(self.period_start, self.sla.period)

    def cells(self) -> list[str]:
        return [
            safe_text(self.contract.reference), safe_text(self.sla.code), self.period_label, "",
            _num(self.stored), "", safe_text(self.sla.name), self.sla.get_unit_display(),
            _num(self.target), _num(self.minimum), self.due_by.isoformat(),
        ]  # fmt: skip


def _num(value) -> str:
    return "" if value is None else f"{value.normalize():f}"


@in_tenant_scope
def template_lines(
    *, vendor: Vendor, month: date, today: date, slas: list[ServiceLevel] | None = None
) -> list[Line]:
    """
    What the vendor owes for the month (weekly SLAs: every week starting in it),
    as `ServiceLevel.owed_problem` says: ended, from the data start, inside the
    contract term; with the value stored for each, if any.
    """
    month = periods.period_start(month, periods.Period.MONTHLY)
    month_end = periods.period_end(month, periods.Period.MONTHLY)
    if slas is None:
        slas = vendor_service_levels(vendor)
    owed: list[tuple[ServiceLevel, date]] = []
    for sla in slas:
        first = periods.period_start(month, sla.period)
        if first < month:  # a week that starts in the month before
            first = periods.add_periods(first, sla.period, 1)
        for start in periods.iter_periods(first, month_end - timedelta(days=1), sla.period):
            if sla.owed_problem(start, today) is None:
                owed.append((sla, start))
    stored = {
        (sla_id, start): value
        for sla_id, start, value in Reading.objects.filter(
            organization_id=vendor.organization_id,
            service_level_id__in={sla.pk for sla, _ in owed},
            period_start__in={start for _, start in owed},
        ).values_list("service_level_id", "period_start", "value")
    }
    timelines = timelines_for(sorted({sla for sla, _ in owed}, key=lambda s: s.pk))
    lines = []
    for sla, start in owed:
        found = timelines[sla.pk].thresholds(start)
        thresholds = found[0] if found else None
        lines.append(
            Line(
                contract=sla.contract, sla=sla, period_start=start,
                target=thresholds.target if thresholds else None,
                minimum=thresholds.minimum if thresholds else None,
                due_by=deadline(start, sla.period, sla.contract.submission_deadline_days),
                stored=stored.get((sla.pk, start)),
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
    read_only = PatternFill("solid", fgColor="EEEEEE")
    value_at, stored_at = HEADER.index("value") + 1, HEADER.index(STORED_COLUMN) + 1
    sheet.append(list(HEADER))
    for cell in sheet[1]:
        cell.font = bold
    sheet.cell(row=1, column=stored_at).comment = Comment(
        "The value on file now, to compare with. Read-only: an upload ignores this column.",
        "slagov",
    )
    for line in lines:
        sheet.append(line.cells())
        sheet.cell(row=sheet.max_row, column=value_at).fill = fill
        sheet.cell(row=sheet.max_row, column=stored_at).fill = read_only
    widths = (14, 14, 10, 12, 13, 30, 30, 10, 10, 10, 12)
    for column, width in zip("ABCDEFGHIJK", widths, strict=True):
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
    about.append([
        f"{vendor.name}: data owed for {month:%b %Y} (the periods that have ended). Fill the "
        "value column of the 'readings' sheet; stored_value shows what is on file now and is "
        "not read. Add a note to explain a corrected value."
    ])  # fmt: skip
    for row in list(sheet.iter_rows()) + list(about.iter_rows()):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text stays text, even if it starts with "="
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
