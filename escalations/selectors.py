"""Reads for escalations."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.rules import Colour
from escalations.models import Escalation, ForecastEpisode
from metrics.models import SlaHealth
from slagov.models import Organization


@dataclass(frozen=True)
class LeadershipSummary:
    open: list[Escalation]  # highest level first, then oldest
    reds: list[SlaHealth]  # by contract
    overdue: list[Escalation]


def leadership_summary(*, organization: Organization) -> LeadershipSummary:
    """What leadership looks at: open escalations, red SLAs, what is overdue (two queries)."""
    open_escalations = list(
        Escalation.objects.filter(organization=organization)
        .exclude(state=Escalation.State.RESOLVED)
        .select_related("service_level", "contract__vendor")
        .order_by("-level", "opened_at")
    )
    reds = list(
        SlaHealth.objects.filter(
            organization=organization, colour=Colour.RED, service_level__is_active=True
        )
        .select_related("service_level__contract__vendor")
        .order_by("service_level__contract__reference")
    )
    return LeadershipSummary(
        open=open_escalations, reds=reds, overdue=[e for e in open_escalations if e.overdue]
    )


def open_escalations(*, contract=None, service_level=None) -> list[Escalation]:
    """The open escalations of a contract or an SLA (in the request's scope), highest first."""
    rows = Escalation.objects.exclude(state=Escalation.State.RESOLVED)
    if contract is not None:
        rows = rows.filter(contract=contract)
    if service_level is not None:
        rows = rows.filter(service_level=service_level)
    return list(rows.select_related("service_level").order_by("-level", "opened_at"))


def open_forecast(*, service_level) -> ForecastEpisode | None:
    """The SLA's running breach forecast episode, if any."""
    return ForecastEpisode.objects.filter(
        service_level=service_level, cleared_at__isnull=True
    ).first()
