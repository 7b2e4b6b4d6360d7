"""
Recomputation is exact and minimal: a late reading, a corrected reading or a
renegotiated target changes exactly the periods it should and leaves every
other row as it was (not even rewritten).
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django_scopes import scopes_disabled

from contracts import periods as p
from contracts.models import ServiceLevel
from metrics import engine
from metrics.engine import postgres, python
from metrics.engine.scope import Scope
from metrics.models import PeriodStatus, SlaHealth
from tests import factories
from tests.conftest import require_service

TODAY = date(2026, 7, 3)  # June is due by 5 July: not late yet
pytestmark = pytest.mark.django_db


@pytest.fixture
def sla():
    """Monthly availability 99.9 / 99.5 from 2026-01; credits below 99.9 (5 %) and 99.5 (10 %)."""
    contract = factories.ContractFactory(
        start_date=date(2026, 1, 1),
        end_date=date(2027, 12, 31),
        annual_value=Decimal("120000"),
        at_risk_percent=12,
    )
    sla = factories.ServiceLevelFactory(contract=contract, organization=contract.organization)
    terms = factories.TermsFactory(service_level=sla, organization=sla.organization)
    factories.CreditTierFactory(
        terms=terms, organization=sla.organization, worse_than=Decimal("99.9"), percent=Decimal("5")
    )
    factories.CreditTierFactory(
        terms=terms,
        organization=sla.organization,
        worse_than=Decimal("99.5"),
        percent=Decimal("10"),
    )
    for month, value in [(1, "99.95"), (2, "99.7"), (4, "99.2"), (5, "99.99")]:  # March missing
        factories.ReadingFactory(
            service_level=sla,
            organization=sla.organization,
            period_start=date(2026, month, 1),
            value=Decimal(value),
        )
    return sla


def run(sla, scope=None, today=TODAY) -> int:
    return engine.recompute(
        organization_id=sla.organization_id, service_level_ids=[sla.pk], scope=scope, today=today
    )


def snapshot(sla) -> dict[date, tuple]:
    with scopes_disabled():
        return {
            s.period_start: (s.colour, s.value, s.target, s.credit_amount, s.computed_at)
            for s in PeriodStatus.objects.filter(service_level=sla)
        }


def changed(before: dict, after: dict) -> set[date]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def test_first_run_colours_every_period_and_credits(sla):
    run(sla)
    rows = snapshot(sla)
    assert {k: v[0] for k, v in rows.items()} == {
        date(2026, 1, 1): "green",
        date(2026, 2, 1): "yellow",
        date(2026, 3, 1): "late",
        date(2026, 4, 1): "red",
        date(2026, 5, 1): "green",
        date(2026, 6, 1): "no_data",
    }
    assert rows[date(2026, 2, 1)][3] == Decimal("500.00")  # 5 % of 10,000
    assert rows[date(2026, 4, 1)][3] == Decimal("1000.00")  # 10 %


def test_running_twice_changes_nothing(sla):
    run(sla)
    before = snapshot(sla)
    assert run(sla) == 0
    assert snapshot(sla) == before


def test_a_late_reading_changes_only_its_period(sla):
    run(sla)
    before = snapshot(sla)
    factories.ReadingFactory(
        service_level=sla,
        organization=sla.organization,
        period_start=date(2026, 3, 1),
        value=Decimal("99.6"),
    )
    assert run(sla, Scope.of_pairs([(sla.pk, date(2026, 3, 1))])) == 1
    after = snapshot(sla)
    assert changed(before, after) == {date(2026, 3, 1)}
    assert after[date(2026, 3, 1)][0] == "yellow"


def test_a_corrected_reading_changes_only_its_period(sla):
    run(sla)
    before = snapshot(sla)
    with scopes_disabled():
        sla.readings.filter(period_start=date(2026, 4, 1)).update(
            value=Decimal("99.95"), revision=2
        )
    run(sla, Scope.of_pairs([(sla.pk, date(2026, 4, 1))]))
    after = snapshot(sla)
    assert changed(before, after) == {date(2026, 4, 1)}
    assert after[date(2026, 4, 1)][:2] == ("green", Decimal("99.95"))
    assert after[date(2026, 4, 1)][3] == 0  # no credit any more


def test_renegotiated_target_in_the_past_fixes_exactly_the_later_periods(sla):
    run(sla)
    before = snapshot(sla)
    factories.TermsFactory(
        service_level=sla,
        organization=sla.organization,
        effective_from=date(2026, 4, 1),
        target=Decimal("99.0"),
        minimum=Decimal("98.0"),
    )
    run(sla, Scope(since=date(2026, 4, 1)))
    after = snapshot(sla)
    # April (99.2) turns green under the new terms; May was green already (same colour,
    # but its target in force changes); the periods before April are untouched.
    assert changed(before, after) == {date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)}
    assert after[date(2026, 4, 1)][:3] == ("green", Decimal("99.2"), Decimal("99"))
    assert after[date(2026, 4, 1)][3] == 0  # the new terms have no credit tiers
    for month in (1, 2, 3):
        assert after[date(2026, month, 1)] == before[date(2026, month, 1)]


def test_missing_period_turns_late_by_the_passing_of_time_only(sla):
    run(sla, today=date(2026, 7, 5))
    assert snapshot(sla)[date(2026, 6, 1)][0] == "no_data"
    run(sla, Scope(since=date(2026, 6, 1)), today=date(2026, 7, 6))
    assert snapshot(sla)[date(2026, 6, 1)][0] == "late"


def test_a_gap_before_the_data_start_is_never_late_and_its_readings_count(sla):
    with scopes_disabled():
        ServiceLevel.objects.filter(pk=sla.pk).update(data_start=date(2026, 4, 1))
    run(sla, today=date(2026, 12, 1))
    colours = {k: v[0] for k, v in snapshot(sla).items()}
    assert [colours[date(2026, month, 1)] for month in range(1, 12)] == [
        "green", "yellow", "no_data",  # before the data start: backfilled, or never late
        "red", "green", "late", "late", "late", "late", "late",
        "no_data",  # November: due 5 December
    ]  # fmt: skip
    with scopes_disabled():
        ServiceLevel.objects.filter(pk=sla.pk).update(data_start=date(2026, 3, 1))
    run(sla, today=date(2026, 12, 1))
    assert snapshot(sla)[date(2026, 3, 1)][0] == "late"


def test_weekly_sla_with_absolute_improvement_over_contract_years(db):
    contract = factories.ContractFactory(start_date=date(2025, 3, 3), end_date=date(2027, 12, 31))
    sla = factories.ServiceLevelFactory(
        contract=contract, organization=contract.organization, period="weekly"
    )
    factories.TermsFactory(
        service_level=sla,
        organization=sla.organization,
        target=Decimal("99.8"),
        minimum=Decimal("99.5"),
        improvement="absolute",
        improvement_rate=Decimal("0.1"),
        improvement_bound=Decimal("99.95"),
    )
    # Contract year 1 until 2026-03-02; year 2 from the week of 2026-03-02... ISO Mondays.
    for monday, value in [
        (date(2026, 2, 23), "99.85"),
        (date(2026, 3, 9), "99.85"),
        (date(2027, 3, 8), "99.96"),
    ]:
        factories.ReadingFactory(
            service_level=sla,
            organization=sla.organization,
            period_start=monday,
            value=Decimal(value),
        )
    engine.recompute(
        organization_id=sla.organization_id, service_level_ids=[sla.pk], today=date(2027, 3, 20)
    )
    rows = snapshot(sla)
    assert rows[date(2026, 2, 23)][:3] == ("green", Decimal("99.85"), Decimal("99.8"))
    assert rows[date(2026, 3, 9)][:3] == ("yellow", Decimal("99.85"), Decimal("99.9"))
    assert rows[date(2027, 3, 8)][:3] == ("green", Decimal("99.96"), Decimal("99.95"))  # bound


def test_health_follows_the_latest_period_and_trend(sla):
    run(sla)
    with scopes_disabled():
        health = SlaHealth.objects.get(service_level=sla)
    # June has no data yet (before its deadline): the latest shown is May.
    assert (health.colour, health.latest_period) == ("green", date(2026, 5, 1))
    assert health.points == 4
    assert health.enough_data
    assert len(health.forecast) == 3
    assert health.forecast[0]["period"] == "2026-06-01"


def _random_data_start(rng: random.Random, contract_start: date, kind: str) -> date:
    """The contract's first period, or any period up to a few after TODAY."""
    first = p.first_period_of_term(contract_start, kind)
    if rng.random() < 0.25:
        return first
    last = p.add_periods(p.period_start(TODAY, kind), kind, 3)
    return p.add_periods(first, kind, rng.randint(0, p.periods_between(first, last, kind)))


