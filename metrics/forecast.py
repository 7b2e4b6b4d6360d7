"""
Breach risk: how likely each of the next periods is to be worse than the
minimum, from an SLA's own history. Pure: no database here.

The series is read as "steady, until something changed": a mixture of small
models, each fitted to the latest values (at most `WINDOW`, none before the
last red period, which ends a story):

- a constant level;
- a step: one level before a change, another after it;
- a ramp: a steady level, then a straight move that began at a change (at
  least two values after it: one value is not a trend);
- a straight line through the whole window.

Each model is weighted by how well it explains the values against the
series' own noise (its log-likelihood less a BIC penalty for each parameter
and for choosing the change), so that a fresh ramp of two large moves
outweighs "constant", while three noisy values around the target don't.
The noise is the robust scale of the period-to-period changes (their
median absolute deviation), floored at a small share of the yellow band so
that a series reported as the same number every period is not taken for
certainty.

**Seasonality.** With at least a year and six periods of history, the
year-over-year changes (this period minus the same period last year) are
tried: when they move much less from period to period than the values
themselves (a yearly pattern that repeats), the models run on them, and
each forecast is last year's value at that period plus the forecast change.
A decline that repeats last year's is then no risk, while one that is worse
than last year's still is.

A period's risk is the mixture's probability that its value is worse than
the minimum. `WARN_AT` says how sure the forecast must be before it warns a
person, the further ahead the surer: more likely than not for the next
period, 90 % for the one after, 98 % three periods ahead. These were chosen
by measurement (`manage.py backtest_warnings`).
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

WINDOW = 12  # values the models are fitted to
MIN_POINTS = 4  # fewer: not enough data, no forecast
RISK_HORIZON = 3  # periods whose risk is computed
PATH_HORIZON = 12  # periods of the expected path ("at this rate red in …")
BAND_HORIZON = 3  # periods of the forecast shown with an 80 % band
WARN_AT = (0.5, 0.9, 0.98)  # risk that warns, 1, 2 and 3 periods ahead
Z_BAND = 1.2816  # 80 % two-sided
NOISE_FLOOR = 0.02  # of the yellow band
SEASON_EXTRA = 6  # periods beyond a year before seasonality is tried
SEASON_RATIO = 0.75  # year-over-year changes must move this much less than the values


@dataclass(frozen=True)
class Forecast:
    """What the history says about the next periods."""

    enough: bool
    method: str = ""
    risk: list[float] = field(default_factory=list)  # P(worse than the minimum), h = 1…
    path: list[float] = field(default_factory=list)  # expected value, h = 1…PATH_HORIZON
    low: list[float] = field(default_factory=list)  # 80 % band, h = 1…BAND_HORIZON
    high: list[float] = field(default_factory=list)
    seasonal: bool = False
    noise: float | None = None  # the usual period-to-period change (robust)

    def warns(self, horizon: int) -> bool:
        """Does the risk within `horizon` periods reach `WARN_AT`?"""
        return warns(self.risk, horizon)


def warns(risk: Sequence[float], horizon: int) -> bool:
    """The early-warning rule over stored risks: one place for pages, API and escalations."""
    horizon = max(1, min(horizon, len(WARN_AT)))
    return any(p >= WARN_AT[h] for h, p in enumerate(list(risk)[:horizon]))


def warning_horizon(risk: Sequence[float], horizon: int) -> int | None:
    """The first period (1…horizon) whose risk warns, if any."""
    horizon = max(1, min(horizon, len(WARN_AT)))
    return next((h + 1 for h, p in enumerate(list(risk)[:horizon]) if p >= WARN_AT[h]), None)


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _median(values: Sequence[float]) -> float:
    return statistics.median(values)


def change_scale(values: Sequence[float]) -> float:
    """The usual size of a period-to-period change: robust, so one jump doesn't count."""
    diffs = [b - a for a, b in itertools.pairwise(values)]
    if len(diffs) < 2:
        return 0.0
    centre = _median(diffs)
    return 1.4826 * _median([abs(d - centre) for d in diffs])


def worse(a: float, b: float, higher_is_better: bool) -> bool:
    """True when `a` is strictly worse than `b`."""
    return a < b if higher_is_better else a > b


@dataclass(frozen=True)
class _Model:
    score: float  # log-likelihood less its penalty
    mean: Sequence[float]  # h = 1…PATH_HORIZON
    var: Sequence[float]


