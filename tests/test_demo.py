"""The demo data tells the seeds' stories, and loading it twice changes nothing."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django_scopes import scopes_disabled

from contracts.models import Contract, ServiceLevel
from metrics.models import PeriodStatus, Reading, SlaHealth
from slagov.demo import seed
from slagov.models import Membership

TODAY = date(2026, 11, 25)


@pytest.fixture
def demo(db):
    seed(today=TODAY)


def _sla(reference: str, code: str) -> ServiceLevel:
    return ServiceLevel.objects.get(contract__reference=reference, code=code)


def _last(sla, n: int) -> list[PeriodStatus]:
    return list(PeriodStatus.objects.filter(service_level=sla).order_by("-period_start")[:n])[::-1]


@scopes_disabled()
def test_seed_is_idempotent(demo):
    counts = (Contract.objects.count(), Reading.objects.count(), PeriodStatus.objects.count())
    seed(today=TODAY)
    assert (
        Contract.objects.count(),
        Reading.objects.count(),
        PeriodStatus.objects.count(),
    ) == counts


@scopes_disabled()
def test_northwind_has_twelve_contracts_some_in_compliance_mode(demo):
    contracts = list(
        Contract.objects.filter(organization__slug="northwind").select_related("organization")
    )
    assert len(contracts) == 12
    assert len({c.vendor_id for c in contracts}) == 4
    modes = {c.reference: c.effective_mode for c in contracts}
    assert modes["NW-FLT-002"] == "compliance"  # commodity, under 50,000
    assert modes["NW-NET-003"] == "compliance"  # adversarial
    assert modes["NW-ITO-001"] == "proactive"
    for contract in contracts:
        assert 4 <= ServiceLevel.objects.filter(contract=contract).count() <= 6


@scopes_disabled()
def test_creeping_mttr_is_still_green_but_rising_three_periods(demo):
    statuses = _last(_sla("NW-FLT-001", "mttr"), 4)
    assert [s.colour for s in statuses[1:]] == ["green", "green", "green"]
    values = [s.value for s in statuses]
    assert values[0] < values[1] < values[2] < values[3]


@scopes_disabled()
def test_availability_dip_turns_red_with_credits(demo):
    sla = _sla("NW-NET-001", "avail")
    yellow, red = _last(sla, 2)
    assert (yellow.colour, red.colour) == ("yellow", "red")
    assert red.credit_percent == 10
    assert red.credit_amount > 0
    assert SlaHealth.objects.get(service_level=sla).colour == "red"


@scopes_disabled()
def test_backlog_surge_precedes_the_resolution_breach(demo):
    backlog = _last(_sla("NW-ITO-001", "backlog"), 6)
    assert backlog[-1].value > backlog[0].value
    assert backlog[-1].colour == "red"
    assert [s.colour for s in _last(_sla("NW-ITO-001", "p1-res"), 3)] == ["yellow", "yellow", "red"]


@scopes_disabled()
def test_one_vendor_login_serves_two_customers(demo):
    sam = get_user_model().objects.get(username="sam")
    orgs = set(Membership.objects.filter(user=sam).values_list("organization__slug", "role"))
    assert orgs == {("northwind", "vendor"), ("globex", "vendor")}
    roles = set(
        Membership.objects.filter(organization__slug="globex").values_list("role", flat=True)
    )
    assert roles == {"admin", "account_manager", "leadership", "vendor"}


@scopes_disabled()
def test_the_stories_escalate(demo):
    from escalations.models import Escalation

    def escalation(reference, code):
        return Escalation.objects.get(
            service_level__contract__reference=reference,
            service_level__code=code,
            state="open",
            kind="performance",
        )

    assert escalation("NW-NET-001", "avail").level == 2  # the dip reaches leadership
    mttr = escalation("NW-FLT-001", "mttr")  # still green: an early warning first
    assert mttr.level == 0
    assert "forecast to turn red" in mttr.reason