def _random_world(seed: int) -> list[ServiceLevel]:
    """
    Monthly and weekly SLAs, renegotiations, both improvement modes, tiers, gaps,
    KPIs, data owed from the contract's start or from a later period.
    """
    rng = random.Random(seed)
    org = factories.OrganizationFactory()
    slas = []
    for n in range(12):
        contract = factories.ContractFactory(
            organization=org,
            vendor=factories.VendorFactory(organization=org),
            start_date=date(2024, rng.randint(1, 12), rng.randint(1, 28)),
            end_date=date(2027, 6, 30),
            submission_deadline_days=rng.randint(1, 10),
            annual_value=Decimal(rng.randint(10_000, 900_000)),
        )
        direction = rng.choice(["higher", "lower"])
        kind = rng.choice(["monthly", "weekly"])
        sla = factories.ServiceLevelFactory(
            contract=contract,
            organization=org,
            direction=direction,
            unit="percent" if direction == "higher" else "hours",
            period=kind,
            kind=rng.choice(["sla", "kpi"]),
            data_start=_random_data_start(rng, contract.start_date, kind),
        )
        target, minimum = (
            (Decimal("99.5"), Decimal("98"))
            if direction == "higher"
            else (Decimal("4"), Decimal("8"))
        )
        for index, effective in enumerate([contract.start_date, date(2025, 9, 1)][: 1 + n % 2]):
            improvement = ["none", "relative", "absolute"][(n + index) % 3]
            terms = factories.TermsFactory(
                service_level=sla,
                organization=org,
                effective_from=effective,
                target=target,
                minimum=minimum,
                improvement=improvement,
                improvement_rate=Decimal("0") if improvement == "none" else Decimal("3.7"),
                improvement_bound=None
                if improvement == "none"
                else (Decimal("99.9") if direction == "higher" else Decimal("2.5")),
            )
            factories.CreditTierFactory(
                terms=terms, organization=org, worse_than=target, percent=Decimal("2.5")
            )
        start = contract.start_date
        for i in range(0, 140 if sla.period == "weekly" else 30):
            period = p.add_periods(p.period_start(start, sla.period), sla.period, i)
            if period > date(2026, 6, 1) or rng.random() < 0.15:
                continue
            low, high = (97.0, 100.0) if direction == "higher" else (1.0, 10.0)
            factories.ReadingFactory(
                service_level=sla,
                organization=org,
                period_start=period,
                value=Decimal(str(round(rng.uniform(low, high), 4))),
            )
        slas.append(sla)
    return slas


