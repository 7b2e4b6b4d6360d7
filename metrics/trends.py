"""
Trend math, as pure functions over a short series of period values (oldest
first). No database here.

- Slope: Theil-Sen (the median of pairwise slopes) over the last 6 periods,
  robust to a single bad month.
- Forecast: damped-trend exponential smoothing (Holt's additive damped trend,
  the model statsmodels fits as `Holt(damped_trend=True)`) with fixed
  smoothing parameters, so 20,000 SLAs are forecast in well under a second;
  a robust Theil-Sen line on short series (4 or 5 periods). An 80 % band comes
  from the one-step-ahead errors.
- Periods to breach: the first forecast period worse than the minimum,
  looking up to 12 periods ahead (0 when already red).
- Drifting: three moves in a row toward breach while still green (the
  creeping mean time to repair), together worth at least a fifth of the
  distance between target and minimum, so that noise doesn't count.
- Anomaly: a value far outside its recent range by a robust z-score against
  up to 12 earlier values (median; scale from the MAD or, when values
  cluster, the interquartile range), with at least 6 earlier values.
Fewer than 4 values: not enough data, no guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from contracts import periods

MIN_POINTS = 4
HOLT_MIN_POINTS = 6  # fewer: a robust line instead
SLOPE_WINDOW = 6
HISTORY = 12
HORIZON = 3
BREACH_HORIZON = 12
# Fixed smoothing: responsive enough to follow a three-month creep, damped so
# that a trend is not extrapolated for ever.
ALPHA, BETA, PHI = 0.7, 0.4, 0.9
Z_BAND = 1.2816  # 80 % two-sided
ANOMALY_Z = 3.5


@dataclass(frozen=True)
class Trend:
    points: int
    enough: bool
    method: str = ""
    slope: float | None = None
    forecast: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)
    high: list[float] = field(default_factory=list)
    periods_to_breach: int | None = None
    drifting: bool = False
    anomaly: bool = False

    @property
    def forecast_red_next(self) -> bool:
        return self.periods_to_breach is not None and self.periods_to_breach <= 1


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def theil_sen(values: list[float]) -> tuple[float, float]:
    """(slope per period, intercept at index 0) of the robust line through the values."""
    n = len(values)
    slopes = [(values[j] - values[i]) / (j - i) for i in range(n) for j in range(i + 1, n)]
    slope = _median(slopes) if slopes else 0.0
    intercept = _median([v - slope * i for i, v in enumerate(values)])
    return slope, intercept


def damped_holt(
    values: list[float], horizon: int, *, alpha=ALPHA, beta=BETA, phi=PHI
) -> tuple[list[float], float]:
    """Forecasts for 1..horizon and the RMS of the one-step-ahead errors."""
    # Initial state before the first value (statsmodels' "known" initialisation).
    level, trend = values[0], values[1] - values[0]
    errors = []
    for y in values:
        predicted = level + phi * trend
        errors.append(y - predicted)
        new_level = alpha * y + (1 - alpha) * predicted
        trend = beta * (new_level - level) + (1 - beta) * phi * trend
        level = new_level
    forecasts, damp = [], 0.0
    for h in range(1, horizon + 1):
        damp += phi**h
        forecasts.append(level + damp * trend)
    sigma = math.sqrt(sum(e * e for e in errors) / len(errors)) if errors else 0.0
    return forecasts, sigma


def _band_factor(h: int, *, alpha=ALPHA, beta=BETA, phi=PHI) -> float:
    """Variance multiplier of the h-step forecast error of the damped trend model."""
    total, damp = 1.0, 0.0
    for j in range(1, h):
        damp += phi**j
        total += (alpha * (1 + beta * damp)) ** 2
    return math.sqrt(total)


def worse(a: float, b: float, higher_is_better: bool) -> bool:
    """True when `a` is strictly worse than `b`."""
    return a < b if higher_is_better else a > b


def _quantile(ordered: list[float], q: float) -> float:
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def robust_z(value: float, history: list[float]) -> float:
    """How many robust standard deviations `value` is from the history's median."""
    median = _median(history)
    ordered = sorted(history)
    scale = max(
        1.4826 * _median([abs(v - median) for v in history]),
        (_quantile(ordered, 0.75) - _quantile(ordered, 0.25)) / 1.349,
    )
    if scale == 0:
        return 0.0 if math.isclose(value, median, rel_tol=1e-9, abs_tol=1e-12) else math.inf
    return (value - median) / scale


MIN_HISTORY = 6


def is_anomaly(value: float, history: list[float]) -> bool:
    history = history[-HISTORY:]
    return len(history) >= MIN_HISTORY and abs(robust_z(value, history)) > ANOMALY_Z


def anomalies(values: list[float]) -> list[bool]:
    """Per value: is it far outside the range of the (up to 12) values before it?"""
    return [is_anomaly(value, values[:i]) for i, value in enumerate(values)]


def trend_for(
    values: list[float],
    *,
    higher_is_better: bool,
    minimum: float | None,
    latest_green: bool,
    band: float | None = None,
) -> Trend:
    """The trend of an SLA from its recent values (oldest first, no gaps)."""
    values = values[-HISTORY:]
    n = len(values)
    if n < MIN_POINTS:
        return Trend(points=n, enough=False)
    slope, intercept = theil_sen(values[-SLOPE_WINDOW:])
    if n >= HOLT_MIN_POINTS:
        method = "damped trend"
        path, sigma = damped_holt(values, BREACH_HORIZON)
        spread = [Z_BAND * sigma * _band_factor(h) for h in range(1, HORIZON + 1)]
    else:
        method = "robust line"
        window = values[-SLOPE_WINDOW:]
        last_index = len(window) - 1
        path = [intercept + slope * (last_index + h) for h in range(1, BREACH_HORIZON + 1)]
        residuals = [v - (intercept + slope * i) for i, v in enumerate(window)]
        scale = 1.4826 * _median([abs(r) for r in residuals])
        spread = [Z_BAND * scale * math.sqrt(1 + h / len(window)) for h in range(1, HORIZON + 1)]
    forecast = path[:HORIZON]
    breach = None
    if minimum is not None:
        if worse(values[-1], minimum, higher_is_better):
            breach = 0
        else:
            breach = next(
                (h for h, v in enumerate(path, 1) if worse(v, minimum, higher_is_better)), None
            )
    moves = [worse(b, a, higher_is_better) for a, b in zip(values[-4:-1], values[-3:], strict=True)]
    material = band is None or abs(values[-1] - values[-4]) >= 0.2 * abs(band) - 1e-9
    drifting = latest_green and len(moves) == 3 and all(moves) and material
    anomaly = is_anomaly(values[-1], values[:-1])
    return Trend(
        points=n,
        enough=True,
        method=method,
        slope=slope,
        forecast=forecast,
        low=[f - s for f, s in zip(forecast, spread, strict=True)],
        high=[f + s for f, s in zip(forecast, spread, strict=True)],
        periods_to_breach=breach,
        drifting=drifting,
        anomaly=anomaly,
    )


def outlook(health, kind: str) -> str:
    """The breach forecast of an SLA's health (an `SlaHealth` or None) in words."""
    if health is None or not health.enough_data:
        points = health.points if health else 0
        return f"Not enough data for a trend yet ({points} of {MIN_POINTS} periods)."
    if health.periods_to_breach == 0:
        return "Red now: worse than the minimum."
    if health.periods_to_breach:
        return f"At this rate red in {periods.count_label(health.periods_to_breach, kind)}."
    horizon = periods.count_label(BREACH_HORIZON, kind)
    return f"No breach forecast in the next {horizon}."
