"""
A synthetic portfolio whose stories are known, so that warnings can be
scored against what really happened.

Each series is drawn in *band units*: x = (value - minimum) / (target -
minimum), so that x ≥ 1 is green, 0 ≤ x < 1 yellow and x < 0 red whatever the
SLA's direction; it is then mapped onto a real SLA's unit (availability in %,
resolution hours, a backlog count…) and rounded as a vendor reports it.

Archetypes (each monthly and weekly, higher- and lower-is-better):

- `stable`: well inside green, with noise.
- `drift`: stable, then a steady move toward breach at several rates
  (crossing the yellow band in 2 to 8 periods); red for a while, then fixed.
- `jump`: stable, then red from one period to the next (can't be forecast).
- `recover`: a drift toward breach that turns back inside the yellow band.
- `seasonal`: a yearly cycle whose troughs reach yellow but not red.
- `seasonal_drift`: the same cycle with a slow decline that ends in a breach.
- `hover`: noise around the target: often yellow, now and then red.

Pure and deterministic for a seed: no database here.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

from contracts import periods

MONTHLY = periods.Period.MONTHLY
WEEKLY = periods.Period.WEEKLY


@dataclass(frozen=True)
class Measure:
    """A real SLA the series are mapped onto."""

    code: str
    name: str
    unit: str
    direction: str
    target: Decimal
    minimum: Decimal
    decimals: int
    cap: float | None = None  # a percentage never above 100

    def value(self, x: float) -> Decimal:
        raw = float(self.minimum) + x * float(self.target - self.minimum)
        if self.cap is not None:
            raw = min(raw, self.cap)
        raw = max(raw, 0.0)
        return Decimal(str(round(raw, self.decimals)))

    @property
    def x_max(self) -> float:
        """The best level, in band units, that this unit can show (100 %, or 0 hours)."""
        band = float(self.target - self.minimum)
        edge = self.cap if band > 0 else 0.0
        return (edge - float(self.minimum)) / band if edge is not None else math.inf


MEASURES = [
    Measure("avail", "Service availability", "percent", "higher", Decimal("99.9"),
            Decimal("99.5"), 3, cap=100.0),
    Measure("otd", "On-time delivery", "percent", "higher", Decimal("95"), Decimal("90"), 1,
            cap=100.0),
    Measure("p1-res", "P1 resolution time", "hours", "lower", Decimal("4"), Decimal("8"), 2),
    Measure("backlog", "Open ticket backlog", "count", "lower", Decimal("150"), Decimal("250"),
            0),
    Measure("csat", "Customer satisfaction", "score", "higher", Decimal("4.2"), Decimal("3.8"),
            2, cap=5.0),
    Measure("first-resp", "First response time", "minutes", "lower", Decimal("30"),
            Decimal("45"), 1),
    Measure("ftf", "First-time fix rate", "percent", "higher", Decimal("85"), Decimal("80"), 1,
            cap=100.0),
    # Narrow bands, far from any bound: the creeping mean time to repair.
    Measure("mttr", "Mean time to repair", "hours", "lower", Decimal("24"), Decimal("25"), 1),
    Measure("lead", "Delivery lead time", "days", "lower", Decimal("10"), Decimal("11"), 1),
    Measure("tickets", "Ticket volume", "count", "lower", Decimal("5200"), Decimal("6000"), 0),
]  # fmt: skip


def measure_for(x: list[float], turn: int) -> Measure:
    """The `turn`-th measure (in rotation) whose unit can show every value of the series."""
    top = max(x)
    fitting = [m for m in MEASURES if m.x_max >= top + 0.05]
    return fitting[turn % len(fitting)]


@dataclass
class Series:
    """One SLA's story: its values per period (oldest first) and what they mean."""

    key: str
    archetype: str
    period: str
    measure: Measure
    x: list[float]
    drift_start: int | None = None  # the first period of a drift toward breach
    notes: dict = field(default_factory=dict)

    @property
    def values(self) -> list[Decimal]:
        return [self.measure.value(x) for x in self.x]

    @property
    def direction(self) -> str:
        return self.measure.direction


def _noise(rng: random.Random, sigma: float, n: int) -> list[float]:
    return [rng.gauss(0, sigma) for _ in range(n)]


def _stable(rng, n, level, sigma) -> list[float]:
    return [level + e for e in _noise(rng, sigma, n)]


def _drift(rng, n, level, sigma, start, periods_to_cross, red_for):
    """Flat, then down by (level + 0.6)/periods_to_cross a period, red for a while, then fixed."""
    rate = (level + 0.6) / periods_to_cross
    x = []
    fixed_at = None
    for i in range(n):
        if i < start:
            mean = level
        else:
            mean = max(level - rate * (i - start + 1), -1.2)
            if mean < 0 and fixed_at is None:
                fixed_at = i + red_for
            if fixed_at is not None and i >= fixed_at:
                mean = level
        x.append(mean)
    return [m + e for m, e in zip(x, _noise(rng, sigma, n), strict=True)]


