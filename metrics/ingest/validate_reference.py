"""
The reference of validation: the checks as first written, each rule applied per row
(or per distinct value, pair of SLA and period) with the rules' own functions.
`validate.check` is the fast form used by uploads; tests/test_validate_fast.py checks
that both give the same rows, problems and warnings on random and hostile tables.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

import numpy as np
import pandas as pd

from contracts import bounds, periods
from contracts.models import ServiceLevel
from metrics.ingest.validate import (
    MAX_LENGTH,
    SIX_PLACES,
    AmbiguousNumberError,
    Checked,
    VendorCatalogue,
    _codes,
    _colours,
    _compare,
    _duplicates,
    _flag_outside,
    _flag_rounded,
    _plain,
    _Problems,
    _skipped_warnings,
    _typed_number,
    decimal_mark_of,
    number_readings,
    parse_number,
)


def check(
    frame: pd.DataFrame,
    catalogue: VendorCatalogue,
    *,
    today: date,
    organization_id: int,
) -> Checked:
    """Validate rows against the vendor's contracts; compare with current readings."""
    n = len(frame)
    cells = {c: frame[c].astype(object).tolist() for c in MAX_LENGTH}
    found = _Problems(frame["row"].to_numpy(dtype=np.int64), cells)
    for column, limit in MAX_LENGTH.items():
        lengths = np.fromiter(map(len, cells[column]), dtype=np.int64, count=n)
        found.flag(lengths > limit, column,
                   f"The {column} is too long (more than {limit} characters).")  # fmt: skip
    readable = ~found.bad  # a too-long cell isn't looked at any further

    # Contract, then SLA: once per distinct reference and code.
    contract_code, contract_keys = _codes([c.lower() for c in cells["contract"]])
    contracts = [catalogue.contracts.get(k) for k in contract_keys]
    has_contract = np.array([c is not None for c in contracts], dtype=bool)[contract_code]
    found.flag(
        readable & ~has_contract,
        "contract",
        lambda i: f"Unknown contract {cells['contract'][i]!r} for this vendor."
        if cells["contract"][i] else "The contract reference is missing.",
    )  # fmt: skip
    sla_lower = [s.lower() for s in cells["sla"]]
    sla_code, sla_keys = _codes(list(zip(contract_code.tolist(), sla_lower, strict=True)))
    slas = [
        catalogue.slas.get((contracts[c].pk, code)) if contracts[c] is not None else None
        for c, code in sla_keys
    ]
    has_sla = np.array([s is not None for s in slas], dtype=bool)[sla_code]
    found.flag(
        readable & has_contract & ~has_sla,
        "sla",
        lambda i: f"Unknown SLA {cells['sla'][i]!r} on contract {cells['contract'][i]!r}."
        if cells["sla"][i] else "The SLA code is missing.",
    )  # fmt: skip
    known = readable & has_sla  # periods and values are checked independently from here
    sla_kind = [s.period if s else periods.Period.MONTHLY for s in slas]
    sla_unit = [s.unit if s else "" for s in slas]
    kinds = np.array(sla_kind, dtype=object)[sla_code]

    # Periods: parsed once per distinct text and kind.
    period_code, period_keys = _codes(list(zip(cells["period"], kinds.tolist(), strict=True)))
    parsed, why = [], []
    for text, kind in period_keys:
        try:
            parsed.append(periods.parse_period(text, kind))
            why.append("")
        except ValueError as exc:
            parsed.append(None)
            why.append(str(exc))
    period_ok = np.array([p is not None for p in parsed], dtype=bool)[period_code]
    found.flag(known & ~period_ok, "period", lambda i: why[period_code[i]])
    starts = np.array([p or date(1970, 1, 1) for p in parsed], dtype="datetime64[D]")[period_code]
    dated = known & period_ok
    # The range rule (ended, inside the contract term), once per distinct SLA and period.
    pair_code, pair_keys = _codes(list(zip(sla_code.tolist(), period_code.tolist(), strict=True)))
    pair_why = [
        periods.period_problem(
            parsed[p], slas[s].period, contract_start=slas[s].contract.start_date,
            contract_end=slas[s].contract.end_date, today=today,
        ) if slas[s] is not None and parsed[p] is not None else None
        for s, p in pair_keys
    ]  # fmt: skip
    out_of_range = np.array([w is not None for w in pair_why], dtype=bool)[pair_code]
    # A row left blank for a period nothing is owed for (not ended, before the data start,
    # an SLA no longer active: ServiceLevel.owed_problem) is skipped, not refused.
    pair_owed = [
        slas[s].owed_problem(parsed[p], today) if slas[s] is not None and parsed[p] is not None
        else "" for s, p in pair_keys
    ]  # fmt: skip
    owed = np.array([w is None for w in pair_owed], dtype=bool)[pair_code]
    blank = np.array([text == "" for text in cells["value"]], dtype=bool)
    skipped = dated & blank & ~owed
    found.flag(dated & out_of_range & ~skipped, "period", lambda i: pair_why[pair_code[i]])

    # Values: the file's decimal mark decided once (decimal_mark_of), then each value read.
    values: list[Decimal | None] = [None] * n
    value_why = [""] * n
    typed = (
        frame["value_is_number"].to_numpy(dtype=bool)
        if "value_is_number" in frame
        else np.zeros(n, dtype=bool)
    )
    readings = [
        number_readings(text) if readable[i] and not typed[i] else ()
        for i, text in enumerate(cells["value"])
    ]
    mark, unsettled = decimal_mark_of(readings, hint=frame.attrs.get("decimal_mark"))
    units = np.array(sla_unit, dtype=object)[sla_code]
    for i, text in enumerate(cells["value"]):
        if not known[i] or skipped[i]:
            continue  # nothing more to say about this row's value
        if text == "":
            value_why[i] = "The value is missing."
            if dated[i] and owed[i]:
                label = periods.period_label(parsed[period_code[i]], kinds[i])
                value_why[i] += (
                    f" Data for {label} is owed: fill it in, or remove the row to send it later."
                )
            continue
        try:
            if typed[i]:
                number = _typed_number(text)
            else:
                number = parse_number(text, readings[i], decimal_mark=mark)
        except AmbiguousNumberError as exc:
            one, other = (_plain(r) for r in exc.readings)
            value_why[i] = (
                f"{text!r} is ambiguous: {one} or {other}? This file doesn't settle whether "
                f"its decimal mark is a point or a comma ({unsettled}). Write it without a "
                "thousands separator."
            )
            continue
        except (ValueError, InvalidOperation):
            value_why[i] = f"{text!r} is not a number."
            if any(c.isdigit() and not c.isascii() for c in text):
                value_why[i] += " Write numbers with the digits 0 to 9."
            continue
        if text.endswith("%") and not typed[i] and units[i] != ServiceLevel.Unit.PERCENT:
            value_why[i] = f"A % sign on a value in {units[i]}: give the number only."
        else:
            values[i] = number
    parsed_value = np.array([v is not None for v in values], dtype=bool)
    found.flag(known & ~skipped & ~parsed_value, "value", lambda i: value_why[i])
    floats = np.array([float(v) if v is not None else np.nan for v in values], dtype=float)
    # The unit's range is contracts.bounds.value_range, compared as floats; a value close
    # to a bound, where a float can't tell, is compared as the exact decimal it is.
    numeric = known & parsed_value
    ranges = [bounds.value_range(unit) for unit in sla_unit]
    low = np.array([float(r[0]) for r in ranges], dtype=float)[sla_code]
    high = np.array([float(r[1]) for r in ranges], dtype=float)[sla_code]
    with np.errstate(invalid="ignore"):
        outside = numeric & ((floats < low) | (floats > high))
        close = numeric & (
            (np.abs(floats - low) <= 1e-3 * np.maximum(np.abs(low), 1))
            | (np.abs(floats - high) <= 1e-3 * np.maximum(np.abs(high), 1))
        )
    for i in np.flatnonzero(close):
        lowest, highest = ranges[sla_code[i]]
        outside[i] = not lowest <= values[i] <= highest
    too_large = outside & (floats > 0) & (units != ServiceLevel.Unit.PERCENT)
    _flag_outside(found, outside, too_large, values, units)
    # Never rounded quietly: a value keeps at most six decimal places, as stored.
    stored: list[Decimal | None] = [None] * n
    for i in np.flatnonzero(numeric & ~outside):
        stored[i] = values[i].quantize(SIX_PLACES, rounding=ROUND_HALF_EVEN)
    rounded = np.array([q is not None and q != v for q, v in zip(stored, values, strict=True)],
                       dtype=bool)  # fmt: skip
    _flag_rounded(found, rounded, cells["value"], stored)

    good = np.flatnonzero(~found.bad & ~skipped)
    sla_pk = np.array([s.pk if s else 0 for s in slas], dtype=np.int64)[sla_code]
    # Each problem names its row's SLA when the row's contract and code were found.
    sla_of_row = {int(found.rows[i]): int(sla_pk[i]) for i in np.flatnonzero(has_sla)}
    rows = pd.DataFrame(
        {
            "row": found.rows[good],
            "service_level_id": sla_pk[good],
            "period_start": starts[good].astype(object),  # datetime.date objects
            "value": [stored[i] for i in good],
            "note": [cells["note"][i] for i in good],
            "_sla": sla_code[good],
            "_float": floats[good],
        }
    )
    rows, duplicate_problems = _duplicates(rows, cells, found.rows)
    problems = found.items + duplicate_problems
    problems.sort(key=lambda p: (p.row or 0, p.column))
    for problem in problems:
        problem.sla_id = sla_of_row.get(problem.row)
    rows = _compare(rows, organization_id=organization_id)
    rows["colour"] = _colours(rows, slas, catalogue)
    rows = rows.drop(columns=["_sla", "_float"])
    warnings = _skipped_warnings(
        [(int(found.rows[i]), pair_owed[pair_code[i]]) for i in np.flatnonzero(skipped)]
    )
    return Checked(rows=rows.reset_index(drop=True), problems=problems, warnings=warnings)
