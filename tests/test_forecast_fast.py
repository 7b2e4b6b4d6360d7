"""
The numpy forms of the trend fits equal their Python references (`forecast.mix`,
`trends.trend_for`, `health.health_of`) on random series: what the health rows
store is the same whichever form fitted it.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from contracts import periods
from metrics import forecast, forecast_fast, trends
from metrics.engine import health


def _series(rng: random.Random, kind: str, n: int, higher: bool) -> list[tuple[date, float]]:
    """Noise, sometimes a ramp, a yearly dip, a step or a spike, at 1 to 3 decimals."""
    start = periods.period_start(date(2022, 1, 1), kind)
    level = 99.5 if higher else 4.0
    ramp = rng.choice([0.0, 0.0, 0.03, -0.05])
    dip = rng.random() < 0.3
    step_at = rng.randint(0, n) if rng.random() < 0.3 else None
    places = rng.choice([1, 2, 3])
    points = []
    for i in range(n):
        value = level + rng.gauss(0, rng.choice([0.01, 0.1, 0.4])) + ramp * i
        if dip and i % periods.per_year(kind) < 3:
            value -= 0.6
        if step_at is not None and i >= step_at:
            value += 0.8
        if rng.random() < 0.03:
            value += rng.choice([-3, 3])
        points.append((periods.add_periods(start, kind, i), round(value, places)))
    if rng.random() < 0.1:  # reported identically every period
        points = [(day, level) for day, _ in points]
    return points


def _call(rng: random.Random) -> dict:
    kind = rng.choice(["monthly", "weekly"])
    higher = rng.random() < 0.6
    points = _series(rng, kind, rng.randint(0, 80 if kind == "weekly" else 36), higher)
    minimum = target = ahead = red = None
    if rng.random() < 0.9:
        minimum, target = (99.3, 99.8) if higher else (6.0, 4.5)
        if rng.random() < 0.3:  # tightening next contract year
            tighter = 0.1 if higher else -0.5
            ahead = [minimum + (tighter if h > 4 else 0) for h in range(forecast.PATH_HORIZON)]
    if points and rng.random() < 0.7:
        red = [forecast.worse(v, minimum, higher) if minimum else False for _, v in points]
        if rng.random() < 0.3:  # red by the terms of their own periods
            red = [r or rng.random() < 0.1 for r in red]
    return {"points": points, "kind": kind, "higher_is_better": higher, "minimum": minimum,
            "target": target, "ahead": ahead, "red": red}  # fmt: skip


def _stored(f: forecast.Forecast) -> tuple:
    """A forecast as the health row stores it."""
    return (
        f.enough, f.method, f.seasonal, [round(x, 6) for x in f.path + f.low + f.high],
        [round(p, 4) for p in f.risk],
    )  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_numpy_forecasts_equal_the_reference(seed):
    rng = random.Random(seed)
    calls = [_call(rng) for _ in range(600)]
    fast = forecast_fast.forecast_many(calls)
    reference = [forecast.forecast(**call) for call in calls]
    assert [_stored(f) for f in fast] == [_stored(f) for f in reference]
    # The worlds hold what the mixture's branches decide.
    assert {f.seasonal for f in reference} == {True, False}
    assert {f.enough for f in reference} == {True, False}
    assert any(f.risk and max(f.risk) > 0.5 for f in reference)
    assert any(f.enough and not f.risk for f in reference)  # no minimum, no risk


@pytest.mark.parametrize("seed", [4, 5])
def test_the_trends_fitted_together_equal_the_reference(seed):
    rng = random.Random(seed)
    calls = [_call(rng) for _ in range(400)]
    fitted = trends.trend_for_many(calls)
    reference = [trends.trend_for(**call) for call in calls]
    for fast, ref in zip(fitted, reference, strict=True):
        assert (fast.points, fast.enough, fast.method, fast.slope, fast.periods_to_breach,
                fast.drift_note, fast.anomaly_note, fast.anomaly, fast.improvement) == (
            ref.points, ref.enough, ref.method, ref.slope, ref.periods_to_breach,
            ref.drift_note, ref.anomaly_note, ref.anomaly, ref.improvement)  # fmt: skip
    assert any(t.drifting for t in reference)
    assert any(t.anomaly for t in reference)


def test_the_health_rows_of_a_chunk_equal_the_reference():
    rng = random.Random(6)
    slas, recent = [], {}
    for pk in range(300):
        call = _call(rng)
        direction = "higher" if call["higher_is_better"] else "lower"
        sla = SimpleNamespace(pk=pk, period=call["kind"], direction=direction)
        target, minimum = (Decimal("99.8"), Decimal("99.3")) if sla.direction == "higher" else (
            Decimal("4.5"), Decimal("6"))  # fmt: skip
        rows = []
        for day, value in call["points"]:
            if rng.random() < 0.1:  # a gap: no data, or late
                rows.append(health.Recent(day, rng.choice(["no_data", "late"]), None, None, None))
                continue
            colour = "red" if forecast.worse(value, float(minimum), call["higher_is_better"]) else (
                "green" if not forecast.worse(value, float(target), call["higher_is_better"])
                else "yellow")  # fmt: skip
            rows.append(health.Recent(day, colour, Decimal(str(value)), target, minimum))
        slas.append(sla)
        recent[pk] = rows
    assert health.health_many(slas, recent, {}) == [
        health.health_of(sla, recent[sla.pk]) for sla in slas
    ]