def _recover(rng, n, level, sigma, start, rate, turn_at):
    """Down toward breach at `rate` a period, turning back at `turn_at` (inside yellow)."""
    x, mean, falling = [], level, True
    for i in range(n):
        if i >= start:
            if falling:
                mean -= rate
                if mean <= turn_at:
                    mean, falling = turn_at, False
            else:
                mean = min(mean + rate, level)
        x.append(mean)
    return [m + e for m, e in zip(x, _noise(rng, sigma, n), strict=True)]


def _jump(rng, n, level, sigma, at, depth, length):
    x = [level if not at <= i < at + length else -depth for i in range(n)]
    return [m + e for m, e in zip(x, _noise(rng, sigma, n), strict=True)]


def _seasonal(rng, n, per_year, level, amplitude, sigma, phase, decline=0.0, decline_from=0):
    x = []
    for i in range(n):
        mean = level + amplitude * math.sin(2 * math.pi * i / per_year + phase)
        if decline and i >= decline_from:
            mean -= decline * (i - decline_from)
        x.append(mean)
    return [m + e for m, e in zip(x, _noise(rng, sigma, n), strict=True)]


MIN_PERIODS = 18  # room for a stable start, a drift and what follows


def _start(rng: random.Random, n: int, room: int) -> int:
    """Where a story begins: after the first third, leaving `room` periods after it."""
    return rng.randint(n // 3, max(n // 3, n - room))


def build(*, seed: int = 2026, months: int = 36, weeks: int = 104) -> list[Series]:
    """The portfolio: about 130 series, the same for the same seed."""
    if min(months, weeks) < MIN_PERIODS:
        raise ValueError(f"a series needs at least {MIN_PERIODS} periods")
    rng = random.Random(seed)
    out: list[Series] = []

    def add(archetype, period, measure, x, **kw):
        key = f"{archetype}-{period[0]}{len(out) + 1:03d}"
        out.append(Series(key, archetype, period, measure, x, **kw))

    for period, n in ((MONTHLY, months), (WEEKLY, weeks)):
        per_year = periods.per_year(period)
        # Stable, with a range of noise.
        for i in range(12):
            level = rng.uniform(1.6, 3.0)
            x = _stable(rng, n, level, rng.uniform(0.08, 0.3))
            add("stable", period, measure_for(x, i), x)
        # Gradual drift at several rates, from green to red in 2 to 8 periods; the
        # band is wide (the drift is yellow for a while) or narrow against the
        # distance travelled (green one period, red the next: the creeping repair time).
        for i, cross in enumerate([2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 8, 8]):
            narrow = i % 2 == 0
            level = rng.uniform(3.0, 8.0) if narrow else rng.uniform(1.4, 2.2)
            start = _start(rng, n, cross + 6)
            sigma = level * rng.uniform(0.02, 0.07)
            x = _drift(rng, n, level, sigma, start, cross, red_for=rng.randint(2, 4))
            notes = {"periods_to_cross": cross, "band": "narrow" if narrow else "wide"}
            add("drift", period, measure_for(x, i + 1), x, drift_start=start, notes=notes)
        # Sudden jumps into red.
        for i in range(6):
            level = rng.uniform(1.5, 2.5)
            at = _start(rng, n, 5)
            x = _jump(rng, n, level, rng.uniform(0.06, 0.2), at, rng.uniform(0.2, 1.0),
                      rng.randint(1, 3))  # fmt: skip
            add("jump", period, measure_for(x, i + 2), x, notes={"at": at})
        # Drift that turns back before the minimum.
        for i in range(8):
            level = rng.uniform(1.4, 2.2)
            start = _start(rng, n, 10)
            turn = rng.uniform(0.35, 0.9)
            rate = (level - turn) / rng.choice([3, 4, 5, 6])
            x = _recover(rng, n, level, rng.uniform(0.04, 0.12), start, rate, turn)
            add("recover", period, measure_for(x, i + 3), x, notes={"turn_at": round(turn, 2)})
        # A yearly cycle (troughs in yellow, never red), with and without a decline.
        if n >= 2 * per_year:
            for i in range(6):
                amplitude = rng.uniform(0.5, 0.9)
                level = 1.0 + amplitude + rng.uniform(-0.6, -0.15) + 0.0
                level = max(level, amplitude + 0.3)
                x = _seasonal(rng, n, per_year, level, amplitude, rng.uniform(0.04, 0.1),
                              rng.uniform(0, 2 * math.pi))  # fmt: skip
                add("seasonal", period, measure_for(x, i + 4), x)
            for i in range(3):
                amplitude = rng.uniform(0.4, 0.7)
                level = amplitude + rng.uniform(0.9, 1.3)
                start = per_year + rng.randint(0, per_year // 2)
                x = _seasonal(rng, n, per_year, level, amplitude, rng.uniform(0.04, 0.1),
                              rng.uniform(0, 2 * math.pi),
                              decline=(level + 0.3) / (n - start), decline_from=start)  # fmt: skip
                add("seasonal_drift", period, measure_for(x, i + 5), x, drift_start=start)
        # Noise around the target.
        for i in range(6):
            sigma = rng.uniform(0.15, 0.35)
            x = _stable(rng, n, 1.0 + rng.uniform(-0.1, 0.3), sigma)
            add("hover", period, measure_for(x, i), x)
    return out
