"""
When a breach counts as warned ahead: the one rule, for the back-test's
replay (`escalations.backtest.score`) and for the outcomes leadership reads
(`reviews.outcomes`). Pure: lists of flags, one per period, oldest first.

- A **breach** is a red period after one that was not red (or the first
  period there is).
- A warning is **on** at a period when it was open at some time after that
  period's data came in and before the next period's did; a flag at a period
  that was itself red warns of nothing ahead (the breach was already there).
- A breach at period t was **warned ahead** when a warning was on at one of
  the `AHEAD` periods before it (t-1, t-2, t-3); the **lead** is how many
  periods before it the first of those was.
"""

from __future__ import annotations

from collections.abc import Sequence

AHEAD = 3  # periods


def breaches(red: Sequence[bool]) -> list[int]:
    """The indexes of the periods that start a red run."""
    return [i for i, r in enumerate(red) if r and (i == 0 or not red[i - 1])]


def warned_lead(red: Sequence[bool], on: Sequence[bool], t: int) -> int | None:
    """How many periods ahead of the breach at `t` a warning was first on (None: not warned)."""
    for k in range(AHEAD, 0, -1):
        i = t - k
        if i >= 0 and on[i] and not red[i]:
            return k
    return None
