"""
Trend math, as pure functions over an SLA's recent values (oldest first, as
(period start, value) pairs). No database here.

- Slope: Theil-Sen (the median of pairwise slopes) over the last 6 periods,
  robust to a single bad month: what the pages show as the trend.
- Forecast and breach risk: `metrics.forecast` (the expected path with an
  80 % band, and the probability that each of the next periods is red).
- Periods to breach: the first period of the expected path worse than the
  minimum, up to 12 periods ahead (0 when already red).
- Drifting: a sustained move toward breach that is large against the
  series' own noise, in green or yellow: at least three moves in a row
  toward the minimum, on average at least `DRIFT_RATIO` times the usual
  period-to-period change. When last year's pattern repeats (seasonality),
  the moves are counted on the changes from the same period last year, so
  a seasonal upswing already seen last year doesn't trip it.
- Unusual values: a value far outside its recent range by a robust z-score
  over 4.5 (median; scale from the MAD or, when values cluster, the
  interquartile range, but never below the precision the values are written
  with nor 2 % of the yellow band) against up to 24 earlier values, with at
  least 6. Only a move in the bad direction is an *anomaly* (it warns); an
  unusual move in the good direction is shown as an *unusual improvement*,
  never escalated.
Fewer than 4 values: not enough data, no guess.
"""

from __future__ import annotations

import functools
import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from contracts import periods
from metrics import forecast as forecasting
from metrics.forecast import worse

MIN_POINTS = forecasting.MIN_POINTS
SLOPE_WINDOW = 6
HISTORY = 12
HORIZON = forecasting.BAND_HORIZON
BREACH_HORIZON = forecasting.PATH_HORIZON
ANOMALY_Z = 4.5
ANOMALY_HISTORY = 24
MIN_HISTORY = 6
DRIFT_MOVES = 3
DRIFT_RATIO = 2.0


@dataclass(frozen=True)
class Trend:
    points: int
    enough: bool
    method: str = ""
    slope: float | None = None
    forecast: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)
    high: list[float] = field(default_factory=list)
    risk: list[float] = field(default_factory=list)
    periods_to_breach: int | None = None
    drifting: bool = False
    drift_note: str = ""
    anomaly: bool = False
    improvement: bool = False
    anomaly_note: str = ""
    seasonal: bool = False

    @property
    def forecast_red_next(self) -> bool:
        return self.periods_to_breach is not None and self.periods_to_breach <= 1


def _median(values: Sequence[float]) -> float:
    return statistics.median(values)


def theil_sen(values: list[float]) -> tuple[float, float]:
    """(slope per period, intercept at index 0) of the robust line through the values."""
    n = len(values)
    slopes = [(values[j] - values[i]) / (j - i) for i in range(n) for j in range(i + 1, n)]
    slope = _median(slopes) if slopes else 0.0
    intercept = _median([v - slope * i for i, v in enumerate(values)])
    return slope, intercept


def _quantile(ordered: list[float], q: float) -> float:
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _spread(history: list[float]) -> tuple[float, float]:
    """(median, robust scale) of a history."""
    median = _median(history)
    ordered = sorted(history)
    scale = max(
        1.4826 * _median([abs(v - median) for v in history]),
        (_quantile(ordered, 0.75) - _quantile(ordered, 0.25)) / 1.349,
    )
    return median, scale


def _resolution(values: Sequence[float]) -> float:
    """The precision the values are written with (0.1 for one decimal)."""
    return 10.0 ** -max(map(_places, values[-ANOMALY_HISTORY:]), default=0)


@functools.lru_cache(maxsize=65_536)
def _places(value: float) -> int:
    """`places_of` of one value, remembered: the engine asks it of the same values for each SLA."""
    from slagov.formatting import places_of

    return places_of([value])


def _resolution_reference(values: Sequence[float]) -> float:
    """`_resolution` as the rule reads: the decimals of the latest values at once."""
    from slagov.formatting import places_of

    return 10.0 ** -places_of(values[-ANOMALY_HISTORY:])


def robust_z(value: float, history: list[float], floor: float = 0.0) -> float:
    """How many robust standard deviations `value` is from the history's median."""
    median, scale = _spread(history)
    scale = max(scale, floor)
    if scale == 0:
        return 0.0 if math.isclose(value, median, rel_tol=1e-9, abs_tol=1e-12) else math.inf
    return (value - median) / scale


def _floor(history: list[float], band: float | None) -> float:
    return max(_resolution(history), forecasting.NOISE_FLOOR * abs(band or 0.0))


