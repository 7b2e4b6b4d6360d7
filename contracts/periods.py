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


def contract_year_first_month(contract_start: date, year: int) -> date:
    """The first month (its first day) that `contract_year` puts in `year`."""
    first = add_periods(contract_start.replace(day=1), Period.MONTHLY, 12 * (year - 1))
    if year > 1 and contract_year(contract_start, first) < year:
        first = add_periods(first, Period.MONTHLY, 1)  # a mid-month anniversary
    return first


_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
# A date as written in files: 2026-10-15, optionally with a time (spreadsheet exports).
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


def parse_period(text: str, kind: str) -> date:
    """
    Parse a period as users write it: monthly `2026-10`, weekly `2026-W42`, or
    any ISO date inside the period. Raises ValueError with a plain message.
    """
    raw = str(text).strip()
    if kind == Period.WEEKLY:
        match = _WEEK.match(raw)
        if match:
            year, week = int(match.group(1)), int(match.group(2))
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
            return date(year, month, 1)
    expected = "2026-W42" if kind == Period.WEEKLY else "2026-10"
    try:
        if not _DATE.match(raw):
            raise ValueError(raw)
        day = datetime.fromisoformat(raw).date()
    except ValueError:
        hint = " (this SLA is measured monthly)" if _WEEK.match(raw) else ""
        raise ValueError(
            f"{raw!r} is not a period{hint}: write {expected} or a date like 2026-10-15"
        ) from None
    return period_start(day, kind)
