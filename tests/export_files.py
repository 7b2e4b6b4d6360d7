"""
The export tests' helpers: reading exported files back as a spreadsheet would,
and a world with more rows in every list (query counts, limits).
"""

from __future__ import annotations

import codecs
import csv
import io
from decimal import Decimal

import openpyxl

from slagov.exports import XLSX_TYPE


def csv_rows(response) -> list[list[str]]:
    """The rows of a CSV download: UTF-8 with a byte-order mark, parsed back."""
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename")
    raw = response.content
    assert raw.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def xlsx_sheet(response):
    """The one sheet of an XLSX download (its cells keep their types)."""
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == XLSX_TYPE
    return openpyxl.load_workbook(io.BytesIO(response.content)).active


def xlsx_rows(response) -> list[list]:
    return [[c.value for c in row] for row in xlsx_sheet(response).iter_rows()]


def column(rows: list[list], header: str) -> list:
    """The values under `header`, row by row."""
    index = rows[0].index(header)
    return [row[index] for row in rows[1:]]


def xlsx_as_csv(response) -> list[list[str]]:
    """An XLSX download's cells written as the CSV download writes them (to compare the two)."""
    out = []
    for row in xlsx_sheet(response).iter_rows():
        line = []
        for c in row:
            value = c.value
            if value is None:
                line.append("")
            elif isinstance(value, bool):
                line.append("yes" if value else "no")
            elif c.is_date:
                date_only = c.number_format == "yyyy-mm-dd"
                line.append(
                    value.date().isoformat()
                    if date_only
                    else value.isoformat(sep=" ", timespec="minutes")
                )
            elif isinstance(value, int | float):
                line.append(format(Decimal(str(value)).normalize(), "f"))
            else:
                line.append(value)
        out.append(line)
    return out


def grow(world, n: int) -> None:
    """
    `n` more rows in every list of `mine` (the vendor user vic's): contracts, SLAs
    with a red January (a credit), escalations, action items, warnings,
    reviews and submissions.
    """
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from django_scopes import scopes_disabled

    from metrics import engine
    from metrics.ingest.pipeline import submission_receive
    from reviews.models import ActionItem, Review, VendorWarning
    from tests import factories
    from tests.conftest import make_escalation

    at = datetime(2026, 2, 20, 10, 0, tzinfo=UTC)
    org, contract = world.org, world.mine.contract
    slas = []
    with scopes_disabled():
        for k in range(n):
            other = factories.ContractFactory(vendor=world.mine.vendor, organization=org)
            factories.ServiceLevelFactory(contract=other, organization=org, code="avail")
            sla = factories.ServiceLevelFactory(contract=contract, organization=org, code=f"k{k}")
            terms = factories.TermsFactory(service_level=sla, organization=org)
            factories.CreditTierFactory(terms=terms, organization=org)
            factories.ReadingFactory(
                service_level=sla, period_start=date(2026, 1, 1), value=Decimal("99")
            )
            slas.append(sla.pk)
            make_escalation(sla)
            ActionItem.objects.create(
                organization=org, contract=contract, title=f"Item {k}", owner=world.vic,
                owner_side="vendor", due_date=date(2026, 3, 2), created_by=world.bob,
                created_at=at,
            )  # fmt: skip
            VendorWarning.objects.create(
                organization=org, contract=contract, service_level=sla, title=f"Risk {k}",
                impact="Slower", period_from=date(2026, 2, 1), raised_by=world.vic, raised_at=at,
            )  # fmt: skip
            Review.objects.create(
                organization=org, contract=contract, kind=Review.Kind.AD_HOC,
                scheduled_at=datetime(2026, 3, 2 + k, 10, 0, tzinfo=UTC),
            )  # fmt: skip
    engine.recompute(organization_id=org.pk, service_level_ids=slas, today=date(2026, 2, 3))
    for k in range(n):
        submission_receive(
            organization=org, actor=world.vic, vendor=world.mine.vendor, enqueue=False,
            data=f"contract,sla,period,value\n{contract.reference},avail,2026-01,{k}\n".encode(),
            filename=f"more-{k}.csv",
        )  # fmt: skip
