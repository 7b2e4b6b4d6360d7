"""The dates every engine path shares; the terms in force are `contracts.terms`'."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from contracts import periods
from contracts.models import CreditTier, ServiceLevel, ServiceLevelTerms
from contracts.terms import TermsInForce, TermsTimeline, timelines_for

__all__ = ["TermsInForce", "TermsTimeline", "deadline", "load_timelines", "timelines_for"]


def deadline(period_start: date, kind: str, deadline_days: int) -> date:
    """The last day on which data for the period is on time."""
    return periods.period_end(period_start, kind) + timedelta(days=deadline_days - 1)


def load_timelines(organization_id: int, slas: list[ServiceLevel]) -> dict[int, TermsTimeline]:
    """
    `timelines_for` for a chunk of SLAs in two plain queries: the credit tiers
    are attached to their terms here, where a prefetch builds a queryset per
    terms row (most of the cost for 1,000s of SLAs). Loaded once per chunk for
    the statuses and the health.
    """
    ids = [s.pk for s in slas]
    terms: dict[int, list[ServiceLevelTerms]] = {pk: [] for pk in ids}
    tiers: dict[int, list[CreditTier]] = defaultdict(list)
    for tier in CreditTier.objects.filter(
        organization_id=organization_id, terms__service_level_id__in=ids
    ):
        tiers[tier.terms_id].append(tier)
    for t in ServiceLevelTerms.objects.filter(
        organization_id=organization_id, service_level_id__in=ids
    ):
        t._prefetched_objects_cache = {"credit_tiers": tiers.get(t.pk, [])}
        terms[t.service_level_id].append(t)
    return {sla.pk: TermsTimeline(terms[sla.pk], sla.contract.start_date, sla.unit) for sla in slas}
