"""
The engine recomputes only what changed (PostgreSQL): a repeat with nothing
changed writes nothing and refits nothing; a change of any input, by any path,
recomputes exactly the SLA it belongs to; the passing of time recomputes an
SLA on the day its outputs change.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from contracts.models import CreditTier, ServiceLevel, ServiceLevelTerms
from metrics import engine, services, trends
from metrics.engine import changes, health, postgres
from metrics.models import PeriodStatus, Reading, SlaHealth
from tests import factories
from tests.conftest import require_service

TODAY = date(2026, 7, 10)  # June is due by 5 July (late); every earlier month has a reading
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgres():
    require_service("PostgreSQL", connection.vendor == "postgresql")


def _sla(org=None, months=(1, 2, 3, 4, 5, 6)) -> ServiceLevel:
    contract = factories.ContractFactory(
        start_date=date(2026, 1, 1),
        end_date=date(2027, 12, 31),
        **({"vendor": factories.VendorFactory(organization=org)} if org else {}),
    )
    sla = factories.ServiceLevelFactory(contract=contract, organization=contract.organization)
    terms = factories.TermsFactory(service_level=sla, organization=sla.organization)
    factories.CreditTierFactory(terms=terms, organization=sla.organization)
    for month in months:
        factories.ReadingFactory(
            service_level=sla,
            organization=sla.organization,
            period_start=date(2026, month, 1),
            value=Decimal("99.7"),
        )
    return sla


@pytest.fixture
def world():
    """Two SLAs of one organisation, each on its own contract, computed once."""
    a = _sla()
    b = _sla(org=a.organization)
    run(a, b)
    return a, b


def run(*slas, today=TODAY, force=False) -> int:
    return engine.recompute(
        organization_id=slas[0].organization_id,
        service_level_ids=[s.pk for s in slas],
        today=today,
        force=force,
    )


def recomputed(*slas, today=TODAY, force=False) -> set[int]:
    """The SLAs whose statuses a full recompute of `slas` went over."""
    seen: set[int] = set()
    real = postgres.recompute_statuses

    def spy(**kwargs):
        seen.update(s.pk for s in kwargs["slas"])
        return real(**kwargs)

    with mock.patch.object(postgres, "recompute_statuses", spy):
        run(*slas, today=today, force=force)
    return seen


def colour(sla, month: date) -> str | None:
    with scopes_disabled():
        row = PeriodStatus.objects.filter(service_level=sla, period_start=month).first()
    return row.colour if row else None


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_a_repeat_with_nothing_changed_writes_nothing_and_refits_nothing(world):
    a, b = world
    with (
        mock.patch.object(trends, "trend_for", wraps=trends.trend_for) as fit,
        mock.patch.object(trends, "trend_for_many", wraps=trends.trend_for_many) as fit_many,
        CaptureQueriesContext(connection) as queries,
    ):
        assert run(a, b) == 0
    assert fit.call_count == 0
    assert fit_many.call_count == 0
    writes = [
        q["sql"]
        for q in queries
        if any(w in q["sql"].upper() for w in ("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []


def test_the_repeat_reads_in_a_constant_number_of_queries(world):
    a, b = world
    more = [_sla(org=a.organization) for _ in range(4)]
    run(*more)
    with CaptureQueriesContext(connection) as small:
        run(a, b)
    with CaptureQueriesContext(connection) as large:
        run(a, b, *more)
    assert len(small) == len(large)


def test_a_reading_changed_by_raw_sql_recomputes_only_its_sla(world):
    a, b = world
    sql(
        "UPDATE metrics_reading SET value = 98 WHERE service_level_id = %s AND period_start = %s",
        [a.pk, date(2026, 3, 1)],
    )
    assert recomputed(a, b) == {a.pk}
    assert colour(a, date(2026, 3, 1)) == "red"
    assert recomputed(a, b) == set()


def test_a_reading_written_by_copy_recomputes_only_its_sla(world):
    a, b = world
    sql("DELETE FROM metrics_reading WHERE service_level_id = %s AND period_start = %s",
        [b.pk, date(2026, 6, 1)])  # fmt: skip
    assert recomputed(a, b) == {b.pk}
    assert colour(b, date(2026, 6, 1)) == "late"
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY metrics_reading (organization_id, service_level_id, period_start, value, source,"
            " note, submitted_at, revision) FROM STDIN"
        ) as copy,
    ):
        copy.write(f"{b.organization_id}\t{b.pk}\t2026-06-01\t99.95\tupload\t\t2026-07-01\t1\n")
    assert recomputed(a, b) == {b.pk}
    assert colour(b, date(2026, 6, 1)) == "green"


def test_a_deleted_reading_recomputes_its_sla(world):
    a, b = world
    with scopes_disabled():
        Reading.objects.filter(service_level=a, period_start=date(2026, 2, 1)).delete()
    assert recomputed(a, b) == {a.pk}
    assert colour(a, date(2026, 2, 1)) == "late"


def test_a_revised_reading_with_the_same_value_recomputes_its_sla(world):
    a, b = world
    with scopes_disabled():
        Reading.objects.filter(service_level=a, period_start=date(2026, 2, 1)).update(revision=2)
    assert recomputed(a, b) == {a.pk}
    with scopes_disabled():
        row = PeriodStatus.objects.get(service_level=a, period_start=date(2026, 2, 1))
    assert row.reading_revision == 2


def test_edited_terms_and_credit_tiers_recompute_only_their_sla(world):
    a, b = world
    with scopes_disabled():
        ServiceLevelTerms.objects.filter(service_level=a).update(minimum=Decimal("99.8"))
    assert recomputed(a, b) == {a.pk}
    assert colour(a, date(2026, 1, 1)) == "red"
    with scopes_disabled():
        CreditTier.objects.filter(terms__service_level=b).update(percent=Decimal("7"))
    assert recomputed(a, b) == {b.pk}
    with scopes_disabled():
        row = PeriodStatus.objects.get(service_level=b, period_start=date(2026, 1, 1))
    assert row.credit_percent == Decimal("7")


def test_edited_contract_dates_recompute_only_their_sla(world):
    a, b = world
    with scopes_disabled():
        a.contract.end_date = date(2026, 3, 31)
        a.contract.save()
    assert recomputed(a, b) == {a.pk}
    with scopes_disabled():
        b.contract.start_date = date(2026, 2, 1)
        b.contract.save()
    assert recomputed(a, b) == {b.pk}


def test_forcing_recomputes_every_sla(world):
    a, b = world
    with mock.patch.object(trends, "trend_for_many", wraps=trends.trend_for_many) as fit_many:
        assert recomputed(a, b, force=True) == {a.pk, b.pk}
    assert fit_many.call_count == 1  # both SLAs' trends, fitted together


def test_the_clock_recomputes_an_sla_when_its_missing_period_turns_late(db):
    sla = _sla(months=(1, 2, 3, 4, 5))  # June missing: due by 5 July
    other = _sla(org=sla.organization)
    run(sla, other, today=date(2026, 7, 3))
    assert colour(sla, date(2026, 6, 1)) == "no_data"
    assert recomputed(sla, other, today=date(2026, 7, 5)) == set()
    with time_machine.travel(date(2026, 7, 6), tick=False):
        assert changes.due_ids(sla.organization_id, date(2026, 7, 6)) == [sla.pk]
        services.statuses_refresh_all()
    assert colour(sla, date(2026, 6, 1)) == "late"
    with scopes_disabled():
        assert SlaHealth.objects.get(service_level=sla).colour == "late"
    assert changes.due_ids(sla.organization_id, date(2026, 7, 6)) == []


def test_the_clock_recomputes_every_sla_when_a_period_closes(world):
    a, b = world
    assert recomputed(a, b, today=date(2026, 7, 31)) == set()
    with time_machine.travel(date(2026, 8, 1), tick=False):
        assert changes.due_ids(a.organization_id, date(2026, 8, 1)) == [a.pk, b.pk]
        services.statuses_refresh_all()
    assert colour(a, date(2026, 7, 1)) == "no_data"  # the new period, due by 5 August


def test_an_earlier_day_than_the_last_computation_recomputes(world):
    a, _ = world
    assert recomputed(a, today=date(2026, 7, 2)) == {a.pk}
    with scopes_disabled():
        health = SlaHealth.objects.get(service_level=a)
    assert (health.clock_from, health.clock_until) == (date(2026, 7, 2), date(2026, 8, 1))


def test_a_scoped_recompute_leaves_its_sla_due_for_the_hourly_refresh(world):
    a, _ = world
    assert changes.due_ids(a.organization_id, TODAY) == []
    engine.recompute(
        organization_id=a.organization_id,
        service_level_ids=[a.pk],
        scope=engine.Scope.of_pairs([(a.pk, date(2026, 5, 1))]),
        today=TODAY,
    )
    assert changes.due_ids(a.organization_id, TODAY) == [a.pk]
    with time_machine.travel(TODAY, tick=False):
        services.statuses_refresh_all()
    assert changes.due_ids(a.organization_id, TODAY) == []


def test_the_hourly_refresh_with_nothing_due_recomputes_nothing_in_flat_queries(world):
    a, _ = world
    with time_machine.travel(TODAY, tick=False):
        with CaptureQueriesContext(connection) as small:
            assert recomputed_by_refresh() == set()
        more = [_sla(org=a.organization) for _ in range(4)]
        run(*more)
        with CaptureQueriesContext(connection) as large:
            assert recomputed_by_refresh() == set()
    assert len(small) == len(large)


def recomputed_by_refresh() -> set[int]:
    seen: set[int] = set()
    real = postgres.recompute_statuses

    def spy(**kwargs):
        seen.update(s.pk for s in kwargs["slas"])
        return real(**kwargs)

    with mock.patch.object(postgres, "recompute_statuses", spy):
        services.statuses_refresh_all()
    return seen


def test_deleting_an_sla_deletes_its_statuses_and_health(world):
    a, b = world
    with scopes_disabled():
        ServiceLevel.objects.filter(pk=a.pk).delete()
        assert not PeriodStatus.objects.filter(service_level_id=a.pk).exists()
        assert not SlaHealth.objects.filter(service_level_id=a.pk).exists()
        assert PeriodStatus.objects.filter(service_level=b).exists()


def test_the_statements_filter_by_bigint_id_arrays(world):
    """A smallint[] parameter can't be hashed against the id columns: the plan says which."""
    a, b = world
    with scopes_disabled():
        slas = list(ServiceLevel.objects.filter(pk__in=[a.pk, b.pk]).select_related("contract"))
        params = postgres.statement_params(
            organization_id=a.organization_id, slas=slas, scope=engine.Scope(), today=TODAY
        )
    with connection.cursor() as cursor:
        for statement in (postgres._DELETE_PERIODS, postgres._UPSERT):
            cursor.execute("EXPLAIN " + statement, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "smallint" not in plan
            assert "bigint[]" in plan
        cursor.execute("EXPLAIN " + changes._DIGEST,
                       {"org": a.organization_id, "ids": [a.pk, b.pk], "version": "1"})  # fmt: skip
        assert "smallint" not in "\n".join(row[0] for row in cursor.fetchall())


def test_the_health_merge_stores_the_reference_rows_and_rewrites_only_what_differs(world):
    a, b = world
    org_id = a.organization_id
    with scopes_disabled():
        slas = list(ServiceLevel.objects.filter(pk__in=[a.pk, b.pk]).select_related("contract"))
        recent = health._recent(org_id, slas, TODAY)
        timelines = engine.timelines_for(slas)
        for sla in slas:
            stored = SlaHealth.objects.get(service_level=sla)
            assert stored.enough_data
            assert {k: getattr(stored, k) for k in health.FIELDS} == health.health_of(
                sla, recent[sla.pk], timelines[sla.pk]
            )
        assert health.refresh(organization_id=org_id, slas=slas, today=TODAY) == 0
        SlaHealth.objects.filter(service_level=a).update(risk=[0.5], drift_note="stale")
        assert health.refresh(organization_id=org_id, slas=slas, today=TODAY) == 1
        assert SlaHealth.objects.get(service_level=a).drift_note == ""


def test_first_rows_written_meanwhile_by_another_recompute_are_compared_not_duplicated(world):
    """The plain INSERT of a first computation meets rows another run wrote: the upsert runs."""
    a, b = world
    sql("UPDATE metrics_reading SET value = 98 WHERE service_level_id = %s AND period_start = %s",
        [a.pk, date(2026, 3, 1)])  # fmt: skip
    with mock.patch.object(postgres, "_any_stored", return_value=False):
        assert run(a, b, force=True) == 1  # the one status that changed
    assert colour(a, date(2026, 3, 1)) == "red"
    with scopes_disabled():
        assert PeriodStatus.objects.filter(service_level=a).count() == 6


def test_a_fresh_tenants_slas_are_analysed_before_a_large_recompute_and_then_not_again():
    """Unknown to the planner, 600 new SLAs would be planned as a handful (nested loops)."""
    contract = factories.ContractFactory()
    org = contract.organization

    def expected() -> float:
        with connection.cursor() as cursor:
            cursor.execute(
                "EXPLAIN (FORMAT JSON) SELECT 1 FROM contracts_servicelevel "
                "WHERE organization_id = %s",
                [org.pk],
            )
            plan = cursor.fetchone()[0]
        return plan[0]["Plan"]["Plan Rows"]

    with connection.cursor() as cursor:  # statistics from before the tenant's SLAs
        cursor.execute("ANALYZE contracts_servicelevel")
    with scopes_disabled():
        ServiceLevel.objects.bulk_create(
            ServiceLevel(organization=org, contract=contract, code=f"s{i}", name=f"S {i}",
                         unit="percent", direction="higher", data_start=date(2026, 1, 1))
            for i in range(600)
        )  # fmt: skip
    assert expected() < 60
    assert "contracts_servicelevel" in engine._analyze_if_unknown(org.pk)
    assert expected() >= 60
    assert "contracts_servicelevel" not in engine._analyze_if_unknown(org.pk)
