"""
Numbers as people read them: every value with its unit ("5,700", "99.2 %",
"9.1 h", "3 days"), decimals by unit (counts are whole numbers; forecasts
are rounded like the data they come from), thousands grouped, never an
exponent, and plurals that agree ("1 open escalation").

One place for pages, e-mails and digests; pure, no database.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# What follows a number of each unit (`contracts.models.ServiceLevel.Unit`).
# A count may name what it counts: `count:tickets` (`ServiceLevel.display_unit`).
SUFFIX = {"percent": " %", "hours": " h", "minutes": " min", "count": "", "score": ""}
WHOLE_UNITS = {"count"}
MAX_PLACES = 4


def base_unit(unit: str | None) -> str | None:
    """`count:tickets` → `count`; any other unit as it is."""
    return unit.partition(":")[0] if unit else unit


def _noun(unit: str | None) -> str:
    """What a count counts (`tickets`), or nothing."""
    return unit.partition(":")[2].strip() if unit else ""


def singular(noun: str) -> str:
    """`tickets` → `ticket`, `breaches` → `breach`, `queries` → `query`; others as they are."""
    lower = noun.lower()
    if lower.endswith("ies") and len(noun) > 3:
        return noun[:-3] + "y"
    if lower.endswith(("ches", "shes", "sses", "xes", "zes")):
        return noun[:-2]
    if lower.endswith("s") and not lower.endswith("ss"):
        return noun[:-1]
    return noun


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


def places_of(values: Iterable, unit: str | None = None) -> int:
    """The decimals the data is written with (at most 4): how to round a forecast of it."""
    if base_unit(unit) in WHOLE_UNITS:
        return 0
    places = 0
    for value in values:
        number = _decimal(value)
        if number is None:
            continue
        exponent = number.normalize().as_tuple().exponent
        if isinstance(exponent, int):
            places = max(places, -exponent)
    return min(places, MAX_PLACES)


def number(value, places: int | None = None) -> str:
    """`12,345.6`: grouped, rounded to `places` (None: as stored, trailing zeros dropped)."""
    figure = _decimal(value)
    if figure is None:
        return "—"
    if places is not None:
        figure = figure.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        text = f"{figure:,.{places}f}"
    else:
        # As stored (at most 6 decimals, what a value may have), trailing zeros dropped:
        # a float's binary noise (0.1 + 0.2) is rounded away, never cut.
        figure = figure.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP).normalize()
        places = max(-figure.as_tuple().exponent, 0) if figure != 0 else 0
        text = f"{figure:,.{places}f}"
    if text.startswith("-") and Decimal(text.replace(",", "")) == 0:
        text = text[1:]  # never "-0"
    return text


def with_unit(value, unit: str | None, places: int | None = None) -> str:
    """
    `99.2 %`, `9.1 h`, `5,700`, `5,700 tickets`, `1 ticket`, `3 days`, `1 day`; a dash
    for no value.
    """
    if base_unit(unit) in WHOLE_UNITS and places is None:
        places = 0
    text = number(value, places)
    if text == "—" or not unit:
        return text
    if noun := _noun(unit):
        return f"{text} {singular(noun) if text in {'1', '-1'} else noun}"
    unit = base_unit(unit)
    if unit == "days":
        return f"{text} day" if text in {"1", "-1"} else f"{text} days"
    return f"{text}{SUFFIX.get(unit, ' ' + unit)}"


def signed(value, unit: str | None, places: int) -> str:
    """
    `+2.3 h`, `\u22120.5 h` (a minus sign), `±0 h`: rounded first, so a change that
    rounds to nothing has no sign.
    """
    figure = _decimal(value)
    if figure is None:
        return "\u2014"
    rounded = figure.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if rounded == 0:
        return f"\u00b1{with_unit(0, unit, 0)}"
    sign = "+" if rounded > 0 else "\u2212"
    return f"{sign}{with_unit(abs(rounded), unit, places)}"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`1 open escalation`, `3 open escalations`."""
    word = singular if count == 1 else (plural_form or f"{singular}s")
    return f"{number(count, 0)} {word}"


def improvement(kind: str, rate, bound, unit: str | None, direction: str) -> str:
    """
    The continuous-improvement clause, said the same way everywhere: `-5 % a year`
    (relative), `+0.1 points a year, up to 99.95 %` (absolute, in a percentage),
    `-0.5 h a year, down to 2 h`; `none` when there is no clause.
    """
    if kind not in {"relative", "absolute"}:
        return "none"
    better_up = direction == "higher"
    sign = "+" if better_up else "\u2212"
    if kind == "relative":
        text = f"{sign}{number(rate)} % a year"
    elif unit == "percent":
        points = number(rate)
        text = f"{sign}{points} point{'' if points == '1' else 's'} a year"
    else:
        text = f"{sign}{with_unit(rate, unit)} a year"
    if bound is not None and _decimal(bound) is not None:
        text += f", {'up' if better_up else 'down'} to {with_unit(bound, unit)}"
    return text


def rate(slope, unit: str | None, places: int, period_word: str) -> str:
    """`+2.3 h a month`: a trend per period, signed after rounding."""
    return f"{signed(slope, unit, places)} a {period_word}"


# --- Dates: one style on pages, in e-mails and in messages ------------------------------
# "9 Dec 2026", "9 Dec 2026 14:00" (local time), "9 Dec"; templates use the same
# words through Django's `date` filter with "j M Y", "j M Y H:i" and "j M".


def day(value) -> str:
    """`9 Dec 2026` (a date, or a datetime's local day)."""
    value = _local(value)
    return f"{value.day} {value:%b %Y}"


def moment(value) -> str:
    """`9 Dec 2026 14:00`, in the server's time zone."""
    value = _local(value)
    return f"{value.day} {value:%b %Y %H:%M}"


def day_month(value) -> str:
    """`9 Dec`, when the year goes without saying."""
    value = _local(value)
    return f"{value.day} {value:%b}"


def _local(value):
    from datetime import datetime

    if isinstance(value, datetime) and value.tzinfo is not None:
        from django.utils import timezone

        return timezone.localtime(value)
    return value


def period(start, kind: str) -> str:
    """A period as people read it: `Nov 2026`, `W49 2026` (files and the API keep `2026-11`)."""
    if kind == "weekly":
        year, week, _ = start.isocalendar()
        return f"W{week} {year}"
    return f"{start:%b %Y}"
