"""
The facts the outcomes are counted from (`reviews.outcomes`), gathered for a
whole organisation in a fixed number of queries, optionally narrowed to some
contracts or one vendor; then the outcomes per quarter, per contract or per
vendor.

Reads run in the caller's scope: on a vendor user's page only their vendor's
rows are there to count. Outside a request, call inside
`slagov.tenancy.tenant_scope(organization)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from contracts import periods
from contracts.models import Contract, ServiceLevel
from contracts.rules import Colour
from escalations import ahead
from escalations.models import Escalation, EscalationEvent, ForecastEpisode
from metrics.models import PeriodStatus
from metrics.selectors import credits_for
from reviews import outcomes
from reviews.models import ActionItem, VendorWarning
from reviews.outcomes import Facts, QuarterOutcomes
from slagov.models import Organization

# Statuses are read from this many months before the first quarter: a breach
# in its first period needs the period before it and the `AHEAD` periods
# whose warnings count.
LEAD_MONTHS = ahead.AHEAD + 1
MAX_ID = 2**63 - 1


def _narrow(rows: QuerySet, contract: str, contract_ids, vendor_id) -> QuerySet:
    """`contract`: the lookup from the rows to their contract."""
    if contract_ids is not None:
        rows = rows.filter(**{f"{contract}_id__in": contract_ids})
    if vendor_id is not None:
        rows = rows.filter(**{f"{contract}__vendor_id": vendor_id})
    return rows


def _ids(values: Iterable, name: str) -> list[int]:
    """Ids as whole numbers, or a ValueError that names the argument."""
    ids = set()
    for value in values:
        try:
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise ValueError
            number = int(value)
        except ValueError:
            raise ValueError(f"{name}: whole numbers only, not {value!r}") from None
        if number < 1:
            raise ValueError(f"{name}: ids start at 1, not {number}")
        if number <= MAX_ID:  # a larger one is no row's: it matches nothing
            ids.add(number)
    return sorted(ids)


def _moment(day: date) -> datetime:
    """Midnight at the start of `day`, in the organisation's time zone."""
    return datetime.combine(day, time(), tzinfo=timezone.get_current_timezone())


def _contracts(organization, contract_ids, vendor_id) -> list[Contract]:
    rows = Contract.objects.filter(organization=organization).only(
        "pk", "vendor_id", "currency", "annual_value", "at_risk_percent", "start_date"
    )
    if contract_ids is not None:
        rows = rows.filter(pk__in=contract_ids)
    if vendor_id is not None:
        rows = rows.filter(vendor_id=vendor_id)
    return list(rows.order_by("pk"))


def _escalations(organization, since: datetime, narrow) -> tuple[list, list]:
    """Performance escalations that may have ended since `since`, and their early warnings."""
    cleared = ForecastEpisode.objects.filter(escalation=OuterRef("pk"), cleared_at__gte=since)
    escalations = narrow(
        Escalation.objects.filter(
            organization=organization, kind=Escalation.Kind.PERFORMANCE
        ).filter(Q(resolved_at__gte=since) | Q(quiet_ended_at__gte=since) | Exists(cleared)),
        "contract",
    )
    facts = []
    for row in escalations.values(
        "pk", "contract_id", "kind", "level", "state", "resolved_at", "reached_red",
        "quiet_level", "quiet_ended_at",
    ):  # fmt: skip
        state, quiet_level = row.pop("state"), row.pop("quiet_level")
        quiet_running = state == Escalation.State.RESOLVED and quiet_level is not None
        facts.append(
            outcomes.EscalationFact(
                **row, quiet_running=quiet_running and row["quiet_ended_at"] is None
            )
        )
    episodes = narrow(
        ForecastEpisode.objects.filter(organization=organization).filter(
            Q(escalation__in=escalations.values("pk"))
            | Q(escalation__isnull=True, cleared_at__gte=since)
        ),
        "contract",
    )
    episode_facts = [
        outcomes.EpisodeFact(*row[:4], breached=row[4] is not None)
        for row in episodes.values_list(
            "pk", "contract_id", "escalation_id", "cleared_at", "breached_period"
        )
    ]
    return facts, episode_facts


def _events(organization, since: datetime, narrow) -> list[outcomes.EventFact]:
    """The timelines of escalations acknowledged or resolved at level 1 or more since `since`."""
    answered = EscalationEvent.objects.filter(
        organization=organization, at__gte=since, level__gte=1,
        kind__in=[EscalationEvent.Kind.ACKNOWLEDGED, EscalationEvent.Kind.RESOLVED],
    ).values("escalation_id")  # fmt: skip
    rows = narrow(
        EscalationEvent.objects.filter(
            organization=organization, escalation_id__in=answered,
            kind__in=sorted(outcomes.TIMELINE_KINDS),
        ),
        "escalation__contract",
    ).order_by("escalation_id", "at", "pk")  # fmt: skip
    return [
        outcomes.EventFact(*row)
        for row in rows.values_list(
            "escalation_id",
            "escalation__contract_id",
            "escalation__opened_at",
            "kind",
            "at",
            "level",
        )
    ]