def unusual(
    value: float, history: list[float], *, higher_is_better: bool, band: float | None = None
) -> str | None:
    """`worse` or `better` when the value is far outside its recent range, else None."""
    history = history[-ANOMALY_HISTORY:]
    if len(history) < MIN_HISTORY:
        return None
    z = robust_z(value, history, _floor([*history, value], band))
    if abs(z) <= ANOMALY_Z:
        return None
    return "better" if (z > 0) == higher_is_better else "worse"


def anomalies(
    values: list[float], *, higher_is_better: bool, band: float | None = None
) -> list[str | None]:
    """Per value: `worse`, `better` or None, against the (up to 24) values before it."""
    return [
        unusual(value, values[:i], higher_is_better=higher_is_better, band=band)
        for i, value in enumerate(values)
    ]


def _moves_word(higher_is_better: bool, count: int) -> str:
    word = "fall" if higher_is_better else "rise"
    return f"{count} {word}{'' if count == 1 else 's'} in a row"


TIMES = "\u00d7"  # the multiplication sign


def _times(ratio: float) -> str:
    return f"{ratio:.1f}{TIMES}" if ratio < 10 else f"more than 10{TIMES}"


def drift_of(
    series: list[float], *, higher_is_better: bool, kind: str, seasonal: bool = False,
    floor: float = 0.0,
) -> str:  # fmt: skip
    """
    The drift in words ("3 rises in a row, 2.4 times the usual month-to-month
    change", with the multiplication sign), or "" when the latest moves are
    not a drift. `floor`: the least noise to assume (the precision the values
    are written with, a share of the yellow band), so that a series that never
    moved doesn't make a thousandth look like a drift.
    """
    moves = [b - a for a, b in itertools.pairwise(series)]
    run = 0
    for move in reversed(moves):
        if not worse(move, 0.0, higher_is_better):
            break
        run += 1
    if run < DRIFT_MOVES:
        return ""  # not sustained
    latest = moves[-DRIFT_MOVES:]
    average = sum(abs(m) for m in latest) / DRIFT_MOVES
    # The usual change: before the run, else before the latest moves, else (moving one
    # way since the data began) the run's own wobble.
    earlier = moves[: len(moves) - run]
    if len(earlier) < DRIFT_MOVES:
        earlier = moves[:-DRIFT_MOVES]
    if len(earlier) < DRIFT_MOVES:
        earlier = moves
    centre = _median(earlier)
    noise = max(1.4826 * _median([abs(m - centre) for m in earlier]), floor)
    if noise and average < DRIFT_RATIO * noise:
        return ""  # within the series' own noise
    unit = periods.unit_name(kind)
    text = _moves_word(higher_is_better, run)
    if seasonal:
        text += " against the same periods last year"
    usual = _median([abs(m) for m in earlier])
    if usual and average >= DRIFT_RATIO * usual:
        return f"{text}, {_times(average / usual)} the usual {unit}-to-{unit} change"
    return f"{text}, steadily"


def _anomaly_note(
    value: float, history: list[float], *, direction: str, kind: str, band: float | None
) -> str:
    history = history[-ANOMALY_HISTORY:]
    median, scale = _spread(history)
    scale = max(scale, _floor([*history, value], band))
    side = "above" if value > median else "below"
    count = len(history)
    what = "an unusual improvement" if direction == "better" else "unusually bad"
    if scale == 0:
        return f"{what}: {side} the {count} {periods.unit_name(kind)}s before, which were all equal"
    z = abs(value - median) / scale
    return (
        f"{what}: {_times(z)} the usual spread {side} the median of the last "
        f"{periods.count_label(count, kind)}"
    )


def trend_for(
    points: Sequence[tuple[date, float]],
    *,
    kind: str,
    higher_is_better: bool,
    minimum: float | None,
    target: float | None = None,
    ahead: Sequence[float | None] | None = None,
    red: Sequence[bool] | None = None,
) -> Trend:
    """
    The trend of an SLA from its recent values: (period start, value), oldest first.
    `ahead` and `red` as for `metrics.forecast.forecast`: the minimum in force for
    each coming period, and which values were red by their own period's terms.
    """
    points = list(points)
    if len(points) < MIN_POINTS:
        return Trend(points=min(len(points), 255), enough=False)
    outlook = forecasting.forecast(
        points, kind=kind, minimum=minimum, target=target, higher_is_better=higher_is_better,
        ahead=ahead, red=red,
    )  # fmt: skip
    return _trend(
        points, outlook, kind=kind, higher_is_better=higher_is_better, minimum=minimum,
        target=target, ahead=ahead, red=red,
    )  # fmt: skip


