"""
Scoring warnings against what happened, per signal. Pure: no database.

For one series, a signal is a flag per period (`on[i]`: raised when period i's
data was in, before period i+1's) and its alerts (`alerts`: the periods at
which a person was told; for a flag, each period it goes from off to on).

- A **breach** and whether it was **warned ahead** (the flag on at one of
  the 1-3 periods before it), with its **lead**: `escalations.ahead`, the
  rule the outcomes count breaches with too.
- An alert is **true** when a breach follows within 3 periods, else a
  **false alarm**; **precision** is true alerts over all alerts.
- Breaches are grouped: `drift` (at least two periods of drift before it, by
  the series' story), `jump` (a sudden jump: can't be forecast) and `other`
  (noise around the target).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from escalations.ahead import AHEAD, breaches, warned_lead


@dataclass(frozen=True)
class Signal:
    on: list[bool]
    alerts: list[int]

    @classmethod
    def of_flags(cls, on: list[bool]) -> Signal:
        alerts = [i for i, f in enumerate(on) if f and (i == 0 or not on[i - 1])]
        return cls(list(on), alerts)


def breach_group(series, t: int, earlier: list[int] = ()) -> str:
    """
    `drift` when the series' story drifted for at least two periods before the
    breach and this is its first breach since (a relapse from a level that now
    sits at the minimum is noise, `other`).
    """
    if series.archetype == "jump":
        return "jump"
    start = series.drift_start
    if start is not None and t - start >= 2 and not any(start <= e < t for e in earlier):
        return "drift"
    return "other"


@dataclass
class Tally:
    breaches: Counter = field(default_factory=Counter)  # group → count
    warned: Counter = field(default_factory=Counter)  # group → warned ahead
    leads: dict = field(default_factory=dict)  # group → [lead, …]
    alerts: int = 0
    true_alerts: int = 0
    false_by_archetype: Counter = field(default_factory=Counter)
    series_by_archetype: Counter = field(default_factory=Counter)

    def add(self, series, red: list[bool], signal: Signal) -> None:
        self.series_by_archetype[series.archetype] += 1
        onsets = breaches(red)
        for t in onsets:
            group = breach_group(series, t, onsets)
            self.breaches[group] += 1
            lead = warned_lead(red, signal.on, t)
            if lead is not None:
                self.warned[group] += 1
                self.leads.setdefault(group, []).append(lead)
        for a in signal.alerts:
            if a + AHEAD >= len(red):
                continue  # too close to the end to know what followed
            self.alerts += 1
            if any(a < t <= a + AHEAD for t in onsets):
                self.true_alerts += 1
            else:
                self.false_by_archetype[series.archetype] += 1

    def recall(self, group: str = "drift") -> float | None:
        total = self.breaches[group]
        return self.warned[group] / total if total else None

    @property
    def precision(self) -> float | None:
        return self.true_alerts / self.alerts if self.alerts else None

    def median_lead(self, group: str = "drift") -> float | None:
        leads = self.leads.get(group)
        return statistics.median(leads) if leads else None


def line_flags(values: list[float], minimum: float, higher_is_better: bool) -> list[bool]:
    """
    The naive baseline: a straight line (least squares) through the last 4
    values says the next period is worse than the minimum.
    """
    flags = []
    for i in range(len(values)):
        window = values[max(0, i - 3) : i + 1]
        if len(window) < 4:
            flags.append(False)
            continue
        mean_y = sum(window) / 4
        slope = sum((x - 1.5) * (y - mean_y) for x, y in enumerate(window)) / 5
        nxt = mean_y + slope * 2.5
        flags.append(nxt < minimum if higher_is_better else nxt > minimum)
    return flags


def reds(values: list[float], minimum: float, higher_is_better: bool) -> list[bool]:
    return [v < minimum if higher_is_better else v > minimum for v in values]


@dataclass(frozen=True)
class Row:
    name: str
    tally: Tally

    def cells(self) -> list[str]:
        t = self.tally
        recall = t.recall("drift")
        precision = t.precision
        lead = t.median_lead("drift")
        false = ", ".join(f"{k} {v}" for k, v in sorted(t.false_by_archetype.items())) or "none"
        return [
            self.name,
            "—" if recall is None else f"{recall:.2f} ({t.warned['drift']}/{t.breaches['drift']})",
            "—" if precision is None else f"{precision:.2f} ({t.true_alerts}/{t.alerts})",
            "—" if lead is None else f"{lead:g}",
            f"{t.warned['jump']}/{t.breaches['jump']}",
            false,
        ]


HEADER = [
    "signal",
    "recall, drift breaches",
    "precision",
    "median lead",
    "jumps warned",
    "false alarms by archetype",
]


def render_table(rows: list[Row]) -> str:
    cells = [HEADER] + [row.cells() for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
