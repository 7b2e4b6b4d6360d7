"""
The range of numbers the product takes: one rule each, as pure functions that
return what is wrong (None or {} when all is well), in words that say what is
allowed. The services call them for forms and the API alike; the ratchet
clamps with `clamp` so that no threshold ever leaves what a status row stores.

How a number is written is checked once too (`number_text_problem`): the
digits 0-9, an optional sign, point and exponent; `NaN`, `Infinity`, full-width
or Arabic-Indic digits are refused, never read as a number. `-0` is read as 0.
"""

from __future__ import annotations

import re
from decimal import Decimal

# What a DecimalField(max_digits=18, decimal_places=6) stores: every threshold
# and value column (terms, credit tiers, readings, statuses, health).
DECIMALS = 6
STORED_MAX = Decimal("999999999999.999999")  # the largest value under 10^12
PERCENT_MAX = Decimal(100)
# Money (annual value, compliance threshold): a DecimalField(14, 2) stores
# less than 10^12; a round cap well inside it.
MAX_AMOUNT = Decimal(10**11)
RELATIVE_RATE_MAX = Decimal(50)  # % a year
DEADLINE_DAYS_MAX = 60
CLAIM_DAYS_MAX = 730  # a credit claimable for up to two years after its month
WEIGHT_MAX = 100
STEP_DAYS_MAX = 366  # a state or late data lasting up to a year
STEP_PERIODS_MAX = 3  # forecast horizon: the breach risk is known 3 periods ahead
STEP_LEVEL_MAX = 5
STEP_DUE_HOURS_MAX = 720  # 30 days
TEXT_MAX = 100  # characters of a number as typed (past any value the product takes)

PERCENT = "percent"
UNIT_NAMES = {"percent": "%", "hours": "hours", "minutes": "minutes", "days": "days",
              "count": "count", "score": "score"}  # fmt: skip

_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$", re.ASCII)
_INTEGER = re.compile(r"^[+-]?[0-9]+$", re.ASCII)


def fmt(value: Decimal | int) -> str:
    """A bound as people read it: 100, 0.5, 1,000,000,000,000."""
    value = Decimal(value)
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.normalize():,f}"


# ---------------------------------------------------------------------------
# How a number is written
# ---------------------------------------------------------------------------


def number_text_problem(text: str, *, integer: bool = False) -> str | None:
    """What is wrong with a number as typed (None when it reads as a plain number)."""
    raw = text.strip()
    if len(raw) > TEXT_MAX:
        return f"Too long for a number ({len(raw):,} characters)."
    if (_INTEGER if integer else _NUMBER).match(raw):
        return None
    if not raw.isascii() and any(ch.isdigit() or ch.isnumeric() for ch in raw):
        return "Write the number with the digits 0-9 (e.g. 100)."
    if integer:
        return "Enter a whole number written with the digits 0-9, e.g. 5."
    return "Enter a number written with the digits 0-9, e.g. 99.95."


def normalise(value: Decimal) -> Decimal:
    """-0 is 0 (the sign of zero means nothing here and must never show)."""
    return abs(value) if value == 0 else value


def plain(value: Decimal) -> Decimal:
    """Without trailing zeros and never in exponent form: 10, 99.5, 0.001 (not 1E+1)."""
    value = value.normalize()
    if value.as_tuple().exponent > 0:
        value = value.quantize(Decimal(1))
    return normalise(value)


def decimals_problem(value: Decimal, places: int = DECIMALS) -> str | None:
    """A finite number with at most `places` decimals (trailing zeros don't count)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        return "Enter a finite number."
    _, digits, exponent = value.as_tuple()
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if value and -(exponent + zeros) > places:
        return f"At most {places} decimal places."
    return None


# ---------------------------------------------------------------------------
# Values in an SLA's unit: targets, minimums, bounds, credit levels, readings
# ---------------------------------------------------------------------------


def value_range(unit: str | None) -> tuple[Decimal, Decimal]:
    """
    The values an SLA of `unit` takes: a percentage from 0 to 100, every other
    unit (durations, counts, scores) from 0 to what the database stores. No
    unit known: anything a status row stores.
    """
    if unit == PERCENT:
        return Decimal(0), PERCENT_MAX
    if unit is None:
        return -STORED_MAX, STORED_MAX
    return Decimal(0), STORED_MAX


def range_text(unit: str | None) -> str:
    low, high = value_range(unit)
    if unit == PERCENT:
        return "from 0 to 100"
    if unit is None:
        return f"from {fmt(low)} to {fmt(high)}"
    return "from 0 to under 1,000,000,000,000"


def value_problem(value: Decimal, unit: str | None, what: str = "A value") -> str | None:
    """A value in the unit's range, with at most six decimals."""
    if problem := decimals_problem(value):
        return problem
    low, high = value_range(unit)
    if low <= value <= high:
        return None
    if unit == PERCENT:
        if what == "A value":
            return "A percentage must be between 0 and 100."
        return f"{what} is a percentage: it must be between 0 and 100."
    if value < low:
        return f"{what} in {UNIT_NAMES.get(unit, unit)} can't be negative."
    return f"{what} must be {range_text(unit)}."


