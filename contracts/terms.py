"""
The terms in force for a period: an SLA's terms ordered by effective date,
the improvement ratchet by contract year (the rules in `contracts.rules`).
Shared by the status engine, the upload preview, the pages and the API.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from contracts import rules
from contracts.models import CreditTier, ServiceLevel, ServiceLevelTerms


@dataclass(frozen=True)
class TermsInForce:
    terms_id: int
    effective_from: date
    spec: rules.Terms
    tiers: list[rules.CreditTier]


class TermsTimeline:
    """The terms of one SLA ordered by effective date; the first also covers earlier periods."""

    def __init__(
        self,
        terms: Iterable[ServiceLevelTerms],
        contract_start: date,
        unit: str | None = None,
        *,
        with_tiers: bool = True,
    ):
        # Without tiers (thresholds only) no credit tier is read: none is needed.
        self.items = sorted(
            (
                TermsInForce(
                    t.pk, t.effective_from, t.spec(unit), t.credit_spec() if with_tiers else []
                )
                for t in terms
            ),
            key=lambda t: t.effective_from,
        )
        self.dates = [t.effective_from for t in self.items]
        self.contract_start = contract_start

    def __bool__(self) -> bool:
        return bool(self.items)

    def at(self, day: date) -> TermsInForce | None:
        index = rules.terms_index(self.dates, day)
        return None if index is None else self.items[index]

    def steps(self, terms: TermsInForce, day: date) -> int:
        """Contract years of improvement between the terms taking effect and `day`."""
        return rules.improvement_steps(self.contract_start, terms.effective_from, day)

    def thresholds(
        self, day: date, ratchets: dict | None = None
    ) -> tuple[rules.Thresholds, TermsInForce] | None:
        """
        Thresholds in force on `day`, after the improvement ratchet. `ratchets`, shared
        by many timelines, keeps each distinct (terms, steps) computed once.
        """
        terms = self.at(day)
        if terms is None:
            return None
        key = (terms.spec, self.steps(terms, day))
        if ratchets is None:
            return rules.thresholds_in_force(*key), terms
        if key not in ratchets:
            ratchets[key] = rules.thresholds_in_force(*key)
        return ratchets[key], terms


def timelines_for(slas: Iterable[ServiceLevel]) -> dict[int, TermsTimeline]:
    """
    The terms timeline of each SLA (their contracts loaded), in two queries. The
    credit tiers are attached to their terms here: a prefetch would build a
    queryset per terms row, most of the cost for 1,000s of SLAs.
    """
    slas = list(slas)
    ids = [sla.pk for sla in slas]
    tiers: dict[int, list[CreditTier]] = defaultdict(list)
    for tier in CreditTier.objects.filter(terms__service_level_id__in=ids):
        tiers[tier.terms_id].append(tier)
    terms: dict[int, list[ServiceLevelTerms]] = {pk: [] for pk in ids}
    for t in ServiceLevelTerms.objects.filter(service_level_id__in=ids):
        t._prefetched_objects_cache = {"credit_tiers": tiers.get(t.pk, [])}
        terms[t.service_level_id].append(t)
    return {sla.pk: TermsTimeline(terms[sla.pk], sla.contract.start_date, sla.unit) for sla in slas}


def thresholds_for(
    slas: Iterable[ServiceLevel], day_of: Callable[[ServiceLevel], date]
) -> dict[int, tuple[rules.Thresholds, TermsInForce] | None]:
    """
    `TermsTimeline.thresholds` of many SLAs at once (each with `all_terms` and its
    contract loaded), on each one's day: SLAs on the same terms and contract year
    share one ratchet computation. No query.
    """
    ratchets: dict = {}
    return {
        sla.pk: TermsTimeline(
            sla.all_terms, sla.contract.start_date, sla.unit, with_tiers=False
        ).thresholds(day_of(sla), ratchets)
        for sla in slas
    }
