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

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from django.db import models

from contracts import bounds

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
