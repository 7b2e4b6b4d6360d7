"""
Measurement periods, as pure date arithmetic.

A period is identified by its first day: the 1st of the month for monthly
SLAs, the Monday of the ISO week for weekly ones. `end` is exclusive.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from django.db import models

from slagov import formatting


class Period(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    WEEKLY = "weekly", "Weekly"


def period_start(day: date, kind: str) -> date:
    """The first day of the period that contains `day`."""
    if kind == Period.WEEKLY:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def add_periods(start: date, kind: str, count: int) -> date:
    if kind == Period.WEEKLY:
        return start + timedelta(weeks=count)
    months = start.year * 12 + (start.month - 1) + count
    return date(months // 12, months % 12 + 1, 1)


def per_year(kind: str) -> int:
    """How many periods of this kind a year holds (for a year's charge split per period)."""
    return 52 if kind == Period.WEEKLY else 12


def unit_name(kind: str) -> str:
    return "week" if kind == Period.WEEKLY else "month"


def count_label(count: int, kind: str) -> str:
    """`1 month`, `3 weeks`."""
    return f"{count} {unit_name(kind)}{'' if count == 1 else 's'}"


def period_end(start: date, kind: str) -> date:
    """The first day after the period (exclusive end)."""
    return add_periods(start, kind, 1)


def period_days(start: date, kind: str) -> int:
    if kind == Period.WEEKLY:
        return 7
    return calendar.monthrange(start.year, start.month)[1]


def period_label(start: date, kind: str) -> str:
    if kind == Period.WEEKLY:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{start.year}-{start.month:02d}"


def iter_periods(first: date, last: date, kind: str) -> Iterator[date]:
    """Period starts from the period containing `first` to the one containing `last`."""
    current = period_start(first, kind)
    stop = period_start(last, kind)
    while current <= stop:
        yield current
        current = add_periods(current, kind, 1)


def periods_between(a: date, b: date, kind: str) -> int:
    """Whole periods from period start `a` to period start `b` (b - a)."""
    if kind == Period.WEEKLY:
        return (b - a).days // 7
    return (b.year - a.year) * 12 + (b.month - a.month)


def last_closed_period(today: date, kind: str) -> date:
    """The most recent period that has ended by `today`."""
    return add_periods(period_start(today, kind), kind, -1)


def contract_year(contract_start: date, day: date) -> int:
    """1 for the first twelve months from the contract start, 2 for the next, …"""
    months = (day.year - contract_start.year) * 12 + (day.month - contract_start.month)
    if day.day < contract_start.day:
        months -= 1
    return max(months // 12, 0) + 1


def contract_year_many(contract_start, day):
    """`contract_year` over numpy datetime64[D] arrays (the upload preview). Tested equal."""
    y, m, d = _ymd(day)
    sy, sm, sd = _ymd(contract_start)
    months = (y - sy) * 12 + (m - sm) - (d < sd)
    return (months // 12).clip(min=0) + 1


def contract_year_sql(contract_start: str, day: str) -> str:
    """`contract_year` in SQL over two date columns (the PostgreSQL engine). Tested equal."""
    return f"(GREATEST(EXTRACT(YEAR FROM age({day}, {contract_start}))::int, 0) + 1)"


def _ymd(days):
    """Year, month and day of each datetime64[D] in an array."""
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    return (
        years.astype("int64") + 1970,
        (months - years.astype("datetime64[M]")).astype("int64") + 1,
        (days - months.astype("datetime64[D]")).astype("int64") + 1,
    )


def contract_year_first_month(contract_start: date, year: int) -> date:
    """The first month (its first day) that `contract_year` puts in `year`."""
    first = add_periods(contract_start.replace(day=1), Period.MONTHLY, 12 * (year - 1))
    if year > 1 and contract_year(contract_start, first) < year:
        first = add_periods(first, Period.MONTHLY, 1)  # a mid-month anniversary
    return first


# ASCII digits only: `\d` would also read Arabic-Indic or full-width digits.
_MONTH = re.compile(r"^\s*([0-9]{4})-([0-9]{1,2})\s*$", re.ASCII)
# A date as written in files: 2026-10-15, optionally with a time (spreadsheet exports).
_DATE = re.compile(
    r"^([0-9]{4})-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?$", re.ASCII
)
_WEEK = re.compile(r"^\s*([0-9]{4})-?W([0-9]{1,2})\s*$", re.ASCII | re.IGNORECASE)


def _check_year(raw: str, year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(
            f"{raw!r} is not a period: the year must be from {FIRST_YEAR} to {LAST_YEAR}"
        )


def parse_period(text: str, kind: str) -> date:
    """
    Parse a period as users write it: monthly `2026-10`, weekly `2026-W42`, or
    any ISO date inside the period, in the years FIRST_YEAR to LAST_YEAR.
    Raises ValueError with a plain message, and nothing else, for any text.
    """
    raw = str(text).strip()
    if kind == Period.WEEKLY:
        match = _WEEK.match(raw)
        if match:
            year, week = int(match.group(1)), int(match.group(2))
            _check_year(raw, year)
            try:
                return date.fromisocalendar(year, week, 1)
            except ValueError:
                raise ValueError(
                    f"{raw!r} is not a period: {year} has no ISO week {week}"
                ) from None
    else:
        match = _MONTH.match(raw)
        if match:
            year, month = int(match.group(1)), int(match.group(2))
            if not 1 <= month <= 12:
                raise ValueError(f"{raw!r} is not a period: a year has no month {month}")
            _check_year(raw, year)
            return date(year, month, 1)
    expected = "2026-W42" if kind == Period.WEEKLY else "2026-10"
    match = _DATE.match(raw)
    try:
        if not match:
            raise ValueError(raw)
        day = datetime.fromisoformat(raw).date()
    except ValueError:
        hint = " (this SLA is measured monthly)" if _WEEK.match(raw) else ""
        raise ValueError(
            f"{raw!r} is not a period{hint}: write {expected} or a date like 2026-10-15"
        ) from None
    _check_year(raw, day.year)
    return period_start(day, kind)


# ---------------------------------------------------------------------------
# The range of dates the product takes: one rule each, as pure functions that
# return what is wrong (None or {} when all is well). The services call them
# for forms, the API and uploads alike; the engine and the pages read stored
# rows only inside READ_FIRST..period_start(today) (see `readable_span`).
# ---------------------------------------------------------------------------

FIRST_YEAR = 2000
LAST_YEAR = 2999  # far past any contract, far inside what Python's dates can reach
EARLIEST = date(FIRST_YEAR, 1, 1)  # no contract, period or terms before this day
MAX_YEARS_AHEAD = 5  # a contract starts at most this many years from today
MAX_TERM_YEARS = 30  # and runs at most this long


def query_day_problem(day: date) -> str | None:
    """A date given to filter by (a query string) lies in the years the product knows."""
    if FIRST_YEAR <= day.year <= LAST_YEAR:
        return None
    return f"A date from {FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31."


def add_years(day: date, years: int) -> date:
    """The same day `years` later (29 Feb becomes 28 Feb; never past the calendar's end)."""
    year = day.year + years
    if year > date.max.year:
        return date.max
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return day.replace(year=year, day=28)
    return day.replace(year=year)


def contract_dates_problems(start: date, end: date, today: date) -> dict[str, str]:
    """What is wrong with a contract's start and end dates (field → message)."""
    problems: dict[str, str] = {}
    latest_start = add_years(today, MAX_YEARS_AHEAD)
    if start < EARLIEST:
        problems["start_date"] = f"A contract starts on or after {formatting.day(EARLIEST)}."
    elif start > latest_start:
        problems["start_date"] = (
            f"A contract starts at most {MAX_YEARS_AHEAD} years ahead: "
            f"on or before {formatting.day(latest_start)}."
        )
    if end <= start:
        problems["end_date"] = "The contract must end after it starts."
    elif "start_date" not in problems and end >= add_years(start, MAX_TERM_YEARS):
        last = add_years(start, MAX_TERM_YEARS) - timedelta(days=1)
        problems["end_date"] = (
            f"A contract runs at most {MAX_TERM_YEARS} years: "
            f"it must end by {formatting.day(last)}."
        )
    return problems


def terms_effective_problem(day: date, contract_start: date, contract_end: date) -> str | None:
    """Terms take effect on a day inside the contract term."""
    if contract_start <= day <= contract_end:
        return None
    return (
        f"Terms take effect inside the contract term: from {formatting.day(contract_start)} "
        f"to {formatting.day(contract_end)}."
    )


def review_date_problem(day: date, today: date) -> str | None:
    """A review date is a day that has happened (and not before EARLIEST)."""
    if EARLIEST <= day <= today:
        return None
    return f"Give a day from {formatting.day(EARLIEST)} to today ({formatting.day(today)})."


def parse_month(text: str) -> date:
    """
    A month asked for (a template, a report): `2026-10`, or a date inside it,
    as `parse_period` reads a monthly period. A week (`2026-W48`) is refused
    with the month it starts in, never read as a month.
    """
    raw = str(text).strip()
    week = _WEEK.match(raw)
    if week:
        try:
            start = parse_period(raw, Period.WEEKLY)
        except ValueError:
            start = None
        month = f": the week {raw} starts in {period_label(start, Period.MONTHLY)}" if start else ""
        raise ValueError(f"{raw!r} is a week, not a month{month}. Write a month like 2026-10.")
    return parse_period(raw, Period.MONTHLY)


def period_problem(
    start: date, kind: str, *, contract_start: date, contract_end: date, today: date
) -> str | None:
    """
    A reading's period: it has ended by `today` and lies inside the contract
    term (the periods containing its first and last day).
    """
    label = period_label(start, kind)
    if start >= period_start(today, kind):  # the current period ends after today
        try:
            ends = f" (it ends {formatting.day(period_end(start, kind) - timedelta(days=1))})"
        except (ValueError, OverflowError):  # past the end of the calendar
            ends = ""
        return f"The period {label} has not ended yet{ends}."
    first = max(period_start(contract_start, kind), period_start(EARLIEST, kind))
    if start < first or start > contract_end:
        return (
            f"The period {label} is outside the contract term ({contract_start} to {contract_end})."
        )
    return None


def owed_problem(
    start: date,
    kind: str,
    *,
    data_start: date,
    contract_start: date,
    contract_end: date,
    today: date,
) -> str | None:
    """
    Why no data is owed for a period (None: it is owed). A period is owed
    when it is a reading's period (`period_problem`: it has ended, inside the
    contract term) from the SLA's data start on. Earlier periods may still be
    backfilled: they are not owed, which is not to say they are refused.
    """
    problem = period_problem(
        start, kind, contract_start=contract_start, contract_end=contract_end, today=today
    )
    if problem:
        return problem
    if start < data_start:
        return (
            f"No data is owed for {period_label(start, kind)}: it is owed from "
            f"{period_label(period_start(data_start, kind), kind)} on."
        )
    return None


def owed_span(
    kind: str, *, data_start: date, contract_start: date, contract_end: date, today: date
) -> tuple[date, date] | None:
    """
    The first and last period owed (`owed_problem` is None exactly for the
    periods from one to the other), or None when none is owed (yet).
    """
    first = max(period_start(data_start, kind), first_period_of_term(contract_start, kind))
    if first < data_start:  # a data start inside a period (from before the rules)
        first = add_periods(first, kind, 1)
    last = min(last_closed_period(today, kind), period_start(contract_end, kind))
    return (first, last) if first <= last else None


def first_period_of_term(contract_start: date, kind: str) -> date:
    """The contract's first period: the one containing its first day (never before EARLIEST)."""
    return period_start(max(contract_start, EARLIEST), kind)


def first_owed_period(added_on: date, kind: str) -> date:
    """
    The first period that ends after `added_on` (an SLA's default data start):
    the period containing that day, or the next one when it is the period's
    last day (a period ending the day it is added is not owed).
    """
    try:
        return period_start(added_on + timedelta(days=1), kind)
    except OverflowError:  # the calendar's last day: nothing after it is owed
        return period_start(added_on, kind)


def default_data_start(added_on: date, kind: str, contract_start: date) -> date:
    """
    The data start of an SLA added on `added_on` when none is given: the first
    period that ends after that day, but never before the contract's first
    period. (After the contract's end, when it is added to a finished
    contract: then no period is owed.)
    """
    return max(first_owed_period(added_on, kind), first_period_of_term(contract_start, kind))


def data_start_in_kind(start: date, kind: str, contract_start: date) -> date:
    """
    A data start after the SLA's period kind changed (weekly <-> monthly): the
    period of the new kind containing it, not before the contract's first period.
    """
    return max(period_start(start, kind), first_period_of_term(contract_start, kind))


def data_start_problem(
    start: date, kind: str, *, contract_start: date, contract_end: date
) -> str | None:
    """
    An SLA's data start (the first period for which data is owed): the first
    day of a period of its kind, in the years FIRST_YEAR to LAST_YEAR, inside
    the contract term. A day inside a period is refused, not moved: the caller
    decides which period it meant.
    """
    if not FIRST_YEAR <= start.year <= LAST_YEAR:
        return f"Data is owed from a period in the years {FIRST_YEAR} to {LAST_YEAR}."
    first = period_start(start, kind)
    if start != first:
        unit = unit_name(kind)
        return (
            f"Refused: {formatting.day(start)} is not the first day of a {unit}. "
            f"The {unit} containing it, {period_label(first, kind)}, "
            f"starts on {formatting.day(first)}."
        )
    term_first = first_period_of_term(contract_start, kind)
    term_last = period_start(contract_end, kind)
    if not term_first <= start <= term_last:
        return (
            f"Data is owed from a period inside the contract term: from "
            f"{period_label(term_first, kind)} to {period_label(term_last, kind)}."
        )
    return None


def readable_span(kind: str, today: date) -> tuple[date, date]:
    """
    The first and last period start the engine and the pages read. Rows past
    it can only come from before these rules (or from outside the product):
    they are skipped, never a crash.
    """
    return period_start(EARLIEST, kind), period_start(today, kind)


def readable_bounds(today: date) -> tuple[date, date]:
    """The widest readable span over every kind of period (to filter stored rows in SQL)."""
    spans = [readable_span(kind, today) for kind in Period.values]
    return min(s[0] for s in spans), max(s[1] for s in spans)