def _models(y: list[float], sigma: float) -> list[_Model]:
    """The candidate models fitted to `y` (oldest first), each with its forecast."""
    m = len(y)
    s2 = sigma * sigma
    penalty = 0.5 * math.log(max(m, 2))
    choice = math.log(max(m - 1, 1))  # choosing where the change was
    hs = range(1, PATH_HORIZON + 1)
    found: list[_Model] = []

    mu = statistics.fmean(y)
    rss = sum((v - mu) ** 2 for v in y)
    found.append(_Model(-rss / (2 * s2) - penalty, [mu] * len(hs), [s2 * (1 + 1 / m)] * len(hs)))

    for c in range(1, m):
        before, after = y[:c], y[c:]
        k = len(after)
        mu_b, mu_a = statistics.fmean(before), statistics.fmean(after)
        rss = sum((v - mu_b) ** 2 for v in before) + sum((v - mu_a) ** 2 for v in after)
        found.append(
            _Model(
                -rss / (2 * s2) - 2 * penalty - choice,
                [mu_a] * len(hs),
                [s2 * (1 + 1 / k)] * len(hs),
            )
        )
        if k < 2:
            continue
        # Ramp: mu0 before the change, mu0 + b·j for the j-th value after it.
        a12 = k * (k + 1) / 2
        a22 = k * (k + 1) * (2 * k + 1) / 6
        r1 = sum(y)
        r2 = sum(v * (j + 1) for j, v in enumerate(after))
        det = m * a22 - a12 * a12
        mu0 = (a22 * r1 - a12 * r2) / det
        b = (m * r2 - a12 * r1) / det
        rss = sum((v - mu0) ** 2 for v in before) + sum(
            (v - mu0 - b * (j + 1)) ** 2 for j, v in enumerate(after)
        )
        i11, i12, i22 = a22 / det, -a12 / det, m / det
        xs = [k + h for h in hs]
        found.append(
            _Model(
                -rss / (2 * s2) - 2 * penalty - choice,
                [mu0 + b * x for x in xs],
                [s2 * (1 + i11 + 2 * x * i12 + x * x * i22) for x in xs],
            )
        )

    if m >= 3:
        mx = (m - 1) / 2
        sxx = sum((i - mx) ** 2 for i in range(m))
        b = sum((i - mx) * (v - mu) for i, v in enumerate(y)) / sxx
        a = mu - b * mx
        rss = sum((v - a - b * i) ** 2 for i, v in enumerate(y))
        xs = [m - 1 + h for h in hs]
        found.append(
            _Model(
                -rss / (2 * s2) - 2 * penalty,
                [a + b * x for x in xs],
                [s2 * (1 + 1 / m + (x - mx) ** 2 / sxx) for x in xs],
            )
        )
    return found


@functools.lru_cache(maxsize=4096)
def _year_back(start: date, kind: str) -> date:
    return periods.add_periods(start, kind, -periods.per_year(kind))


def _seasonal_changes(
    points: Sequence[tuple[date, float]], kind: str
) -> list[tuple[date, float]] | None:
    """
    Year-over-year changes, when a yearly pattern repeats: they move much less
    from period to period than the values do (the newest two left out, so a
    fresh move can't decide it).
    """
    per_year = periods.per_year(kind)
    if len(points) < per_year + SEASON_EXTRA:
        return None
    by_start = dict(points)
    changes = [
        (start, value - by_start[back])
        for start, value in points
        if (back := _year_back(start, kind)) in by_start
    ]
    if len(changes) < SEASON_EXTRA:
        return None
    values = [v for start, v in points if _year_back(start, kind) in by_start]
    moves = [v for _, v in changes]
    d_changes = [abs(b - a) for a, b in itertools.pairwise(moves)]
    d_values = [abs(b - a) for a, b in itertools.pairwise(values)]
    if len(d_changes) < 3 or not any(d_values):
        return None
    if statistics.fmean(d_changes) < SEASON_RATIO * statistics.fmean(d_values):
        return changes
    return None


@dataclass(frozen=True, slots=True)
class Prepared:
    """What the model mixture of one forecast works from (`prepare`)."""

    recent: list[float]  # the values the models are fitted to, oldest first
    sigma: float
    base: list[float]  # per period ahead: last year's value (seasonal), else 0
    minimums: list[float | None]  # per period ahead: the minimum in force, if known
    minimum: float | None
    higher_is_better: bool
    seasonal: bool
    noise: float


