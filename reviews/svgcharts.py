"""
Small SVG charts for the review pack, drawn server-side in pure Python: an
SLA's values as a line over its green / yellow / red bands, as the contract
page draws them with Plotly (`metrics.charts`), for paper.

Each period is a slot of equal width; the bands step where the thresholds in
force change. Every number is written with fixed decimals and every text is
escaped, so the same data gives the same bytes (the pack is signed by hash).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from html import escape

from contracts.rules import Colour, Direction
from metrics.charts import MARKER
from metrics.charts import _axis_range as axis_range  # the contract page's axis rule
from slagov import formatting

WIDTH = 460
HEIGHT = 150
LEFT, RIGHT, TOP, BOTTOM = 58, 8, 8, 22
# The contract page's band colours (`metrics.charts.BAND`) as fill and opacity.
BAND_FILL = {
    Colour.GREEN: ("#2ea043", "0.16"),
    Colour.YELLOW: ("#dbab09", "0.22"),
    Colour.RED: ("#cf222e", "0.16"),
}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FONT = 'font-family="DejaVu Sans, sans-serif"'


@dataclass(frozen=True)
class Point:
    start: date | None
    value: float | None
    target: float | None
    minimum: float | None
    colour: str


def _number(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(Decimal(str(value)))
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _day(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except (TypeError, ValueError):
        return None


def _colour(value) -> str:
    return value if value in Colour.values else Colour.NO_DATA


def points(trend: Sequence) -> list[Point]:
    """The chart's points from a trend list as the agenda stores it (bad rows skipped)."""
    found = []
    for row in trend if isinstance(trend, list | tuple) else []:
        if not isinstance(row, dict):
            continue
        found.append(
            Point(
                start=_day(row.get("start")),
                value=_number(row.get("value")),
                target=_number(row.get("target")),
                minimum=_number(row.get("minimum")),
                colour=_colour(row.get("colour")),
            )
        )
    return found


def _f(x: float) -> str:
    """A coordinate: fixed decimals, never `-0.0`."""
    text = f"{x:.1f}"
    return "0.0" if text == "-0.0" else text


def nice_ticks(low: float, high: float, count: int = 4, *, whole: bool = False) -> list[float]:
    """Round ticks in [low, high]: 1, 2, 2.5 or 5 times a power of ten apart (counts: whole)."""
    span = high - low
    if span <= 0 or not math.isfinite(span):
        return [low]
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in steps if m * magnitude >= raw)
    if whole:
        step = max(step, 1)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    tick = first
    while tick <= high + step * 1e-9:
        ticks.append(round(tick, 10))
        tick += step
    return ticks


def _tick_places(ticks: list[float]) -> int:
    return formatting.places_of([Decimal(repr(t)) for t in ticks])


def _label(start: date | None, period: str) -> str:
    if start is None:
        return ""
    if period == "weekly":
        return f"W{start.isocalendar()[1]:02d}"
    return f"{MONTHS[start.month - 1]} {start.year % 100:02d}"


def _bands(pts: list[Point], direction: str, low: float, high: float) -> list[tuple]:
    """(first slot, last slot, colour, y from, y to): runs of slots with equal thresholds."""
    runs: list[list] = []
    for i, p in enumerate(pts):
        if p.target is None or p.minimum is None:
            continue
        if runs and runs[-1][1] == i - 1 and runs[-1][2:] == [p.target, p.minimum]:
            runs[-1][1] = i
        else:
            runs.append([i, i, p.target, p.minimum])
    bands = []
    for first, last, target, minimum in runs:
        if direction == Direction.HIGHER:
            levels = [(low, minimum, Colour.RED), (minimum, target, Colour.YELLOW),
                      (target, high, Colour.GREEN)]  # fmt: skip
        else:
            levels = [(low, target, Colour.GREEN), (target, minimum, Colour.YELLOW),
                      (minimum, high, Colour.RED)]  # fmt: skip
        for y0, y1, colour in levels:
            y0, y1 = max(y0, low), min(y1, high)
            if y1 > y0:
                bands.append((first, last, colour, y0, y1))
    return bands


def trend_svg(
    trend: Sequence,
    *,
    unit: str | None,
    direction: str,
    period: str = "monthly",
    title: str = "",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """
    An inline `<svg>` of the trend (a list of {start, value, target, minimum,
    colour}), or "" when there is nothing to draw. `title` is read aloud.
    """
    pts = points(trend)
    if not any(p.value is not None for p in pts):
        return ""
    values = [p.value for p in pts if p.value is not None]
    bounds = [b for p in pts for b in (p.target, p.minimum) if b is not None]
    unit = formatting.base_unit(unit)  # ticks short: `5,700`, not `5,700 tickets`
    low, high = axis_range(values, bounds, unit or "")
    if high <= low:  # a flat line at zero with no thresholds
        high = low + 1.0
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    slot = plot_w / len(pts)

    def x_of(i: float) -> float:
        return LEFT + slot * i

    def y_of(v: float) -> float:
        return TOP + plot_h * (high - v) / (high - low)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for first, last, colour, y0, y1 in _bands(pts, direction, low, high):
        fill, opacity = BAND_FILL[colour]
        x, width_ = _f(x_of(first)), _f(slot * (last - first + 1))
        out.append(
            f'<rect x="{x}" y="{_f(y_of(y1))}" width="{width_}" height="{_f(y_of(y0) - y_of(y1))}" '
            f'fill="{fill}" fill-opacity="{opacity}"/>'
        )
    ticks = nice_ticks(low, high, whole=unit in formatting.WHOLE_UNITS)
    places = _tick_places(ticks)
    for tick in ticks:
        y = _f(y_of(tick))
        out.append(
            f'<line x1="{LEFT}" y1="{y}" x2="{width - RIGHT}" y2="{y}" stroke="#d0d7de" '
            'stroke-width="0.5"/>'
        )
        out.append(
            f'<text x="{LEFT - 4}" y="{y}" dy="3" text-anchor="end" font-size="8" {FONT} '
            f'fill="#57606a">{escape(formatting.with_unit(tick, unit, places))}</text>'
        )
    out.append(
        f'<rect x="{LEFT}" y="{TOP}" width="{_f(plot_w)}" height="{_f(plot_h)}" fill="none" '
        'stroke="#8c959f" stroke-width="0.5"/>'
    )
    every = max(1, math.ceil(len(pts) / 6))
    for i, p in enumerate(pts):
        if (len(pts) - 1 - i) % every == 0:  # the latest period always has its label
            out.append(
                f'<text x="{_f(x_of(i + 0.5))}" y="{height - BOTTOM + 12}" text-anchor="middle" '
                f'font-size="8" {FONT} fill="#57606a">{escape(_label(p.start, period))}</text>'
            )
    # The line breaks where a period has no value.
    run: list[str] = []
    for i, p in enumerate([*pts, None]):
        if p is not None and p.value is not None:
            run.append(f"{_f(x_of(i + 0.5))},{_f(y_of(p.value))}")
            continue
        if len(run) > 1:
            out.append(
                f'<polyline points="{" ".join(run)}" fill="none" stroke="#1f2328" '
                'stroke-width="1.5" stroke-linejoin="round"/>'
            )
        run = []
    for i, p in enumerate(pts):
        if p.value is None:
            continue
        out.append(
            f'<circle cx="{_f(x_of(i + 0.5))}" cy="{_f(y_of(p.value))}" r="3" '
            f'fill="{MARKER[Colour(p.colour)]}" stroke="#ffffff" stroke-width="0.75"/>'
        )
    out.append("</svg>")
    return "\n".join(out)
