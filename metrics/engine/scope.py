"""Which periods a recompute touches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Scope:
    """
    Every period of the SLAs (the default); the periods from `since` on (after a
    renegotiation effective then); or exactly the given periods per SLA (after
    a submission).
    """

    since: date | None = None
    periods: dict[int, frozenset[date]] | None = None

    def includes(self, sla_id: int, period_start: date) -> bool:
        if self.periods is not None:
            return period_start in self.periods.get(sla_id, ())
        return self.since is None or period_start >= self.since

    @classmethod
    def of_pairs(cls, pairs) -> Scope:
        grouped: dict[int, set[date]] = {}
        for sla_id, start in pairs:
            if isinstance(start, str):
                start = date.fromisoformat(start)
            grouped.setdefault(int(sla_id), set()).add(start)
        return cls(periods={k: frozenset(v) for k, v in grouped.items()})