def test_postgresql_statement_agrees_with_the_python_reference():
    """The SQL path (production) and the Python path (embedded) give identical rows."""
    require_service("PostgreSQL", connection.vendor == "postgresql")
    slas = _random_world(11)
    org_id = slas[0].organization_id
    with scopes_disabled():
        fresh = list(
            ServiceLevel.objects.filter(pk__in=[s.pk for s in slas]).select_related("contract")
        )

        def rows():
            return sorted(
                PeriodStatus.objects.filter(organization_id=org_id).values_list(
                    "service_level_id",
                    "period_start",
                    "colour",
                    "value",
                    "target",
                    "minimum",
                    "reading_id",
                    "reading_revision",
                    "credit_percent",
                    "credit_amount",
                )
            )

        python.recompute_statuses(organization_id=org_id, slas=fresh, scope=Scope(), today=TODAY)
        reference = rows()
        PeriodStatus.objects.filter(organization_id=org_id).delete()
        postgres.recompute_statuses(organization_id=org_id, slas=fresh, scope=Scope(), today=TODAY)
        assert rows() == reference
        assert len(reference) > 500
        # The world holds what the data start decides: gaps late from it on, gaps
        # past their deadline before it that stay "no data", readings before it.
        _assert_covers_data_starts(fresh, reference)
        # And each path finds nothing to change in the other's result.
        assert (
            python.recompute_statuses(
                organization_id=org_id, slas=fresh, scope=Scope(), today=TODAY
            )
            == 0
        )


def _assert_covers_data_starts(slas: list[ServiceLevel], rows: list[tuple]) -> None:
    by_pk = {s.pk: s for s in slas}
    seen = set()
    for sla_id, start, colour, value, *_ in rows:
        sla = by_pk[sla_id]
        due = engine.deadline(start, sla.period, sla.contract.submission_deadline_days)
        overdue = due < TODAY  # its deadline has passed
        if value is not None:
            seen.add("reading before" if start < sla.data_start else "reading from")
        elif overdue and start < sla.data_start:
            assert colour == "no_data"
            seen.add("overdue gap before")
        elif overdue:
            assert colour == "late"
            seen.add("late from")
    assert seen == {"reading before", "reading from", "overdue gap before", "late from"}
    assert len({s.data_start == p.first_period_of_term(s.contract.start_date, s.period)
                for s in slas}) == 2  # fmt: skip


def test_postgresql_statement_agrees_with_python_on_scoped_recomputes():
    """After data changes, each path's scoped recompute leaves nothing for the other to fix."""
    require_service("PostgreSQL", connection.vendor == "postgresql")
    slas = _random_world(23)
    org_id = slas[0].organization_id
    with scopes_disabled():
        fresh = list(
            ServiceLevel.objects.filter(pk__in=[s.pk for s in slas]).select_related("contract")
        )
        python.recompute_statuses(organization_id=org_id, slas=fresh, scope=Scope(), today=TODAY)
        from metrics.models import Reading

        readings = list(Reading.objects.filter(organization_id=org_id).order_by("pk")[:40])
        for reading in readings[:20]:
            reading.value += Decimal("0.5")
            reading.save()
        Reading.objects.filter(pk__in=[r.pk for r in readings[20:25]]).delete()
        pairs = [(r.service_level_id, r.period_start) for r in readings[:25]]
        since = Scope(since=date(2025, 9, 1))
        for first, second in ((python, postgres), (postgres, python)):
            for scope in (Scope.of_pairs(pairs), since):
                first.recompute_statuses(
                    organization_id=org_id, slas=fresh, scope=scope, today=TODAY
                )
                assert (
                    second.recompute_statuses(
                        organization_id=org_id, slas=fresh, scope=scope, today=TODAY
                    )
                    == 0
                )
            for reading in readings[:20]:  # change again for the other order
                reading.value += Decimal("0.25")
                reading.save()
