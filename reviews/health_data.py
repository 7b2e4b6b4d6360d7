"""
Reads for governance health: the facts `reviews.health` judges, gathered for
many contracts at once (ten queries, whatever their number), and the rules
replayed for each of the last months.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Min
from django.utils import timezone

from contracts import periods
from contracts.models import Contract, ServiceLevel
from escalations.models import Escalation
from metrics.engine.terms import deadline
from metrics.models import Reading
from reviews import health
from reviews.models import ActionItem, RelevanceCheck, Review, VendorWarning
from slagov import formatting
from slagov.models import Membership

HISTORY_MONTHS = 6
# Enough history for `HealthHistory.sliding` and `.current` (the last three scores):
# lists that show only those (the portfolio, the leadership view) judge no more months.
SLIDING_MONTHS = 3  # points: the last two month ends and today


@dataclass
class HealthHistory:
    contract: Contract
    months: list[health.GovernanceHealth | None]  # oldest first; the last one is today

    @property
    def current(self) -> health.GovernanceHealth | None:
        return self.months[-1]

    @property
    def scores(self) -> list[int | None]:
        return [h.score if h else None for h in self.months]

    @property
    def sliding(self) -> bool:
        return health.sliding(self.scores)

    @property
    def change(self) -> int | None:
        """Points gained (+) or lost (-) since the end of last month."""
        if len(self.months) < 2 or not (self.months[-1] and self.months[-2]):
            return None
        return self.months[-1].score - self.months[-2].score


def contract_facts(contracts: list[Contract], *, since: date, today: date) -> dict:
    """
    `health.ContractFacts` for each contract, holding what happened up to
    `today` and, for owed data, every period whose deadline falls after `since`.
    """
    ids = [c.pk for c in contracts]
    if not ids:
        return {}
    zone = timezone.get_current_timezone()  # once: each lookup goes through a thread-local

    def _local(moment) -> date | None:  # timezone.localdate(moment)
        return moment.astimezone(zone).date() if moment else None

    by_contract: dict[str, dict[int, list]] = {
        k: defaultdict(list) for k in ("reviews", "actions", "escalations", "warnings")
    }
    # 1. Reviews of the cadence (escalation meetings are firefighting, not governance).
    for cid, created, scheduled, held, state in (
        Review._base_manager.filter(contract_id__in=ids)
        .exclude(kind=Review.Kind.ESCALATION)
        .values_list("contract_id", "created_at", "scheduled_at", "held_at", "state")
    ):
        by_contract["reviews"][cid].append(
            health.ReviewFact(planned_on=_local(created), scheduled_on=_local(scheduled),
                              held_on=_local(held), cancelled=state == Review.State.CANCELLED)
        )  # fmt: skip
    # 2. Action items.
    for cid, due, closed in ActionItem._base_manager.filter(contract_id__in=ids).values_list(
        "contract_id", "due_date", "closed_at"
    ):
        fact = health.ActionFact(due_date=due, closed_on=_local(closed))
        by_contract["actions"][cid].append(fact)
    # 3. Escalations with a due-by.
    for cid, opened, due_by, met, resolved in Escalation._base_manager.filter(
        contract_id__in=ids, due_by__isnull=False
    ).values_list("contract_id", "opened_at", "due_by", "due_met_at", "resolved_at"):
        by_contract["escalations"][cid].append(
            health.EscalationFact(opened_on=_local(opened), due_by=_local(due_by),
                                  met_on=_local(met), resolved_on=_local(resolved))
        )  # fmt: skip
    # 4. Vendor warnings.
    for cid, raised, acked, closed in VendorWarning._base_manager.filter(
        contract_id__in=ids
    ).values_list("contract_id", "raised_at", "acknowledged_at", "closed_at"):
        by_contract["warnings"][cid].append(
            health.WarningFact(raised_on=_local(raised), acknowledged_on=_local(acked),
                               closed_on=_local(closed))
        )  # fmt: skip
    # 5. Active SLAs.
    slas = list(
        ServiceLevel._base_manager.filter(contract_id__in=ids, is_active=True)
        .values_list("pk", "contract_id", "code", "period", "data_start", "created_at")
        .order_by("code")
    )
    # 6. Relevance answers, dated by the meeting they were given at: only a review
    # that was held counts (one planned and never held clears nothing).
    checks: dict[int, list[date]] = defaultdict(list)
    for sla_id, held in RelevanceCheck._base_manager.filter(
        service_level_id__in=[s[0] for s in slas], review__held_at__isnull=False
    ).values_list("service_level_id", "review__held_at"):
        checks[sla_id].append(_local(held))
    # 7. When each period's data first arrived (a correction keeps the first time).
    # A period ends at most a month and DEADLINE_DAYS_MAX (60) days before its deadline.
    first_period = since - timedelta(days=100)
    arrived = {
        (sla_id, start): min(_local(at), _local(first) or _local(at))
        for sla_id, start, at, first in Reading._base_manager.filter(
            service_level_id__in=[s[0] for s in slas], period_start__gte=first_period
        )
        .annotate(first=Min("revisions__submitted_at"))
        .values_list("service_level_id", "period_start", "submitted_at", "first")
    }
    # 8. Owners still active here.
    owners = {c.owner_id for c in contracts if c.owner_id}
    active = set(
        Membership.objects.filter(
            organization_id=contracts[0].organization_id, user_id__in=owners, is_active=True,
            user__is_active=True,
        ).values_list("user_id", flat=True)
    )  # fmt: skip
    contract_of = {c.pk: c for c in contracts}
    sla_facts: dict[int, list] = defaultdict(list)
    due: dict[int, list] = defaultdict(list)
    for pk, cid, code, kind, data_start, created in slas:
        contract = contract_of[cid]
        sla_facts[cid].append(
            health.SlaFact(code=code, added_on=_local(created), checked_on=tuple(checks[pk]))
        )
        due[cid].extend(_owed(pk, code, kind, data_start, contract, since, today, arrived))
    facts = {}
    for c in contracts:
        facts[c.pk] = health.ContractFacts(
            proactive=c.is_proactive,
            cadence_months=3 if c.review_cadence == Contract.Cadence.QUARTERLY else 1,
            start_date=c.start_date,
            end_date=c.end_date,
            owner=c.owner.get_full_name() or c.owner.get_username() if c.owner_id else "",
            owner_active=c.owner_id in active,
            reviews=by_contract["reviews"][c.pk],
            actions=by_contract["actions"][c.pk],
            due=due[c.pk],
            escalations=by_contract["escalations"][c.pk],
            slas=sla_facts[c.pk],
            warnings=by_contract["warnings"][c.pk],
        )
    return facts


def _owed(sla_id, code, kind, data_start, contract, since, today, arrived) -> list:
    """The periods of one SLA whose data was due after `since` (up to today)."""
    if data_start is None:
        return []
    first = max(data_start, periods.period_start(since - timedelta(days=100), kind))
    last = periods.last_closed_period(today, kind)
    out = []
    for start in periods.iter_periods(first, last, kind):
        if start > contract.end_date:
            break
        due_on = deadline(start, kind, contract.submission_deadline_days)
        if due_on <= since:
            continue
        out.append(
            health.DueFact(sla=code, period_label=formatting.period(start, kind),
                           deadline=due_on, received_on=arrived.get((sla_id, start)))
        )  # fmt: skip
    return out


def health_histories(
    contracts: Iterable[Contract], *, today: date | None = None, months: int = HISTORY_MONTHS
) -> dict[int, HealthHistory]:
    """
    Each contract's governance health at the end of each of the last months
    and today (oldest first), in a constant number of queries. The contracts
    need `organization` and `owner` loaded (`select_related`).
    """
    contracts = list(contracts)
    today = today or timezone.localdate()
    days = health.month_ends(today, months)
    facts = contract_facts(contracts, since=days[0] - timedelta(days=health.QUARTER_DAYS),
                           today=today)  # fmt: skip
    return {
        c.pk: HealthHistory(c, [health.health_of(facts[c.pk], d) for d in days]) for c in contracts
    }


def sliding_back(histories: dict[int, HealthHistory]) -> list[HealthHistory]:
    """The contracts whose health fell two months running, the lowest first."""
    found = [h for h in histories.values() if h.sliding]
    return sorted(found, key=lambda h: (h.current.score, h.contract.reference))
