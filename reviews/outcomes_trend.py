"""
How a quarter's outcomes moved against the quarter before: up, down or the
same for each figure, whether that is good, and the words a screen reader
says instead of the arrow. Figures are compared as they are shown (shares in
whole per cent, hours to one decimal, money in whole units): what reads the
same is the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from reviews.outcomes import QuarterOutcomes
from slagov import formatting

UP, DOWN, SAME = "up", "down", "same"


@dataclass(frozen=True)
class Trend:
    direction: str | None  # up, down, same; None: nothing to compare
    good: bool | None  # None: the same, or nothing to compare
    words: str  # `up from 3 last quarter`

    @property
    def arrow(self) -> str:
        return {UP: "▲", DOWN: "▼"}.get(self.direction or "", "")


def _share(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(Decimal(1), rounding=ROUND_HALF_UP)


def _hours(value: float | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def hours_text(value: float | Decimal | None) -> str:
    """`4.5 h`, `36 h`: one decimal under ten hours, whole hours above; a dash for none."""
    if value is None:
        return "—"
    return formatting.with_unit(Decimal(str(value)), "hours", 1 if value < 10 else 0)


def _shown(value, unit: str) -> str:
    return hours_text(value) if unit == "hours" else formatting.with_unit(value, unit)


# figure → (its value as shown, whether more is better, its unit)
FIGURES: dict[str, tuple[Callable[[QuarterOutcomes], Decimal | int | None], bool, str]] = {
    "breaches_avoided": (lambda q: q.breaches_avoided, True, ""),
    "breaches": (lambda q: q.breaches, False, ""),
    "breaches_warned": (lambda q: _share(q.breaches_warned, q.breaches), True, "percent"),
    "median_ack_hours": (lambda q: _hours(q.median_ack_hours), False, "hours"),
    "median_resolve_hours": (lambda q: _hours(q.median_resolve_hours), False, "hours"),
    "actions_on_time": (lambda q: _share(q.actions_on_time, q.actions_due), True, "percent"),
}


def _compare(now, before, more_is_better: bool, unit: str) -> Trend:
    if now is None or before is None:
        return Trend(None, None, "nothing to compare with last quarter")
    if now == before:
        return Trend(SAME, None, "the same as last quarter")
    direction = UP if now > before else DOWN
    good = (direction == UP) == more_is_better
    return Trend(direction, good, f"{direction} from {_shown(before, unit)} last quarter")


def _credits(now: dict[str, Decimal], before: dict[str, Decimal]) -> Trend:
    """Credits are the backstop: fewer is better. Each currency on its own."""
    whole = Decimal(1)
    moves = {}
    for currency in sorted(set(now) | set(before)):
        a = now.get(currency, Decimal(0)).quantize(whole, rounding=ROUND_HALF_UP)
        b = before.get(currency, Decimal(0)).quantize(whole, rounding=ROUND_HALF_UP)
        if a != b:
            moves[currency] = (UP if a > b else DOWN, b)
    if not moves:
        return Trend(SAME, None, "the same as last quarter")
    directions = {direction for direction, _ in moves.values()}
    words = "; ".join(
        f"{currency} {direction} from {formatting.number(b, 0)}"
        for currency, (direction, b) in moves.items()
    )
    if len(directions) > 1:
        return Trend(None, None, f"{words} last quarter")
    (direction,) = directions
    return Trend(direction, direction == DOWN, f"{words} last quarter")


def trend(current: QuarterOutcomes, previous: QuarterOutcomes | None) -> dict[str, Trend]:
    """Per figure (the names of `FIGURES`, and `credits`): how it moved since `previous`."""
    out = {}
    for name, (value, more_is_better, unit) in FIGURES.items():
        before = value(previous) if previous is not None else None
        out[name] = _compare(value(current), before, more_is_better, unit)
    if previous is None:
        out["credits"] = Trend(None, None, "nothing to compare with last quarter")
    else:
        out["credits"] = _credits(current.credits, previous.credits)
    return out
