"""
The fast validation (validate.check, per-row work in numpy) gives exactly what the
reference (validate_reference.check, each rule per row) gives: the same rows to stage
with their values, actions and colours, the same problems (row, column, value, message,
SLA) and the same warnings, on random and hostile tables.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
from django_scopes import scopes_disabled

from metrics.ingest import validate, validate_reference
from metrics.ingest.files import NumberCell
from metrics.models import Reading
from tests import factories
from tests.ingest_world import TODAY, build

pytestmark = pytest.mark.django_db

CONTRACTS = ["CORP-1", "corp-1", " CORP-1", "OTHER-1", "NOPE", "", "x" * 101]
SLAS = ["avail", "AVAIL", "p1-res", "backlog", "csat", "old", "late", "missing", "", "y" * 101]
PERIODS = ["2026-10", "2026-09", "2026-11", "2026-12", "2024-12", "2025-01", "2026-W40",
           "2026-W48", "2026-w47", "2026-13", "2026-02-30", "Oct 2026", "", "2030-01",
           "2026-1", "10/2026"]  # fmt: skip
VALUES = ["99.9", "99,9", "99.95", "1.200", "1,200", "1 234", "1.234,5", "100%", "99.9 %",
          "-0", "+5", "0.0000001", "0.1234567", "1e400", "NaN", "Infinity", "abc", "=1+1",
          "٣", "", "", "150", "250.5", "4", "8", "-3", "101", "9" * 30, "7", "12.000000",
          "1'234", "1\u00a0234", "3.8", "4.2", "0"]  # fmt: skip
NOTES = ["", "monthly export", "=cmd|' /C calc'!A0", "n" * 501, "fixed"]


def _world():
    w = build()
    old = factories.ServiceLevelFactory(
        organization=w.org, contract=w.contract, code="old", is_active=False
    )
    factories.TermsFactory(organization=w.org, service_level=old)
    late = factories.ServiceLevelFactory(
        organization=w.org, contract=w.contract, code="late", unit="hours", direction="lower"
    )
    late.data_start = date(2026, 6, 1)
    late.save()
    factories.TermsFactory(
        organization=w.org, service_level=late, target=Decimal(4), minimum=Decimal(8)
    )
    factories.TermsFactory(  # terms that changed: the preview colours by the terms in force
        organization=w.org, service_level=w.slas["avail"], effective_from=date(2026, 7, 1),
        target=Decimal("99.95"), minimum=Decimal("99.9"),
    )  # fmt: skip
    with scopes_disabled():
        for period, value in ((date(2026, 9, 1), "99.9"), (date(2026, 8, 1), "98")):
            Reading.objects.create(
                organization=w.org, service_level=w.slas["avail"], period_start=period,
                value=Decimal(value), source="api", submitted_at="2026-10-01T00:00:00Z",
            )  # fmt: skip
    return w


def _frame(rng: random.Random, size: int) -> pd.DataFrame:
    rows, cells = [], {c: [] for c in ("contract", "sla", "period", "value", "note")}
    typed = []
    number = 1
    for _ in range(size):
        number += rng.choice([1, 1, 1, 2])
        rows.append(number)
        cells["contract"].append(rng.choice(CONTRACTS[:4] * 4 + CONTRACTS))
        cells["sla"].append(rng.choice(SLAS[:5] * 3 + SLAS))
        cells["period"].append(rng.choice(PERIODS))
        value = rng.choice(VALUES)
        if rng.random() < 0.3:
            value = f"{rng.uniform(-5, 260):.{rng.randint(0, 7)}f}"
        is_typed = rng.random() < 0.1 and value not in ("", "abc", "=1+1", "٣")
        typed.append(is_typed)
        cells["value"].append(NumberCell(value) if is_typed else value)
        cells["note"].append(rng.choice(NOTES))
    frame = pd.DataFrame({"row": rows, **cells, "value_is_number": typed})
    frame.attrs["decimal_mark"] = rng.choice(["point", "comma", None])
    return frame


def _result(checked):
    return (
        checked.rows.to_dict("list"),
        [(p.row, p.column, p.value, p.message, p.sla_id) for p in checked.problems],
        checked.warnings,
        checked.counts(),
    )


def test_fast_validation_equals_the_reference_on_random_and_hostile_tables():
    w = _world()
    rng = random.Random(15)
    with scopes_disabled():
        catalogue = validate.VendorCatalogue.load(organization_id=w.org.pk, vendor_id=w.vendor.pk)
        for size in [0, 1, 2, 5, 30, 200, 600]:
            frame = _frame(rng, size)
            kwargs = {"today": TODAY, "organization_id": w.org.pk}
            fast = validate.check(frame.copy(), catalogue, **kwargs)
            reference = validate_reference.check(frame.copy(), catalogue, **kwargs)
            assert _result(fast) == _result(reference)


def test_fast_validation_equals_the_reference_on_a_clean_file_and_one_without_a_mark():
    w = _world()
    with scopes_disabled():
        catalogue = validate.VendorCatalogue.load(organization_id=w.org.pk, vendor_id=w.vendor.pk)
        months = ["2025-03", "2025-09", "2026-02", "2026-06", "2026-08", "2026-09", "2026-10"]
        values = ["99.91", "99.6", "99.2", "100", "99.95", "99.9", "99.899999"]
        frame = pd.DataFrame(
            {
                "row": range(2, 2 + len(months)),
                "contract": ["CORP-1"] * len(months),
                "sla": ["avail"] * len(months),
                "period": months,
                "value": values,
                "note": ["fixed"] * len(months),
            }
        )
        for mark in ("point", None):
            frame.attrs["decimal_mark"] = mark
            kwargs = {"today": TODAY, "organization_id": w.org.pk}
            fast = validate.check(frame.copy(), catalogue, **kwargs)
            assert not fast.problems
            assert _result(fast) == _result(validate_reference.check(frame.copy(), catalogue,
                                                                     **kwargs))  # fmt: skip
