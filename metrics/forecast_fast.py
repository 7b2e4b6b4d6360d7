"""
The model mixture of `metrics.forecast` for many series at once (numpy): the
status engine refits thousands of SLAs per chunk, and fitting each one's two
dozen small models in Python is most of the cost.

`forecast.mix` stays the reference. The models, their order and their
formulas are the same; series are grouped by how many values the models are
fitted to, and each model is fitted to the whole group as one array. Sums run
in another order than Python's, so a figure may differ in its last bits: what
the health rows store (rounded to six places, risk to four) is tested equal
to the reference on random series.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from metrics.forecast import PATH_HORIZON, RISK_HORIZON, Forecast, Prepared, finish, prepare

_erf = np.frompyfunc(math.erf, 1, 1)


def _phi(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + _erf(z / math.sqrt(2.0)).astype(float))


def _models(y: np.ndarray, s2: np.ndarray):
    """`forecast._models` over the rows of `y` (n series by m values): (score, mean, var) each."""
    m = y.shape[1]
    penalty = 0.5 * math.log(max(m, 2))
    choice = math.log(max(m - 1, 1))
    hs = np.arange(1, PATH_HORIZON + 1, dtype=float)
    ones = np.ones(PATH_HORIZON)
    col = s2[:, None]
    found = []

    mu = y.mean(axis=1)
    rss = ((y - mu[:, None]) ** 2).sum(axis=1)
    found.append((-rss / (2 * s2) - penalty, mu[:, None] * ones, col * (1 + 1 / m) * ones))

    r1 = y.sum(axis=1)
    for c in range(1, m):
        before, after = y[:, :c], y[:, c:]
        k = m - c
        mu_b, mu_a = before.mean(axis=1), after.mean(axis=1)
        rss = ((before - mu_b[:, None]) ** 2).sum(axis=1) + ((after - mu_a[:, None]) ** 2).sum(
            axis=1
        )
        found.append(
            (-rss / (2 * s2) - 2 * penalty - choice, mu_a[:, None] * ones, col * (1 + 1 / k) * ones)
        )
        if k < 2:
            continue
        a12 = k * (k + 1) / 2
        a22 = k * (k + 1) * (2 * k + 1) / 6
        j = np.arange(1, k + 1, dtype=float)
        r2 = (after * j).sum(axis=1)
        det = m * a22 - a12 * a12
        mu0 = (a22 * r1 - a12 * r2) / det
        b = (m * r2 - a12 * r1) / det
        rss = ((before - mu0[:, None]) ** 2).sum(axis=1) + (
            (after - mu0[:, None] - b[:, None] * j) ** 2
        ).sum(axis=1)
        i11, i12, i22 = a22 / det, -a12 / det, m / det
        xs = k + hs
        found.append(
            (
                -rss / (2 * s2) - 2 * penalty - choice,
                mu0[:, None] + b[:, None] * xs,
                col * (1 + i11 + 2 * xs * i12 + xs * xs * i22),
            )
        )

    if m >= 3:
        i = np.arange(m, dtype=float)
        mx = (m - 1) / 2
        sxx = float(((i - mx) ** 2).sum())
        b = ((i - mx) * (y - mu[:, None])).sum(axis=1) / sxx
        a = mu - b * mx
        rss = ((y - a[:, None] - b[:, None] * i) ** 2).sum(axis=1)
        xs = m - 1 + hs
        found.append(
            (
                -rss / (2 * s2) - 2 * penalty,
                a[:, None] + b[:, None] * xs,
                col * (1 + 1 / m + (xs - mx) ** 2 / sxx),
            )
        )
    return found


def _mix_group(group: list[Prepared]):
    """`forecast.mix` of series with the same number of recent values."""
    y = np.array([p.recent for p in group], dtype=float)
    sigma = np.array([p.sigma for p in group], dtype=float)
    models = _models(y, sigma * sigma)
    scores = np.stack([s for s, _, _ in models], axis=1)  # series, models
    means = np.stack([mean for _, mean, _ in models], axis=1)  # series, models, periods ahead
    variances = np.stack([var for _, _, var in models], axis=1)
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    w = weights[:, :, None]
    base = np.array([p.base for p in group], dtype=float)  # series, periods ahead
    path = (w * means).sum(axis=1) + base
    var = (w * (variances + (means + base[:, None, :] - path[:, None, :]) ** 2)).sum(axis=1)
    spread = np.sqrt(var)

    risk = np.zeros((len(group), RISK_HORIZON))
    known = np.array([p.minimum is not None for p in group])
    if known.any():
        lines = np.array(
            [
                [
                    (p.minimums[h] if p.minimums[h] is not None else p.minimum)
                    if p.minimum is not None
                    else 0.0
                    for h in range(RISK_HORIZON)
                ]
                for p in group
            ],
            dtype=float,
        )
        sign = np.array([-1.0 if p.higher_is_better else 1.0 for p in group])[:, None, None]
        ahead = means[known, :, :RISK_HORIZON] + base[known, None, :RISK_HORIZON]
        z = (ahead - lines[known, None, :]) / np.sqrt(variances[known, :, :RISK_HORIZON])
        risk[known] = np.clip((w[known] * _phi(sign[known] * z)).sum(axis=1), 0.0, 1.0)
    return [
        (
            path[i].tolist(),
            spread[i].tolist(),
            risk[i].tolist() if p.minimum is not None else [],
        )
        for i, p in enumerate(group)
    ]


def mix_many(prepared: Sequence[Prepared]) -> list[tuple[list[float], list[float], list[float]]]:
    """`forecast.mix` of each prepared series."""
    groups: dict[int, list[int]] = defaultdict(list)
    for index, p in enumerate(prepared):
        groups[len(p.recent)].append(index)
    result: list = [None] * len(prepared)
    for indexes in groups.values():
        for index, mixed in zip(indexes, _mix_group([prepared[i] for i in indexes]), strict=True):
            result[index] = mixed
    return result


def forecast_many(calls: Sequence[dict]) -> list[Forecast]:
    """`forecast.forecast(**call)` of each call (the points and keywords of one series)."""
    prepared = [prepare(**call) for call in calls]
    ready = [p for p in prepared if p is not None]
    mixed = iter(mix_many(ready))
    return [Forecast(enough=False) if p is None else finish(p, *next(mixed)) for p in prepared]