def prepare(
    points: Sequence[tuple[date, float]],
    *,
    kind: str,
    minimum: float | None,
    target: float | None,
    higher_is_better: bool,
    ahead: Sequence[float | None] | None = None,
    red: Sequence[bool] | None = None,
) -> Prepared | None:
    """Everything `forecast` works out before fitting the models (None: not enough data)."""
    if len(points) < MIN_POINTS:
        return None
    points = list(points)
    values = [v for _, v in points]
    seasonal = _seasonal_changes(points, kind)
    base = [0.0] * PATH_HORIZON
    if seasonal:
        # Each forecast is last year's value at that period plus the forecast change.
        by_start = dict(points)
        last = points[-1][0]
        found = [
            by_start.get(_year_back(periods.add_periods(last, kind, h), kind))
            for h in range(1, PATH_HORIZON + 1)
        ]
        if None in found:
            seasonal = None  # a gap last year: no seasonal forecast
        else:
            base = found
    series = [v for _, v in seasonal] if seasonal else values
    noise = change_scale(series) / math.sqrt(2)
    floor = NOISE_FLOOR * abs(target - minimum) if target is not None and minimum is not None else 0
    scale = max(abs(v) for v in values) or 1.0
    sigma = max(noise, floor, scale * 1e-6)

    # The story starts again after the latest red period: a fix is not a trend.
    if red is None:
        red = [minimum is not None and worse(v, minimum, higher_is_better) for v in values]
    recent = series
    if not red[-1]:
        offset = len(values) - len(series)
        reds = [i for i, was_red in enumerate(red) if was_red]
        if reds:
            recent = series[max(reds[-1] + 1 - offset, 0) :]
    recent = recent[-WINDOW:]
    if not recent:
        recent = series[-1:]
    return Prepared(
        recent=recent,
        sigma=sigma,
        base=base,
        minimums=list(ahead) if ahead is not None else [minimum] * PATH_HORIZON,
        minimum=minimum,
        higher_is_better=higher_is_better,
        seasonal=bool(seasonal),
        noise=noise,
    )


def mix(prepared: Prepared) -> tuple[list[float], list[float], list[float]]:
    """
    The mixture of the models fitted to the recent values: (expected path, its
    spread, the risk of the first `RISK_HORIZON` periods). The reference of
    `forecast_fast.mix_many`.
    """
    minimum, base, minimums = prepared.minimum, prepared.base, prepared.minimums
    models = _models(prepared.recent, prepared.sigma)
    top = max(m.score for m in models)
    weights = [math.exp(m.score - top) for m in models]
    total = sum(weights)
    weights = [w / total for w in weights]

    path, spread, risk = [], [], []
    mixture = list(zip(weights, models, strict=True))
    for h in range(PATH_HORIZON):
        shift = base[h]
        mean = sum([w * m.mean[h] for w, m in mixture]) + shift
        # Law of total variance over the mixture.
        var = sum([w * (m.var[h] + (m.mean[h] + shift - mean) ** 2) for w, m in mixture])
        path.append(mean)
        spread.append(math.sqrt(var))
        if minimum is not None and h < RISK_HORIZON:
            line = minimums[h] if minimums[h] is not None else minimum
            p = 0.0
            for w, m in zip(weights, models, strict=True):
                z = (m.mean[h] + base[h] - line) / math.sqrt(m.var[h])
                p += w * (_phi(-z) if prepared.higher_is_better else _phi(z))
            risk.append(min(max(p, 0.0), 1.0))
    return path, spread, risk


def finish(
    prepared: Prepared, path: list[float], spread: list[float], risk: list[float]
) -> Forecast:
    """The forecast from its prepared inputs and its mixture."""
    return Forecast(
        enough=True,
        method="same period last year" if prepared.seasonal else "trend since the last change",
        risk=risk,
        path=path,
        low=[path[h] - Z_BAND * spread[h] for h in range(BAND_HORIZON)],
        high=[path[h] + Z_BAND * spread[h] for h in range(BAND_HORIZON)],
        seasonal=prepared.seasonal,
        noise=prepared.noise,
    )


def forecast(
    points: Sequence[tuple[date, float]],
    *,
    kind: str,
    minimum: float | None,
    target: float | None,
    higher_is_better: bool,
    ahead: Sequence[float | None] | None = None,
    red: Sequence[bool] | None = None,
) -> Forecast:
    """
    The forecast of an SLA from its recent values: (period start, value),
    oldest first. Without a minimum there is no risk to speak of.

    `ahead`: the minimum in force for each of the next `PATH_HORIZON` periods
    when it changes (an improvement clause tightening it next contract year,
    renegotiated terms); else `minimum` throughout. `red`: which of the points
    were red when judged by the thresholds of their own period; else judged
    by `minimum`.
    """
    prepared = prepare(
        points, kind=kind, minimum=minimum, target=target, higher_is_better=higher_is_better,
        ahead=ahead, red=red,
    )  # fmt: skip
    if prepared is None:
        return Forecast(enough=False)
    return finish(prepared, *mix(prepared))