def _breach_facts(organization, first: date, narrow) -> tuple[list, list]:
    """The periods of SLAs with a red period since `first`, and their warnings."""
    from_day = periods.add_periods(first, periods.Period.MONTHLY, -LEAD_MONTHS)
    red = narrow(
        PeriodStatus.objects.filter(
            organization_id=organization.pk, colour=Colour.RED, period_start__gte=first,
            service_level__kind=ServiceLevel.Kind.SLA,
        ),
        "service_level__contract",
    ).values("service_level_id")  # fmt: skip
    statuses = [
        outcomes.PeriodFact(*row[:4], red=row[4] == Colour.RED, arrived_at=row[5])
        for row in PeriodStatus.objects.filter(
            organization_id=organization.pk,
            service_level_id__in=red,
            period_start__gte=from_day,
        ).values_list(
            "service_level_id",
            "service_level__contract_id",
            "service_level__period",
            "period_start",
            "colour",
            "reading__submitted_at",
        )
    ]
    since = _moment(from_day)
    episodes = ForecastEpisode.objects.filter(
        organization=organization, service_level_id__in=red
    ).filter(Q(cleared_at__isnull=True) | Q(cleared_at__gt=since))
    vendor = VendorWarning.objects.filter(
        organization=organization, service_level_id__in=red
    ).filter(Q(closed_at__isnull=True) | Q(closed_at__gt=since))
    warnings = [
        outcomes.WarningFact(service_level_id=sla, contract_id=c, raised_at=raised, ended_at=end)
        for rows, fields in (
            (episodes, ("service_level_id", "contract_id", "started_at", "cleared_at")),
            (vendor, ("service_level_id", "contract_id", "raised_at", "closed_at")),
        )
        for sla, c, raised, end in rows.values_list(*fields)
    ]
    return statuses, warnings


def outcome_facts(
    *, organization: Organization, first: date, today: date,
    contract_ids: Iterable[int] | None = None, vendor_id: int | None = None,
) -> tuple[Facts, list[Contract]]:  # fmt: skip
    """
    Every fact the outcomes of the quarters from `first` on are counted from, and
    the contracts they belong to (nine queries, whatever the size of the portfolio).
    """
    ids = None if contract_ids is None else _ids(contract_ids, "contract_ids")
    if vendor_id is not None:
        vendor_id = next(iter(_ids([vendor_id], "vendor_id")), 0)  # 0: matches nothing

    def narrow(rows: QuerySet, contract: str) -> QuerySet:
        return _narrow(rows, contract, ids, vendor_id)

    since = _moment(first)
    contracts = _contracts(organization, ids, vendor_id)
    by_pk = {c.pk: c for c in contracts}
    credits = [
        outcomes.CreditFact(pk, month.month, by_pk[pk].currency, month.credited)
        for pk, (months, _) in credits_for(contracts, since=first).items()
        for month in months
    ]
    escalations, episodes = _escalations(organization, since, narrow)
    statuses, warnings = _breach_facts(organization, first, narrow)
    actions = narrow(
        ActionItem.objects.filter(organization=organization, due_date__gte=first,
                                  due_date__lt=today)
        .exclude(state=ActionItem.State.CANCELLED),
        "contract",
    )  # fmt: skip
    facts = Facts(
        escalations=escalations,
        episodes=episodes,
        events=_events(organization, since, narrow),
        periods=statuses,
        warnings=warnings,
        actions=[
            outcomes.ActionFact(contract_id=c, due_date=due, state=state, closed_at=closed)
            for c, due, state, closed in actions.values_list(
                "contract_id", "due_date", "state", "closed_at"
            )
        ],
        credits=credits,
    )
    return facts, contracts


def _gather(organization, today, quarters, contract_ids, vendor_id):
    first = outcomes.quarter_starts(today, quarters)[0]
    return outcome_facts(
        organization=organization, first=first, today=today, contract_ids=contract_ids,
        vendor_id=vendor_id,
    )  # fmt: skip


def outcomes_by_quarter(
    *, organization: Organization, today: date, quarters: int = 4,
    contract_ids: Iterable[int] | None = None, vendor_id: int | None = None,
) -> list[QuarterOutcomes]:  # fmt: skip
    """The outcomes of the last `quarters` quarters up to today's, oldest first."""
    facts, _ = _gather(organization, today, quarters, contract_ids, vendor_id)
    tz = timezone.get_current_timezone()
    return outcomes.by_quarter(facts, today=today, tz=tz, quarters=quarters)


def _split(facts: Facts, keys: dict[int, int], today, quarters) -> dict[int, list]:
    tz = timezone.get_current_timezone()
    parts = facts.split(keys.get)
    return {
        key: outcomes.by_quarter(parts.get(key, Facts()), today=today, tz=tz, quarters=quarters)
        for key in dict.fromkeys(keys.values())
    }


def outcomes_by_contract(
    *, organization: Organization, today: date, quarters: int = 4,
    contract_ids: Iterable[int] | None = None, vendor_id: int | None = None,
) -> dict[int, list[QuarterOutcomes]]:  # fmt: skip
    """Contract id → its outcomes per quarter (every contract asked for, in id order)."""
    facts, contracts = _gather(organization, today, quarters, contract_ids, vendor_id)
    return _split(facts, {c.pk: c.pk for c in contracts}, today, quarters)


def outcomes_by_vendor(
    *, organization: Organization, today: date, quarters: int = 4,
    contract_ids: Iterable[int] | None = None, vendor_id: int | None = None,
) -> dict[int, list[QuarterOutcomes]]:  # fmt: skip
    """Vendor id → the outcomes of its contracts per quarter (vendors with a contract)."""
    facts, contracts = _gather(organization, today, quarters, contract_ids, vendor_id)
    return _split(facts, {c.pk: c.vendor_id for c in contracts}, today, quarters)