def trend_for_many(calls: Sequence[dict]) -> list[Trend]:
    """
    `trend_for(**call)` of each call, the forecasts' model mixtures fitted
    together (`metrics.forecast_fast`): what the engine runs for a chunk of SLAs.
    """
    from metrics import forecast_fast

    calls = [{**call, "points": list(call["points"])} for call in calls]
    enough = [call for call in calls if len(call["points"]) >= MIN_POINTS]
    outlooks = iter(forecast_fast.forecast_many(enough))
    return [
        _trend(outlook=next(outlooks), **call)
        if len(call["points"]) >= MIN_POINTS
        else Trend(points=len(call["points"]), enough=False)
        for call in calls
    ]


def _trend(
    points: list[tuple[date, float]],
    outlook: forecasting.Forecast,
    *,
    kind: str,
    higher_is_better: bool,
    minimum: float | None,
    target: float | None = None,
    ahead: Sequence[float | None] | None = None,
    red: Sequence[bool] | None = None,
) -> Trend:
    """The trend of enough values, given their forecast."""
    values = [v for _, v in points]
    n = len(values)
    recent = values[-HISTORY:]
    slope, _ = theil_sen(recent[-SLOPE_WINDOW:])
    if red is not None:
        is_red = bool(red[-1])
    else:
        is_red = minimum is not None and worse(values[-1], minimum, higher_is_better)
    minimums = list(ahead) if ahead is not None else [minimum] * len(outlook.path)
    breach = None
    if minimum is not None:
        if is_red:
            breach = 0
        else:
            breach = next(
                (
                    h
                    for h, (v, line) in enumerate(zip(outlook.path, minimums, strict=False), 1)
                    if worse(v, line if line is not None else minimum, higher_is_better)
                ),
                None,
            )
    if outlook.seasonal:
        by_start = dict(points)
        series = [
            value - by_start[back]
            for start, value in points
            if (back := periods.add_periods(start, kind, -periods.per_year(kind))) in by_start
        ]
    else:
        series = values
    band = target - minimum if target is not None and minimum is not None else None
    drift_note = "" if is_red else drift_of(
        series[-HISTORY - 1 :], higher_is_better=higher_is_better, kind=kind,
        seasonal=outlook.seasonal, floor=_floor(values, band),
    )  # fmt: skip
    direction = unusual(values[-1], values[:-1], higher_is_better=higher_is_better, band=band)
    anomaly_note = ""
    if direction:
        anomaly_note = _anomaly_note(
            values[-1], values[:-1], direction=direction, kind=kind, band=band
        )
    return Trend(
        points=min(n, 255),
        enough=True,
        method=outlook.method,
        slope=slope,
        forecast=outlook.path[:HORIZON],
        low=outlook.low,
        high=outlook.high,
        risk=outlook.risk,
        periods_to_breach=breach,
        drifting=bool(drift_note),
        drift_note=drift_note,
        anomaly=direction == "worse",
        improvement=direction == "better",
        anomaly_note=anomaly_note,
        seasonal=outlook.seasonal,
    )


def red_words(health, unit: str | None) -> str:
    """`Red now: 99.2 % is 0.3 % past the minimum (99.5 %).`"""
    from slagov.formatting import with_unit

    if health.value is None or health.minimum is None:
        return "Red now: worse than the minimum."
    past = abs(health.value - health.minimum)
    return (
        f"Red now: {with_unit(health.value, unit)} is {with_unit(past, unit)} past the "
        f"minimum ({with_unit(health.minimum, unit)})."
    )


def outlook(health, kind: str, unit: str | None = None) -> str:
    """The breach forecast of an SLA's health (an `SlaHealth` or None) in words."""
    if health is not None and health.colour == "red":
        return red_words(health, unit)
    if health is None or not health.enough_data:
        points = health.points if health else 0
        return f"Not enough data for a trend yet ({points} of {MIN_POINTS} periods)."
    if health.periods_to_breach == 0:
        return "Red now: worse than the minimum."
    if health.periods_to_breach:
        return f"At this rate red in {periods.count_label(health.periods_to_breach, kind)}."
    horizon = periods.count_label(BREACH_HORIZON, kind)
    return f"No breach forecast in the next {horizon}."


def _percent(p: float) -> str:
    if p < 0.01:
        return "under 1 %"
    if p > 0.99:
        return "over 99 %"
    return f"{round(p * 100)} %"


def risk_words(risk: Sequence[float], kind: str) -> str:
    """`Chance of red: 62 % next month, 90 % in 2 months.` from a stored risk."""
    if not risk:
        return ""
    unit = periods.unit_name(kind)
    parts = [f"{_percent(risk[0])} next {unit}"]
    parts += [
        f"{_percent(p)} in {periods.count_label(h, kind)}"
        for h, p in enumerate(risk[1:], 2)
        if p >= 0.01
    ]
    return f"Chance of red: {', '.join(parts)}."
