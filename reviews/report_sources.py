"""
What the scorecards and the monthly report show that is computed elsewhere:
governance health, outcomes by quarter, unclaimed service credits. Each is one
call here, so every page, PDF and e-mail asks in one place.

A source slagov doesn't compute yet answers None, and the pages, PDFs and
e-mails leave its section out (they never show a made-up figure).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date


def governance_health(contracts: Iterable, *, today: date) -> dict | None:
    """
    Per contract id, its governance health history (`.current.score`,
    `.current.findings`, `.months`, `.sliding`); None while not computed.
    """
    return None


def sliding_back(histories: dict | None) -> list | None:
    """The contracts whose governance health is sliding back, worst first; None without it."""
    return None


def outcomes(
    *, organization, today: date, contract_ids: list[int] | None = None,
    vendor_id: int | None = None,
) -> list | None:  # fmt: skip
    """The outcomes of the last quarters, oldest first (`QuarterOutcomes`); None until computed."""
    return None


def unclaimed_credits(
    *, organization_id: int, today: date, contract_ids: list[int] | None = None
) -> object | None:
    """Service credits assessed and not yet claimed, by age; None while not computed."""
    return None
