"""
What the vendor page, the scorecard PDFs and the monthly report draw the same
way: an SLA's periods as rows of words (colour words, not colour alone) and as
a small chart over its green / yellow / red bands (`reviews.svgcharts`, the
review pack's charts), credits per month across contracts, money per currency.
Pure functions over rows already loaded: no query here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.safestring import SafeString, mark_safe

from contracts.rules import Colour
from metrics.models import PeriodStatus
from metrics.selectors import CreditMonth
from reviews import svgcharts
from slagov import formatting

COLOUR_WORDS = {**dict(Colour.choices), "": "Not measured"}


def colour_word(colour: str) -> str:
    """`Green`, `Red`, `Late`, `No data`; `Not measured` for a period with no status."""
    return COLOUR_WORDS.get(colour, colour)


def trend_chart(sla, statuses: Sequence[PeriodStatus], *, title: str) -> SafeString:
    """The statuses as an inline SVG over the bands in force each period ("" without values)."""
    trend = [
        {"start": s.period_start, "value": s.value, "target": s.target, "minimum": s.minimum,
         "colour": s.colour}
        for s in statuses
    ]  # fmt: skip
    # trend_svg escapes every text and writes numbers itself: safe to inline.
    return mark_safe(  # noqa: S308
        svgcharts.trend_svg(
            trend, unit=sla.unit, direction=sla.direction, period=sla.period, title=title
        )
    )


def status_rows(sla, statuses: Iterable[PeriodStatus]) -> list[dict]:
    """Per period: its label, value and thresholds in the SLA's unit, its colour in words."""
    unit = sla.display_unit
    return [
        {
            "period": formatting.period(s.period_start, sla.period),
            "start": s.period_start,
            "value": formatting.with_unit(s.value, unit),
            "colour": s.colour,
            "status": colour_word(s.colour),
            "target": formatting.with_unit(s.target, unit),
            "minimum": formatting.with_unit(s.minimum, unit),
        }
        for s in statuses
    ]


def colour_counts(statuses: Iterable[PeriodStatus]) -> list[tuple[str, str, int]]:
    """(colour, word, periods) for each colour that occurs, worst first: `Red 1, Green 2`."""
    counts: dict[str, int] = defaultdict(int)
    for status in statuses:
        counts[status.colour] += 1
    order = (Colour.RED, Colour.LATE, Colour.YELLOW, Colour.GREEN, Colour.NO_DATA)
    return [(c.value, colour_word(c), counts[c]) for c in order if counts.get(c)]


@dataclass(frozen=True)
class CreditLine:
    """One contract's credits for one month (the one rule: `metrics.selectors.credits_for`)."""

    month: date
    contract: object
    entry: CreditMonth

    @property
    def currency(self) -> str:
        return self.contract.currency


def credit_lines(
    contracts: Iterable, credits: dict, *, first: date | None = None, end: date | None = None
) -> list[CreditLine]:
    """
    The months of `credits_for(contracts)` from `first` up to `end` (exclusive),
    by month, then contract reference.
    """
    lines = []
    for contract in contracts:
        months, _years = credits.get(contract.pk, ([], []))
        for entry in months:
            if (first is None or entry.month >= first) and (end is None or entry.month < end):
                lines.append(CreditLine(entry.month, contract, entry))
    return sorted(lines, key=lambda line: (line.month, line.contract.reference))


def per_currency(pairs: Iterable[tuple[str, Decimal]]) -> list[tuple[str, Decimal]]:
    """Sums per currency, by currency: money is never added across currencies."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for currency, amount in pairs:
        totals[currency] += amount
    return sorted(totals.items())
