"""
The months a report covers, as people ask for them (`?from=2026-07&to=2026-09`):
one rule for the scorecards and the monthly report, as pure date arithmetic.
Each month is read by `periods.parse_month`, the one way slagov reads a month
it is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from contracts import periods

MAX_MONTHS = 36  # three years: longer than any review cycle, still a readable PDF
_MAX_TEXT = 40  # longer than any way of writing a month: refused unread and unechoed
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHLY = periods.Period.MONTHLY


class SpanError(ValueError):
    """A month asked for that can't be used: `field` names the parameter, `message` why."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def month_label(month: date) -> str:
    """`Sep 2026` (no locale: the same words on every page, e-mail and PDF)."""
    return f"{_MONTHS[month.month - 1]} {month.year}"


@dataclass(frozen=True)
class MonthSpan:
    """The calendar months from `first` to `last`, both included (each the 1st of its month)."""

    first: date
    last: date

    @property
    def months(self) -> list[date]:
        return list(periods.iter_periods(self.first, self.last, MONTHLY))

    @property
    def end(self) -> date:
        """The first day after the span (exclusive end)."""
        return periods.add_periods(self.last, MONTHLY, 1)

    @property
    def label(self) -> str:
        """`Jul 2026 to Sep 2026`, or `Sep 2026` for one month."""
        if self.first == self.last:
            return month_label(self.first)
        return f"{month_label(self.first)} to {month_label(self.last)}"

    @property
    def query(self) -> str:
        """The span as the scorecard URLs ask for it."""
        return f"from={self.first:%Y-%m}&to={self.last:%Y-%m}"

    def __contains__(self, day: date) -> bool:
        return self.first <= day < self.end


def last_closed_month(today: date) -> date:
    """The month before the one `today` is in."""
    return periods.last_closed_period(today, MONTHLY)


def last_closed_quarter(today: date) -> MonthSpan:
    """The last calendar quarter that has ended by `today` (January to March, April to June…)."""
    quarter_start = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    first = periods.add_periods(quarter_start, MONTHLY, -3)
    return MonthSpan(first, periods.add_periods(first, MONTHLY, 2))


def _month(text: str, field: str, today: date) -> date:
    raw = str(text).strip()
    if len(raw) > _MAX_TEXT:
        raise SpanError(field, "is not a month: write a month like 2026-07.")
    try:
        month = periods.parse_month(raw)
    except ValueError as exc:
        raise SpanError(field, str(exc)) from None
    if month > periods.period_start(today, MONTHLY):
        raise SpanError(field, f"{month:%Y-%m} has not begun yet.")
    return month


def month_span(
    from_text: str | None, to_text: str | None, *, today: date, max_months: int = MAX_MONTHS
) -> MonthSpan:
    """
    The span asked for by `from` and `to` (each `2026-07`, or a date inside the
    month); neither given: the last closed quarter. Raises SpanError naming the
    parameter: one of the two missing, not a month (`2026-13`, a year outside
    2000 to 2999, text), a month not begun yet, `from` after `to`, or more than
    `max_months` months.
    """
    given = {name: (text or "").strip() for name, text in (("from", from_text), ("to", to_text))}
    if not any(given.values()):
        return last_closed_quarter(today)
    for name, other, example in (("from", "to", "first"), ("to", "from", "last")):
        if not given[name]:
            raise SpanError(name, f"give the {example} month too (with {other}), like 2026-07.")
    first = _month(given["from"], "from", today)
    last = _month(given["to"], "to", today)
    if first > last:
        raise SpanError("from", f"{first:%Y-%m} is after to ({last:%Y-%m}).")
    count = periods.periods_between(first, last, MONTHLY) + 1
    if count > max_months:
        raise SpanError(
            "to", f"{first:%Y-%m} to {last:%Y-%m} is {count} months; at most {max_months}."
        )
    return MonthSpan(first, last)
