"""The staged rows' COPY text, written a column at a time, reads as the csv module writes it."""

from __future__ import annotations

import csv
import io
import random
from datetime import date
from decimal import Decimal

import pandas as pd

from contracts.rules import Colour
from metrics.ingest import staging

NOTES = ["", "monthly export", 'a "quoted" word', "a,b", "two\r\nlines", "\rx\n", " pad ",
         "=1+1", "@SUM(A1)", "é ß İ", '"', ",", "\u2028"]  # fmt: skip
VALUES = ["99.9", "-0.000001", "1E+2", "0", "123456789012.123456", "7.000000"]


def test_staged_rows_read_back_as_the_csv_module_writes_them():
    rng = random.Random(15)
    for size in (1, 2, 50, 400):
        rows = pd.DataFrame(
            {
                "row": [rng.randint(2, 100_001) for _ in range(size)],
                "service_level_id": [rng.randint(1, 10**12) for _ in range(size)],
                "period_start": [
                    date(rng.randint(2000, 2099), rng.randint(1, 12), 1) for _ in range(size)
                ],
                "value": [Decimal(rng.choice(VALUES)) for _ in range(size)],
                "note": ["".join(rng.choices(NOTES, k=rng.randint(0, 3))) for _ in range(size)],
                "action": [rng.choice(["new", "changed", "unchanged"]) for _ in range(size)],
                "old_value": [rng.choice([None, Decimal(rng.choice(VALUES))]) for _ in range(size)],
                "colour": [rng.choice(list(Colour)) for _ in range(size)],
            }
        )
        records = zip(
            [3] * size, [9] * size, rows["row"], rows["service_level_id"], rows["period_start"],
            rows["value"], rows["note"], rows["action"], rows["old_value"], rows["colour"],
            strict=True,
        )  # fmt: skip
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(records)
        fast = staging._rows_csv(rows, 3, 9)
        assert list(csv.reader(io.StringIO(fast, newline=""))) == list(
            csv.reader(io.StringIO(buffer.getvalue(), newline=""))
        )
