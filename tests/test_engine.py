"""The status engine: colours over time, late data, credits and idempotent recomputation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django_scopes import scopes_disabled

from contracts.models import ServiceLevel
from metrics import engine, services
from metrics.models import PeriodStatus, SlaHealth
from tests import factories


@pytest.fixture
def p1(db):
    """P1 resolution hours, lower is better, 4 h / 8 h, -5 % a year; contract from 2025-01-01."""
    contract = factories.ContractFactory(
        start_date=date(2025, 1, 1), end_date=date(2027, 12, 31), annual_value=Decimal("120000")
    )
    sla = factories.ServiceLevelFactory(
        contract=contract,
        organization=contract.organization,
        unit=ServiceLevel.Unit.HOURS,
        direction="lower",
    )
    terms = factories.TermsFactory(
        service_level=sla,
        organization=contract.organization,
        target=Decimal("4"),
        minimum=Decimal("8"),
        improvement="relative",
        improvement_rate=Decimal("5"),
    )
    factories.CreditTierFactory(
        terms=terms,
        organization=contract.organization,
        worse_than=Decimal("8"),
        percent=Decimal("5"),
    )
    return sla


def _read(sla, period: date, value: str):
    return factories.ReadingFactory(
        service_level=sla, organization=sla.organization, period_start=period, value=Decimal(value)
    )


def _run(sla, today: date) -> int:
    return engine.recompute_service_levels(
        organization_id=sla.organization_id, service_level_ids=[sla.pk], today=today
    )


def _statuses(sla) -> dict[date, PeriodStatus]:
    with scopes_disabled():
        return {s.period_start: s for s in PeriodStatus.objects.filter(service_level=sla)}


def test_value_is_judged_against_the_ratcheted_thresholds_of_its_contract_year(p1):
    _read(p1, date(2025, 6, 1), "3.9")  # year 1: target 4 → green
    _read(p1, date(2026, 6, 1), "3.9")  # year 2: target 3.8 → yellow
    _read(p1, date(2027, 6, 1), "7.3")  # year 3: minimum 7.22 → red
    _run(p1, today=date(2027, 7, 20))
    rows = _statuses(p1)
    assert (rows[date(2025, 6, 1)].colour, rows[date(2025, 6, 1)].target) == ("green", 4)
    assert (rows[date(2026, 6, 1)].colour, rows[date(2026, 6, 1)].target) == (
        "yellow",
        Decimal("3.8"),
    )
    assert rows[date(2027, 6, 1)].target == Decimal("3.61")
    assert (rows[date(2027, 6, 1)].colour, rows[date(2027, 6, 1)].minimum) == (
        "red",
        Decimal("7.22"),
    )


def test_every_period_from_contract_start_has_a_row_and_missing_ones_are_late(p1):
    _read(p1, date(2025, 2, 1), "3")
    _run(p1, today=date(2025, 4, 3))
    rows = _statuses(p1)
    assert sorted(rows) == [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)]
    assert rows[date(2025, 1, 1)].colour == "late"  # deadline 5 Feb passed
    assert rows[date(2025, 2, 1)].colour == "green"
    assert rows[date(2025, 3, 1)].colour == "no_data"  # due by 5 April


def test_missing_data_turns_late_the_day_after_its_deadline(p1):
    _read(p1, date(2025, 1, 1), "3")
    with time_machine.travel(date(2025, 3, 5), tick=False):
        services.statuses_refresh_all()
    assert _statuses(p1)[date(2025, 2, 1)].colour == "no_data"
    with scopes_disabled():
        assert SlaHealth.objects.get(service_level=p1).latest_period == date(2025, 1, 1)
    with time_machine.travel(date(2025, 3, 6), tick=False):
        services.statuses_refresh_all()
    assert _statuses(p1)[date(2025, 2, 1)].colour == "late"
    with scopes_disabled():
        health = SlaHealth.objects.get(service_level=p1)
    assert (health.colour, health.latest_period) == ("late", date(2025, 2, 1))


def test_credits_follow_the_tiers_and_kpis_never_earn_credits(p1):
    _read(p1, date(2025, 1, 1), "9")
    _run(p1, today=date(2025, 2, 10))
    row = _statuses(p1)[date(2025, 1, 1)]
    assert (row.credit_percent, row.credit_amount) == (Decimal("5"), Decimal("500.00"))
    with scopes_disabled():
        ServiceLevel.objects.filter(pk=p1.pk).update(kind=ServiceLevel.Kind.KPI)
    _run(p1, today=date(2025, 2, 10))
    assert _statuses(p1)[date(2025, 1, 1)].credit_amount == 0


def test_recomputing_twice_changes_nothing(p1):
    _read(p1, date(2025, 1, 1), "3")
    assert _run(p1, today=date(2025, 6, 10)) == 5
    before = {k: (v.colour, v.computed_at) for k, v in _statuses(p1).items()}
    assert _run(p1, today=date(2025, 6, 10)) == 0
    assert {k: (v.colour, v.computed_at) for k, v in _statuses(p1).items()} == before


def test_periods_after_a_shortened_contract_end_are_removed(p1):
    _run(p1, today=date(2025, 6, 10))
    with scopes_disabled():
        p1.contract.end_date = date(2025, 2, 28)
        p1.contract.save()
    _run(p1, today=date(2025, 6, 10))
    assert sorted(_statuses(p1)) == [date(2025, 1, 1), date(2025, 2, 1)]
