"""
Governance health as the lists show it (the portfolio, the leadership view),
worked out once for all of an organisation's contracts and kept in the cache
until something it reads changes.

`health_data.health_histories` stays the one computation; this module keeps
only what the lists show of it (the last scores, today's findings, the
contract's reference, title and vendor), keyed on the organisation, its change
stamp, today's date, the months judged, the time zone and the language
(`slagov.change_marks.cached`). The stamp is the count and the highest id of
the organisation's `slagov.ChangeMark` rows, which triggers append on every
write to what health reads (PostgreSQL only: on SQLite, the embedded demo's
small data, nothing is cached).

A cached value holds every contract of one organisation; a page picks the
contracts its own (scoped) query selected, so a vendor's user sees only the
contracts it may see.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from contracts.models import Contract
from reviews import health
from reviews.health_data import SLIDING_MONTHS, HealthHistory, health_histories, sliding_back
from slagov import change_marks


@dataclass(frozen=True)
class ContractLabel:
    """What a list shows of a contract beside its health."""

    pk: int
    reference: str
    title: str
    vendor_name: str


@dataclass(frozen=True)
class HealthSummary:
    """A contract's health as the lists show it: `HealthHistory` cut to its last scores."""

    contract: ContractLabel
    scores: tuple[int | None, ...]  # oldest first; the last one is today
    current: health.GovernanceHealth | None

    @property
    def sliding(self) -> bool:
        return health.sliding(self.scores)

    @property
    def change(self) -> int | None:
        if len(self.scores) < 2 or self.scores[-1] is None or self.scores[-2] is None:
            return None
        return self.scores[-1] - self.scores[-2]


def _encode(history: HealthHistory) -> tuple:
    """Plain tuples and strings: cheap to pickle and to read back."""
    c = history.contract
    current = history.current
    findings = tuple((str(f.rule), f.points, f.words) for f in current.findings) if current else ()
    proactive = current.proactive if current else True
    return (c.reference, c.title, c.vendor.name, tuple(history.scores), proactive, findings)


def _decode(pk: int, row: tuple, today: date) -> HealthSummary:
    reference, title, vendor_name, scores, proactive, findings = row
    current = None
    if scores[-1] is not None:
        current = health.GovernanceHealth(
            as_of=today,
            score=scores[-1],
            findings=tuple(health.Finding(health.Rule(r), p, w) for r, p, w in findings),
            proactive=proactive,
        )
    return HealthSummary(ContractLabel(pk, reference, title, vendor_name), scores, current)


def _compute(contracts, today: date, months: int) -> dict[int, tuple]:
    histories = health_histories(contracts, today=today, months=months)
    return {pk: _encode(h) for pk, h in histories.items()}


def _all_contracts(organization_id: int):
    return Contract._base_manager.filter(organization_id=organization_id).select_related(
        "organization", "owner", "vendor"
    )


class HealthTable:
    """The encoded summaries of some contracts, decoded only for those a list shows."""

    def __init__(self, rows: dict[int, tuple], today: date):
        self.rows = rows
        self.today = today

    def of(self, contract_ids: Collection[int]) -> dict[int, HealthSummary]:
        rows, today = self.rows, self.today
        return {pk: _decode(pk, rows[pk], today) for pk in contract_ids if pk in rows}

    def sliding_back(self, contract_ids: Collection[int] | None = None) -> list[HealthSummary]:
        """Of these contracts (all by default), those sliding back, the lowest first."""
        ids = self.rows if contract_ids is None else contract_ids
        return sliding_back(
            self.of([pk for pk in ids if pk in self.rows and health.sliding(self.rows[pk][3])])
        )


def health_table(
    *,
    organization_id: int,
    contract_ids: Collection[int] | None = None,
    today: date | None = None,
    months: int = SLIDING_MONTHS,
) -> HealthTable:
    """
    The health of `contract_ids` (ids the caller's scoped query selected) or of
    every contract of the organisation (None). From the cache when nothing that
    health reads has changed since it was worked out; then it holds every
    contract of the organisation, and `HealthTable.of` picks.
    """
    today = today or timezone.localdate()
    if change_marks.caching():
        rows = change_marks.cached(
            f"health:v1:{months}",
            organization_id,
            today,
            lambda: _compute(_all_contracts(organization_id), today, months),
        )
        return HealthTable(rows, today)
    contracts = _all_contracts(organization_id)
    if contract_ids is not None:
        contracts = contracts.filter(pk__in=list(contract_ids))
    return HealthTable(_compute(contracts, today, months), today)
