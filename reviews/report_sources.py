"""
What the scorecards and the monthly report show that is computed elsewhere:
governance health, outcomes by quarter, unclaimed service credits. Each is one
call here, so every page, PDF and e-mail asks in one place.

A page, PDF or e-mail leaves out the section of a source that answers None.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from metrics import ledger
from reviews import health_data, outcomes_data


def governance_health(contracts: Iterable, *, today: date) -> dict | None:
    """
    Per contract id, its governance health history (`reviews.health_data.HealthHistory`:
    `.current.score`, `.current.findings`, `.months`, `.sliding`). The contracts need
    `organization` and `owner` loaded.
    """
    return health_data.health_histories(contracts, today=today)


def sliding_back(histories: dict | None) -> list | None:
    """The contracts whose governance health fell two months running, the lowest first."""
    return None if histories is None else health_data.sliding_back(histories)


def outcomes(
    *, organization, today: date, contract_ids: list[int] | None = None,
    vendor_id: int | None = None,
) -> list | None:  # fmt: skip
    """The outcomes of the last four quarters up to `today`'s, oldest first (`QuarterOutcomes`)."""
    return outcomes_data.outcomes_by_quarter(
        organization=organization, today=today, contract_ids=contract_ids, vendor_id=vendor_id
    )


def unclaimed_credits(
    *, organization_id: int, today: date, contract_ids: list[int] | None = None
) -> object | None:
    """Service credits assessed and not yet claimed, by age (`metrics.ledger.UnclaimedSummary`)."""
    return ledger.unclaimed_summary(
        organization_id=organization_id, today=today, contract_ids=contract_ids
    )