def clamp(value: Decimal, unit: str | None) -> Decimal:
    """`value` brought inside the unit's range (and so inside what a row stores)."""
    low, high = value_range(unit)
    return min(max(value, low), high)


def improvement_rate_problem(improvement: str, rate: Decimal, unit: str | None) -> str | None:
    """
    A rate above zero: at most RELATIVE_RATE_MAX % a year (relative), at most
    the width of the unit's range a year (absolute).
    """
    if problem := decimals_problem(rate):
        return problem
    if improvement == "relative":
        if 0 < rate <= RELATIVE_RATE_MAX:
            return None
        return f"A relative improvement is above 0 and at most {fmt(RELATIVE_RATE_MAX)} % a year."
    if improvement == "absolute":
        low, high = value_range(unit)
        if 0 < rate <= high - low:
            return None
        unit_name = "points" if unit == PERCENT else UNIT_NAMES.get(unit or "", "units")
        return (
            f"An absolute improvement is above 0 and at most {fmt(high - low)} {unit_name} a year."
        )
    return None


def credit_percent_problem(percent: Decimal) -> str | None:
    """A credit is above 0 and at most 100 % of the monthly charge."""
    if problem := decimals_problem(percent, 2):
        return problem
    if 0 < percent <= PERCENT_MAX:
        return None
    return "A credit is above 0 and at most 100 % of the monthly charge."


# ---------------------------------------------------------------------------
# Contracts and the organisation
# ---------------------------------------------------------------------------


def amount_problem(value: Decimal, what: str = "An amount") -> str | None:
    """Money: from 0 to MAX_AMOUNT, in cents."""
    if problem := decimals_problem(value, 2):
        return problem
    if 0 <= value <= MAX_AMOUNT:
        return None
    return f"{what} must be from 0 to {fmt(MAX_AMOUNT)}."


def percent_problem(value: Decimal, what: str = "A percentage") -> str | None:
    """A share from 0 to 100 %, in hundredths."""
    if problem := decimals_problem(value, 2):
        return problem
    if 0 <= value <= PERCENT_MAX:
        return None
    return f"{what} must be from 0 to 100 %."


def whole_problem(value: int, low: int, high: int, what: str) -> str | None:
    if isinstance(value, int) and low <= value <= high:
        return None
    return f"{what} must be a whole number from {low} to {fmt(high)}."


def contract_numbers_problems(
    *, annual_value: Decimal | None, at_risk_percent: Decimal | None, deadline_days: int | None,
    claim_days: int | None = None,
) -> dict[str, str]:  # fmt: skip
    """What is wrong with a contract's numbers (field → message); None: not given."""
    problems = {
        "annual_value": annual_value is not None
        and amount_problem(annual_value, "The annual value"),
        "at_risk_percent": at_risk_percent is not None
        and percent_problem(at_risk_percent, "The amount at risk"),
        "submission_deadline_days": deadline_days is not None
        and whole_problem(deadline_days, 0, DEADLINE_DAYS_MAX, "The data deadline (days)"),
        "credit_claim_days": claim_days is not None
        and whole_problem(claim_days, 1, CLAIM_DAYS_MAX, "The credit claim window (days)"),
    }
    return {field: message for field, message in problems.items() if message}


def weight_problem(weight: int) -> str | None:
    return whole_problem(weight, 0, WEIGHT_MAX, "The weight")


# ---------------------------------------------------------------------------
# Escalation policy steps
# ---------------------------------------------------------------------------


def step_problems(
    *, condition: str, threshold: int | None, level: int | None, due_hours: int | None
) -> dict[str, str]:
    """The numbers of one escalation step (field → message)."""
    problems: dict[str, str | None] = {}
    if threshold is not None:
        if condition == "forecast":
            problems["threshold"] = whole_problem(threshold, 0, STEP_PERIODS_MAX, "Periods ahead")
            if (
                problems["threshold"]
                and isinstance(threshold, int)
                and threshold > STEP_PERIODS_MAX
            ):
                problems["threshold"] = (
                    f"The forecast looks at most {STEP_PERIODS_MAX} periods ahead: "
                    f"from 1 to {STEP_PERIODS_MAX}."
                )
        else:
            problems["threshold"] = whole_problem(threshold, 0, STEP_DAYS_MAX, "Days")
    if level is not None:
        problems["level"] = (
            None
            if isinstance(level, int) and 0 <= level <= STEP_LEVEL_MAX
            else f"Levels go from 0 (early warning) to {STEP_LEVEL_MAX}."
        )
    if due_hours is not None:
        problems["due_hours"] = whole_problem(
            due_hours, 1, STEP_DUE_HOURS_MAX, "Due within (hours)"
        )
    return {field: message for field, message in problems.items() if message}
