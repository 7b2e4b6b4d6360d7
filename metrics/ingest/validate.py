"""
Validating a table of readings for one vendor, in one pass.

Every problem is collected with its row (as the user sees it in the file),
column, offending value and a plain message. A contract of another vendor or
another tenant reads exactly like one that doesn't exist.

It is built to stay fast on 100,000 rows: what depends on a distinct value
(a contract reference, an SLA code, a period as written, the terms in force
for a contract year) is worked out once per distinct value, and the per-row
work (lookups, range checks, colours, duplicates) is done with numpy arrays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

import numpy as np
import pandas as pd

from contracts import bounds, periods, rules
from contracts.models import Contract, ServiceLevel
from metrics.engine import TermsTimeline, timelines_for
from metrics.ingest.files import Problem
from metrics.models import Reading
from slagov.tenancy import in_tenant_scope

MAX_LENGTH = {"contract": 100, "sla": 100, "period": 60, "value": 60, "note": 500}
SIX_PLACES = Decimal("0.000001")


@dataclass
class Checked:
    """Rows ready to stage (one per SLA and period), and every problem found."""

    rows: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        actions = self.rows["action"].value_counts() if len(self.rows) else {}
        return {a: int(actions.get(a, 0)) for a in ("new", "changed", "unchanged")}


@dataclass
class VendorCatalogue:
    """What a vendor may report on: its contracts and their SLAs, with terms."""

    contracts: dict[str, Contract]
    slas: dict[tuple[int, str], ServiceLevel]
    timelines: dict[int, TermsTimeline]

    @classmethod
    @in_tenant_scope
    def load(cls, *, organization_id: int, vendor_id: int) -> VendorCatalogue:
        contracts = {
            c.reference.strip().lower(): c
            for c in Contract.objects.filter(organization_id=organization_id, vendor_id=vendor_id)
        }
        by_id = {c.pk: c for c in contracts.values()}
        slas = {}
        for sla in ServiceLevel.objects.filter(
            organization_id=organization_id, contract_id__in=by_id
        ):
            sla.contract = by_id[sla.contract_id]
            slas[(sla.contract_id, sla.code.lower())] = sla
        return cls(contracts=contracts, slas=slas, timelines=timelines_for(slas.values()))


class AmbiguousNumberError(ValueError):
    """A value the file's decimal mark doesn't settle: `1.200` is 1.2 or 1200."""

    def __init__(self, text: str, readings: tuple[Decimal, Decimal]):
        super().__init__(text)
        self.readings = readings


# Separators of thousands that are never a decimal mark: space, no-break spaces, apostrophe.
_SPACES = " \u00a0\u202f'"
_SIMPLE = re.compile(r"[+-]?([0-9]*)(?:([.,])([0-9]+))?", re.ASCII)
_SEPARATED = re.compile(r"[0-9]+|[.,\u00a0\u202f' ]", re.ASCII)
_GROUPED = re.compile(r"[1-9][0-9]{0,2}(?:\x00[0-9]{3})+")  # \x00 stands for one separator


def _grouped(groups: list[str]) -> bool:
    """Digit groups are valid thousands: 1-3 digits (no leading zero), then threes."""
    return len(groups) > 1 and _GROUPED.fullmatch("\x00".join(groups)) is not None


def number_readings(text: str) -> tuple[tuple[str | None, Decimal], ...]:
    """
    What a number written by people can mean: (decimal mark it shows, value) for each
    reading. One reading (`99.95` shows a point, `99,95` a comma, `1 234` or `7` neither),
    two for an ambiguous value (`1.200`: a point with 1.2, a comma with 1200), none for
    anything that isn't a number. ASCII digits only; an optional sign; a trailing `%`
    (checked by the caller).
    """
    raw = text.strip()
    if raw.endswith("%"):
        raw = raw[:-1].rstrip()
    simple = _SIMPLE.fullmatch(raw)  # the usual `99.95`, `3,5`, `12`: one reading, found fast
    if simple is not None and (simple.group(1) or simple.group(3)):
        integer, separator, fraction = simple.groups()
        if not separator:
            return ((None, _signless_zero(Decimal(raw))),)
        if not (len(fraction) == 3 and 1 <= len(integer) <= 3 and integer[0] != "0"):
            number = Decimal(raw[: simple.start(2)] + "." + fraction)
            return (("point" if separator == "." else "comma", _signless_zero(number)),)
    sign = ""
    if raw[:1] in ("+", "-"):
        sign, raw = raw[:1].replace("+", ""), raw[1:]
    tokens = _SEPARATED.findall(raw)
    if not raw or "".join(tokens) != raw or not raw[-1].isdigit():
        return ()
    groups = tokens[::2] if tokens[0].isdigit() else ["", *tokens[1::2]]
    separators = tokens[1::2] if tokens[0].isdigit() else tokens[::2]
    if len(groups) != len(separators) + 1 or any(not g.isdigit() for g in groups[1:]):
        return ()

    def value(integer: list[str], fraction: str = "") -> Decimal:
        number = Decimal(sign + "".join(integer) + ("." + fraction if fraction else ""))
        return _signless_zero(number)

    kinds = set(separators)
    if not separators:
        return ((None, value(groups)),)
    if len(kinds) == 1:
        (separator,) = kinds
        if separator in _SPACES:
            return ((None, value(groups)),) if _grouped(groups) else ()
        mark = {".": "point", ",": "comma"}[separator]
        other = {"point": "comma", "comma": "point"}[mark]
        if len(separators) > 1:  # a decimal mark comes once: these group thousands
            return ((other, value(groups)),) if _grouped(groups) else ()
        decimal = (mark, value(groups[:1], groups[1]))
        if _grouped(groups):  # `1.200`: thousands, or three decimals
            return (decimal, (other, value(groups)))
        return (decimal,)
    last = separators[-1]
    if len(kinds) > 2 or last not in ".," or separators.count(last) > 1:
        return ()
    mark = {".": "point", ",": "comma"}[last]
    if not _grouped(groups[:-1]):
        return ()
    return ((mark, value(groups[:-1], groups[-1])),)


def decimal_mark_of(readings: list[tuple], *, hint: str | None) -> tuple[str | None, str]:
    """
    The file's decimal mark, decided once: what its unambiguous values show, if they all
    agree and the file's form (its delimiter) doesn't say otherwise; what the form says if
    no value shows one; else None (an ambiguous value is then refused), and why.
    """
    shown = {r[0][0] for r in readings if len(r) == 1 and r[0][0] is not None}
    if not shown:
        return hint, "no value in it shows a decimal mark"
    if len(shown) > 1:
        return None, "its values use both a decimal point and a decimal comma"
    (mark,) = shown
    if hint in (None, mark):
        return mark, ""
    return None, f"its values use a decimal {mark} but its delimiter suggests a decimal {hint}"


def parse_number(text: str, readings: tuple, *, decimal_mark: str | None) -> Decimal:
    """
    The number `text` (whose number_readings are `readings`) is in a file whose decimal mark
    is `decimal_mark`. Raises ValueError, AmbiguousNumberError if the mark doesn't settle it.
    """
    if not readings:
        raise ValueError(text)
    if len(readings) == 1:
        return readings[0][1]
    for mark, number in readings:
        if mark == decimal_mark:
            return number
    raise AmbiguousNumberError(text, (readings[0][1], readings[1][1]))


def _typed_number(text: str) -> Decimal:
    """A cell that held a number (files.NumberCell): exactly the number it spells."""
    number = Decimal(text)
    if not number.is_finite():
        raise ValueError(text)
    return _signless_zero(number)


def _signless_zero(number: Decimal) -> Decimal:
    return number.copy_abs() if number.is_zero() else number  # "-0" is 0


def _plain(number: Decimal) -> str:
    return f"{_signless_zero(number).normalize():f}"


def _codes(keys: list) -> tuple[np.ndarray, list]:
    """Integer code per row and the distinct keys, in first-seen order."""
    index: dict = {}
    codes = np.fromiter((index.setdefault(k, len(index)) for k in keys), dtype=np.int64,
                        count=len(keys))  # fmt: skip
    return codes, list(index)


class _Problems:
    """Every problem found, and which rows have one."""

    def __init__(self, rows: np.ndarray, cells: dict[str, list[str]]):
        self.rows = rows
        self.cells = cells
        self.items: list[Problem] = []
        self.bad = np.zeros(len(rows), dtype=bool)

    def flag(self, mask: np.ndarray, column: str, message) -> None:
        """`message` is a string or a function of the row index."""
        for i in np.flatnonzero(mask):
            text = message(i) if callable(message) else message
            self.items.append(
                Problem(int(self.rows[i]), column, _clip(self.cells[column][i]), text)
            )
        self.bad |= mask


def _factorize(values) -> tuple[np.ndarray, np.ndarray]:
    """Integer code per value and the distinct values (pandas' hash table, in C)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)


def _lowered(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the values compared case-insensitively (lowered once per distinct value)."""
    raw, distinct = _factorize(values)
    lowered, keys = _factorize([v.lower() for v in distinct])
    return (lowered[raw] if len(raw) else raw), keys


def _pairs(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes of (first, second) pairs of codes, and the distinct pairs' parts."""
    width = int(second.max()) + 1 if len(second) else 1
    codes, combined = _factorize(first * width + second)
    combined = combined.astype(np.int64)
    return codes, combined // width, combined % width


def _read_value(text: str, typed: bool, readings: tuple, mark, unsettled: str, unit: str):
    """One value as written: (number, "") or (None, why not). `readings`: number_readings."""
    try:
        number = _typed_number(text) if typed else parse_number(text, readings, decimal_mark=mark)
    except AmbiguousNumberError as exc:
        one, other = (_plain(r) for r in exc.readings)
        return None, (
            f"{text!r} is ambiguous: {one} or {other}? This file doesn't settle whether "
            f"its decimal mark is a point or a comma ({unsettled}). Write it without a "
            "thousands separator."
        )
    except (ValueError, InvalidOperation):
        why = f"{text!r} is not a number."
        if any(c.isdigit() and not c.isascii() for c in text):
            why += " Write numbers with the digits 0 to 9."
        return None, why
    if text.endswith("%") and not typed and unit != ServiceLevel.Unit.PERCENT:
        return None, f"A % sign on a value in {unit}: give the number only."
    return number, ""


def _period_bounds(slas: list, today: date) -> dict[str, np.ndarray]:
    """
    Per SLA, as datetime64[D]: the first period not ended yet, the first period of the
    contract term and its last day (`periods.period_problem` is None exactly for the
    periods from the first to the last day, not ended) and the first and last period owed
    (`ServiceLevel.owed_span`). An SLA not found, or owing nothing, gets an empty range.
    The fast form of those rules: tests/test_validate_fast.py checks it against them.
    """
    never, always = date(9999, 12, 31), date(1, 1, 1)
    current, first, last, owed_first, owed_last = [], [], [], [], []
    for sla in slas:
        if sla is None:
            current.append(always), first.append(never), last.append(always)
            owed_first.append(never), owed_last.append(always)
            continue
        kind, contract = sla.period, sla.contract
        current.append(periods.period_start(today, kind))
        first.append(max(periods.period_start(contract.start_date, kind),
                         periods.period_start(periods.EARLIEST, kind)))  # fmt: skip
        last.append(contract.end_date)
        span = sla.owed_span(today)
        owed_first.append(span[0] if span else never)
        owed_last.append(span[1] if span else always)
    names = ("current", "first", "last", "owed_first", "owed_last")
    lists = (current, first, last, owed_first, owed_last)
    return {k: np.array(v, dtype="datetime64[D]") for k, v in zip(names, lists, strict=True)}


def check(
    frame: pd.DataFrame,
    catalogue: VendorCatalogue,
    *,
    today: date,
    organization_id: int,
) -> Checked:
    """
    Validate rows against the vendor's contracts; compare with current readings. The
    fast form of validate_reference.check (tested equal): per-row work in numpy, each
    rule applied once per distinct value (or SLA) and its message written only for the
    rows it refuses.
    """
    n = len(frame)
    cells = {c: frame[c].to_numpy(dtype=object) for c in MAX_LENGTH}
    found = _Problems(frame["row"].to_numpy(dtype=np.int64), cells)
    for column, limit in MAX_LENGTH.items():
        lengths = np.fromiter(map(len, cells[column]), dtype=np.int64, count=n)
        found.flag(lengths > limit, column,
                   f"The {column} is too long (more than {limit} characters).")  # fmt: skip
    readable = ~found.bad  # a too-long cell isn't looked at any further

    # Contract, then SLA: once per distinct reference and code.
    contract_code, contract_keys = _lowered(cells["contract"])
    contracts = [catalogue.contracts.get(k) for k in contract_keys]
    has_contract = np.array([c is not None for c in contracts], dtype=bool)[contract_code]
    found.flag(
        readable & ~has_contract,
        "contract",
        lambda i: f"Unknown contract {cells['contract'][i]!r} for this vendor."
        if cells["contract"][i] else "The contract reference is missing.",
    )  # fmt: skip
    sla_lower, sla_lower_keys = _lowered(cells["sla"])
    sla_code, sla_contract, sla_key = _pairs(contract_code, sla_lower)
    slas = [
        catalogue.slas.get((contracts[c].pk, sla_lower_keys[k])) if contracts[c] is not None
        else None for c, k in zip(sla_contract.tolist(), sla_key.tolist(), strict=True)
    ]  # fmt: skip
    has_sla = np.array([s is not None for s in slas], dtype=bool)[sla_code]
    found.flag(
        readable & has_contract & ~has_sla,
        "sla",
        lambda i: f"Unknown SLA {cells['sla'][i]!r} on contract {cells['contract'][i]!r}."
        if cells["sla"][i] else "The SLA code is missing.",
    )  # fmt: skip
    known = readable & has_sla  # periods and values are checked independently from here
    kind_names = list(periods.Period.values)
    sla_kind = np.array(
        [kind_names.index(s.period if s else periods.Period.MONTHLY) for s in slas],
        dtype=np.int64,
    )
    sla_unit = [s.unit if s else "" for s in slas]

    # Periods: parsed once per distinct text and kind.
    period_text, period_texts = _factorize(cells["period"])
    period_code, key_text, key_kind = _pairs(period_text, sla_kind[sla_code])
    parsed, why = [], []
    for text, kind in zip(period_texts[key_text], key_kind.tolist(), strict=True):
        try:
            parsed.append(periods.parse_period(text, kind_names[kind]))
            why.append("")
        except ValueError as exc:
            parsed.append(None)
            why.append(str(exc))
    period_ok = np.array([p is not None for p in parsed], dtype=bool)[period_code]
    found.flag(known & ~period_ok, "period", lambda i: why[period_code[i]])
    starts = np.array([p or date(1970, 1, 1) for p in parsed], dtype="datetime64[D]")[period_code]
    dated = known & period_ok
    # The range rule (ended, inside the contract term) and what is owed, as date ranges per
    # SLA; the rules' own functions write the message of each row refused or skipped.
    bounds_of = {k: v[sla_code] for k, v in _period_bounds(slas, today).items()}
    out_of_range = (
        (starts >= bounds_of["current"]) | (starts < bounds_of["first"])
        | (starts > bounds_of["last"])
    )  # fmt: skip
    owed = (starts >= bounds_of["owed_first"]) & (starts <= bounds_of["owed_last"])
    blank = cells["value"] == ""
    skipped = dated & blank & ~owed

    def period_why(i: int) -> str:
        sla = slas[sla_code[i]]
        return periods.period_problem(
            parsed[period_code[i]], sla.period, contract_start=sla.contract.start_date,
            contract_end=sla.contract.end_date, today=today,
        )  # fmt: skip

    found.flag(dated & out_of_range & ~skipped, "period", period_why)

    # Values: the file's decimal mark decided once (decimal_mark_of), then each distinct
    # value (as written, typed or not, in its unit) read once.
    typed = (
        frame["value_is_number"].to_numpy(dtype=bool)
        if "value_is_number" in frame
        else np.zeros(n, dtype=bool)
    )
    value_text, value_texts = _factorize(cells["value"])
    shown = np.unique(value_text[readable & ~typed])
    readings_of = {int(t): number_readings(value_texts[t]) for t in shown}
    mark, unsettled = decimal_mark_of(
        list(readings_of.values()), hint=frame.attrs.get("decimal_mark")
    )
    unit_names = sorted(set(sla_unit))
    unit_code = np.array([unit_names.index(u) for u in sla_unit], dtype=np.int64)[sla_code]
    asked = known & ~skipped & ~blank  # the rows whose value is read
    text_typed = value_text * 2 + typed
    value_code, key_text_typed, key_unit = _pairs(text_typed, unit_code)
    used = np.unique(value_code[asked])
    read_number = np.empty(len(key_unit), dtype=object)
    read_why = np.empty(len(key_unit), dtype=object)
    for key in used.tolist():
        t, is_typed = divmod(int(key_text_typed[key]), 2)
        text = value_texts[t]
        readings = () if is_typed else readings_of.get(t) or number_readings(text)
        read_number[key], read_why[key] = _read_value(
            text, bool(is_typed), readings, mark, unsettled, unit_names[key_unit[key]]
        )
    parsed_value = np.zeros(n, dtype=bool)
    parsed_value[asked] = read_number[value_code[asked]] != None  # noqa: E711 (elementwise)

    def value_why(i: int) -> str:
        if blank[i]:
            why = "The value is missing."
            if dated[i] and owed[i]:
                label = periods.period_label(
                    parsed[period_code[i]], kind_names[sla_kind[sla_code[i]]]
                )
                why += f" Data for {label} is owed: fill it in, or remove the row to send it later."
            return why
        return read_why[value_code[i]]

    found.flag(known & ~skipped & ~parsed_value, "value", value_why)
    # Once per distinct value read: its float, its range, its six places.
    key_float = np.full(len(key_unit), np.nan)
    key_stored = np.empty(len(key_unit), dtype=object)
    key_outside = np.zeros(len(key_unit), dtype=bool)
    key_rounded = np.zeros(len(key_unit), dtype=bool)
    ranges = {u: bounds.value_range(u) for u in unit_names if u}
    for key in used.tolist():
        number = read_number[key]
        if number is None:
            continue
        key_float[key] = float(number)
        low, high = ranges[unit_names[key_unit[key]]]
        key_outside[key] = not low <= number <= high
        if not key_outside[key]:
            key_stored[key] = number.quantize(SIX_PLACES, rounding=ROUND_HALF_EVEN)
            key_rounded[key] = key_stored[key] != number
    numeric = known & parsed_value
    floats = np.where(numeric, key_float[value_code], np.nan)
    outside = numeric & key_outside[value_code]
    units = np.array(unit_names, dtype=object)[unit_code]
    too_large = outside & (floats > 0) & (units != ServiceLevel.Unit.PERCENT)
    values = read_number[value_code]
    _flag_outside(found, outside, too_large, values, units)
    # Never rounded quietly: a value keeps at most six decimal places, as stored.
    rounded = numeric & ~outside & key_rounded[value_code]
    stored = key_stored[value_code]
    _flag_rounded(found, rounded, cells["value"], stored)

    good = np.flatnonzero(~found.bad & ~skipped)
    sla_pk = np.array([s.pk if s else 0 for s in slas], dtype=np.int64)[sla_code]
    rows = pd.DataFrame(
        {
            "row": found.rows[good],
            "service_level_id": sla_pk[good],
            "period_start": starts[good].astype(object),  # datetime.date objects
            "value": stored[good].tolist(),
            "note": cells["note"][good].tolist(),
            "_sla": sla_code[good],
            "_float": floats[good],
        }
    )
    rows, duplicate_problems = _duplicates(rows, cells, found.rows)
    problems = found.items + duplicate_problems
    problems.sort(key=lambda p: (p.row or 0, p.column))
    if problems:
        # Each problem names its row's SLA when the row's contract and code were found.
        with_sla = np.flatnonzero(has_sla)
        sla_of_row = dict(
            zip(found.rows[with_sla].tolist(), sla_pk[with_sla].tolist(), strict=True)
        )
        for problem in problems:
            problem.sla_id = sla_of_row.get(problem.row)
    rows = _compare(rows, organization_id=organization_id)
    rows["colour"] = _colours(rows, slas, catalogue)
    rows = rows.drop(columns=["_sla", "_float"])
    skipped_rows = np.flatnonzero(skipped)
    warnings = _skipped_warnings(
        [
            (int(found.rows[i]), slas[sla_code[i]].owed_problem(parsed[period_code[i]], today))
            for i in skipped_rows[:SKIPPED_LISTED]
        ]
        + [(0, "")] * max(len(skipped_rows) - SKIPPED_LISTED, 0)
    )
    return Checked(rows=rows.reset_index(drop=True), problems=problems, warnings=warnings)


SKIPPED_LISTED = 5


def _skipped_warnings(skipped: list[tuple[int, str]]) -> list[str]:
    """Rows left blank for periods not owed: said, never silently dropped."""
    said = [f"Row {row} has no value and nothing is owed for it, so it was skipped: {why}"
            for row, why in skipped[:SKIPPED_LISTED]]  # fmt: skip
    if len(skipped) > SKIPPED_LISTED:
        more = len(skipped) - SKIPPED_LISTED
        said.append(f"{more} more row{'s' if more != 1 else ''} with no value for periods not "
                    "owed were skipped.")  # fmt: skip
    return said


def _clip(value) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 200 else text[:197] + "…"


def _duplicates(rows: pd.DataFrame, cells: dict, numbers: np.ndarray):
    """Same SLA and period twice: fine with the same value, an error on each row if not."""
    problems: list[Problem] = []
    if rows.empty:
        return rows, problems
    key = ["service_level_id", "period_start"]
    dup = rows.duplicated(key, keep=False)
    bad_rows: set[int] = set()
    if dup.any():
        position = {int(n): i for i, n in enumerate(numbers)}
        for _, group in rows[dup].groupby(key, sort=False):
            if group["value"].nunique() < 2:
                continue
            listed = ", ".join(str(n) for n in group["row"])
            for number in group["row"]:
                i = position[int(number)]
                problems.append(
                    Problem(int(number), "value", _clip(cells["value"][i]),
                            f"{cells['contract'][i]} / {cells['sla'][i]} / {cells['period'][i]} "
                            f"appears twice with different values (rows {listed}).")
                )  # fmt: skip
                bad_rows.add(int(number))
    rows = rows[~rows["row"].isin(bad_rows)].drop_duplicates(key, keep="first")
    return rows, problems


@in_tenant_scope
def _compare(rows: pd.DataFrame, *, organization_id: int) -> pd.DataFrame:
    """new / changed / unchanged, against the readings stored now."""
    rows = rows.copy()
    if rows.empty:
        rows["action"] = pd.Series(dtype=object)
        rows["old_value"] = pd.Series(dtype=object)
        return rows
    current = {
        (sla_id, start): value
        for sla_id, start, value in Reading.objects.filter(
            organization_id=organization_id,
            service_level_id__in=set(rows["service_level_id"].tolist()),
            period_start__in=set(rows["period_start"].tolist()),
        ).values_list("service_level_id", "period_start", "value")
    }
    old = [
        current.get(k)
        for k in zip(rows["service_level_id"].tolist(), rows["period_start"].tolist(), strict=True)
    ]
    rows["old_value"] = old
    rows["action"] = [
        "new" if o is None else ("unchanged" if o == v else "changed")
        for o, v in zip(old, rows["value"], strict=True)
    ]
    return rows


def _colours(rows: pd.DataFrame, slas: list, catalogue: VendorCatalogue) -> np.ndarray:
    """
    The colour each value will get: thresholds in force for its period (terms
    by effective date, improvement ratchet by contract year), compared as
    floats, with values within a hair of a boundary compared again exactly.
    """
    n = len(rows)
    if not n:
        return np.array([], dtype=object)
    sla_index = rows["_sla"].to_numpy()
    starts = rows["period_start"].to_numpy().astype("datetime64[D]")
    # One flat, sorted table of every terms row of the SLAs involved.
    terms_keys, terms_items, first_of_sla = [], [], {}
    for index, sla in enumerate(slas):
        if sla is None:
            continue
        for item in catalogue.timelines[sla.pk].items:
            first_of_sla.setdefault(index, len(terms_items))
            terms_keys.append((index, np.datetime64(item.effective_from, "D")))
            terms_items.append((sla, item))
    colours = np.full(n, rules.Colour.NO_DATA, dtype=object)
    if not terms_items:
        return colours
    order = np.lexsort(([k[1] for k in terms_keys], [k[0] for k in terms_keys]))
    sorted_sla = np.array([terms_keys[o][0] for o in order], dtype=np.int64)
    sorted_day = np.array([terms_keys[o][1] for o in order], dtype="datetime64[D]")
    # The terms in force: the latest effective on or before the period (the first covers earlier).
    composite = sorted_sla * 1_000_000 + sorted_day.astype(np.int64)
    wanted = sla_index * 1_000_000 + starts.astype(np.int64)
    at = np.searchsorted(composite, wanted, side="right") - 1
    same = (at >= 0) & (sorted_sla[np.clip(at, 0, None)] == sla_index)
    first = np.array([first_of_sla.get(int(s), -1) for s in range(len(slas))], dtype=np.int64)
    position = np.where(same, order[np.clip(at, 0, None)], first[sla_index])
    has_terms = position >= 0
    # Ratchet steps: contract years since the terms took effect.
    contract_start = np.array(
        [s.contract.start_date if s else date(1970, 1, 1) for s in slas], dtype="datetime64[D]"
    )[sla_index]
    effective = np.array([t.effective_from for _, t in terms_items], dtype="datetime64[D]")
    steps = rules.improvement_steps_many(
        contract_start, effective[np.clip(position, 0, None)], starts
    )
    # Thresholds once per (terms, steps), exactly, with Decimal.
    pair_code, key_position, key_steps = _pairs(position + 1, steps.astype(np.int64))
    exact = [
        rules.thresholds_in_force(terms_items[p - 1][1].spec, s) if p >= 1 else None
        for p, s in zip(key_position.tolist(), key_steps.tolist(), strict=True)
    ]
    by_pair = np.empty(len(exact), dtype=object)
    for index, thresholds in enumerate(exact):  # (a tuple in an array would become a row)
        by_pair[index] = thresholds
    in_force = by_pair[pair_code].tolist()
    colours = rules.classify_many(rows["value"].tolist(), in_force, rows["_float"].to_numpy())
    colours[~has_terms] = rules.Colour.NO_DATA
    return colours


def _flag_outside(found, outside, too_large, values, units) -> None:
    """A value outside what its unit allows: one message, and a louder one when too large."""
    found.flag(outside & ~too_large, "value", lambda i: bounds.value_problem(values[i], units[i]))
    found.flag(
        too_large,
        "value",
        lambda i: (
            "The value is too large: "
            + bounds.value_problem(values[i], units[i]).replace("A value", "a value", 1)
        ),
    )


def _flag_rounded(found, rounded, written, stored) -> None:
    """A value with more decimal places than are kept: never rounded quietly."""
    found.flag(
        rounded,
        "value",
        lambda i: f"{written[i]!r} has more than 6 decimal places, the most a value "
        f"keeps (rounded, it would be {_plain(stored[i])}): round it in the file.",
    )  # fmt: skip
