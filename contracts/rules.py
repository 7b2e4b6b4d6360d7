"""
The classification rule and the continuous-improvement ratchet, as pure code.

No database here: every function takes plain values, so the rules can be
tested exhaustively and reused by pages, uploads, the status engine and the
API alike.

Tiers (PRODUCT.md): at or better than the *target* is green; worse than the
*minimum* is red; anything between (the minimum itself included) is yellow.
"Better" depends on the direction: higher is better for availability, lower
is better for a resolution time.

Continuous improvement: the terms of an SLA may tighten each contract year,
by a relative amount (a lower-is-better 4 h target at 5 % a year is 3.8 h in
year 2 and 3.61 h in year 3) or an absolute one (availability +0.1 points a
year), never past a bound (availability never above 100 %). Target and
minimum tighten together; each is clamped to the bound, and always to the
range of the SLA's unit (`bounds.value_range`): whatever a stored row says, a
threshold in force is one a status row can store.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
from django.db import models

from contracts import bounds, periods

PRECISION = Decimal("0.000001")


class Direction(models.TextChoices):
    HIGHER = "higher", "Higher is better"
    LOWER = "lower", "Lower is better"


class Colour(models.TextChoices):
    GREEN = "green", "Green"
    YELLOW = "yellow", "Yellow (at risk)"
    RED = "red", "Red (breach)"
    NO_DATA = "no_data", "No data"
    LATE = "late", "Late"


# Worst first: used to roll SLAs up into a contract colour.
SEVERITY = {
    Colour.RED: 4,
    Colour.LATE: 3,
    Colour.YELLOW: 2,
    Colour.NO_DATA: 1,
    Colour.GREEN: 0,
}


class Improvement(models.TextChoices):
    NONE = "none", "No improvement clause"
    RELATIVE = "relative", "Relative (% per contract year)"
    ABSOLUTE = "absolute", "Absolute (units per contract year)"


@dataclass(frozen=True)
class Thresholds:
    """The two tier boundaries in force for one period."""

    target: Decimal
    minimum: Decimal
    direction: str

    def __post_init__(self) -> None:
        if not is_ordered(self.target, self.minimum, self.direction):
            better = "at least" if self.direction == Direction.HIGHER else "at most"
            raise ValueError(
                f"target {self.target} must be {better} the minimum {self.minimum} "
                f"when {Direction(self.direction).label.lower()}"
            )


@dataclass(frozen=True)
class Terms:
    """Contract terms of an SLA as agreed from one effective date on."""

    target: Decimal
    minimum: Decimal
    direction: str
    improvement: str = Improvement.NONE
    improvement_rate: Decimal = Decimal(0)
    improvement_bound: Decimal | None = None
    unit: str | None = None  # the SLA's unit: thresholds stay in its range


def is_ordered(target: Decimal, minimum: Decimal, direction: str) -> bool:
    if direction == Direction.HIGHER:
        return target >= minimum
    return target <= minimum


def is_better(a: Decimal, b: Decimal, direction: str) -> bool:
    """True when `a` is strictly better than `b`."""
    return a > b if direction == Direction.HIGHER else a < b


def classify(value: Decimal, thresholds: Thresholds) -> Colour:
    """
    Green at or better than the target, red strictly worse than the minimum,
    yellow in between (the minimum itself is still yellow).
    """
    if not is_better(thresholds.target, value, thresholds.direction):
        return Colour.GREEN
    if is_better(thresholds.minimum, value, thresholds.direction):
        return Colour.RED
    return Colour.YELLOW


def classify_many(
    values: Sequence[Decimal], thresholds: Sequence[Thresholds | None], floats=None
) -> np.ndarray:
    """
    `classify` over many values at once (the upload preview): compared as
    floats, with every value within a hair of a boundary decided again by
    `classify` itself. `thresholds[i]` None: no terms, no data. `floats`: the
    values as floats, if the caller has them. Tested equal to `classify`.
    """
    n = len(values)
    colours = np.full(n, Colour.NO_DATA, dtype=object)
    if not n:
        return colours
    floats = np.asarray(floats if floats is not None else [float(v) for v in values], dtype=float)
    has = np.array([t is not None for t in thresholds], dtype=bool)
    target = np.array([float(t.target) if t else np.nan for t in thresholds], dtype=float)
    minimum = np.array([float(t.minimum) if t else np.nan for t in thresholds], dtype=float)
    sign = np.array(
        [1.0 if (t is None or t.direction == Direction.HIGHER) else -1.0 for t in thresholds]
    )
    with np.errstate(invalid="ignore"):
        graded = np.where(
            sign * floats >= sign * target,
            Colour.GREEN,
            np.where(sign * floats < sign * minimum, Colour.RED, Colour.YELLOW),
        ).astype(object)
    colours[has] = graded[has]
    # Floats are exact enough except right at a boundary: decide those with Decimal.
    close = has & (
        np.isclose(floats, target, rtol=1e-12, atol=0)
        | np.isclose(floats, minimum, rtol=1e-12, atol=0)
    )
    for i in np.flatnonzero(close):
        colours[i] = classify(values[i], thresholds[i])
    return colours


def classify_sql(*, value: str, direction: str, target: str, minimum: str) -> str:
    """`classify` in SQL over the named columns (the PostgreSQL engine). Tested equal to it."""
    return f"""CASE
            WHEN ({direction} = 'higher' AND {value} >= {target})
              OR ({direction} = 'lower' AND {value} <= {target}) THEN 'green'
            WHEN ({direction} = 'higher' AND {value} < {minimum})
              OR ({direction} = 'lower' AND {value} > {minimum}) THEN 'red'
            ELSE 'yellow'
        END"""


def terms_index(effective_dates: Sequence[date], day: date) -> int | None:
    """
    Which terms are in force on `day`, of terms sorted by effective date: the
    latest effective on or before it; the first also covers earlier periods.
    None without terms.
    """
    if not effective_dates:
        return None
    return max(bisect.bisect_right(effective_dates, day) - 1, 0)


def improvement_steps(contract_start: date, effective_from: date, day: date) -> int:
    """
    Contract years of improvement between terms taking effect and `day` (0 in
    the contract year they were agreed; terms agreed before the contract
    started count from its start). Tested equal to its SQL and numpy forms.
    """
    base = max(effective_from, contract_start)
    years = periods.contract_year(contract_start, day) - periods.contract_year(contract_start, base)
    return max(years, 0)


def improvement_steps_many(
    contract_start: np.ndarray, effective_from: np.ndarray, day: np.ndarray
) -> np.ndarray:
    """`improvement_steps` over datetime64[D] arrays (the upload preview)."""
    base = np.maximum(effective_from, contract_start)
    years = periods.contract_year_many(contract_start, day) - periods.contract_year_many(
        contract_start, base
    )
    return np.maximum(years, 0)


def improvement_steps_sql(
    *, contract_start: str, effective_from: str, day: str, base_year: str | None = None
) -> str:
    """
    `improvement_steps` in SQL over the named date columns (the PostgreSQL engine).
    `base_year`: a column holding `improvement_base_year_sql` of the same terms, so
    that a statement over many periods of one terms row works it out once per row.
    """
    if base_year is None:
        base_year = improvement_base_year_sql(
            contract_start=contract_start, effective_from=effective_from
        )
    return f"GREATEST({periods.contract_year_sql(contract_start, day)} - {base_year}, 0)"


def improvement_base_year_sql(*, contract_start: str, effective_from: str) -> str:
    """The contract year terms take effect in (`improvement_steps` counts from it)."""
    base = f"GREATEST({effective_from}, {contract_start})"
    return periods.contract_year_sql(contract_start, base)


def _q(value: Decimal) -> Decimal:
    """Six decimal places at most, trailing zeros dropped, never exponent notation."""
    result = value.quantize(PRECISION, rounding=ROUND_HALF_EVEN).normalize()
    if result.as_tuple().exponent > 0:
        result = result.quantize(Decimal(1))
    return result


def ratchet(value: Decimal, terms: Terms, steps: int) -> Decimal:
    """
    One boundary after `steps` contract years of improvement, clamped to the
    bound and to the unit's range (so never past what a status row stores).
    """
    if steps <= 0 or terms.improvement == Improvement.NONE or not terms.improvement_rate:
        return bounds.clamp(value, terms.unit)
    rate = Decimal(terms.improvement_rate)
    tighter_up = terms.direction == Direction.HIGHER
    if terms.improvement == Improvement.RELATIVE:
        factor = (1 + rate / 100) if tighter_up else (1 - rate / 100)
        result = value * factor**steps
    else:
        result = value + rate * steps if tighter_up else value - rate * steps
    if terms.improvement_bound is not None:
        bound = Decimal(terms.improvement_bound)
        result = min(result, bound) if tighter_up else max(result, bound)
    return _q(bounds.clamp(result, terms.unit))


def thresholds_in_force(terms: Terms, steps: int = 0) -> Thresholds:
    """
    The thresholds of `terms` after `steps` contract years of improvement.
    `steps` counts the contract years since the terms took effect (0 in the
    year they were agreed).
    """
    return Thresholds(
        target=ratchet(Decimal(terms.target), terms, steps),
        minimum=ratchet(Decimal(terms.minimum), terms, steps),
        direction=terms.direction,
    )


@dataclass(frozen=True)
class CreditTier:
    """A credit owed when the value is strictly worse than `worse_than`."""

    worse_than: Decimal
    percent: Decimal


def credit_percent(value: Decimal, tiers: list[CreditTier], direction: str) -> Decimal:
    """The highest credit (percent of the monthly charge) whose level the value misses."""
    owed = [t.percent for t in tiers if is_better(t.worse_than, value, direction)]
    return max(owed, default=Decimal(0))
