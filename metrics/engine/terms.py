"""The dates every engine path shares; the terms in force are `contracts.terms`'."""

from __future__ import annotations

from datetime import date, timedelta

from contracts import periods
from contracts.terms import TermsInForce, TermsTimeline, timelines_for

__all__ = ["TermsInForce", "TermsTimeline", "deadline", "timelines_for"]


def deadline(period_start: date, kind: str, deadline_days: int) -> date:
    """The last day on which data for the period is on time."""
    return periods.period_end(period_start, kind) + timedelta(days=deadline_days - 1)
