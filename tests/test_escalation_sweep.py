"""
The sweep's fast facts (one SQL pass per chunk) against the reference rule
(`evaluate.facts_of` over each SLA's statuses), the SLAs it skips, its flat
query count, and the outbox's claim.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts import periods
from contracts.models import ServiceLevel
from contracts.rules import Colour
from escalations import evaluate, notify
from escalations.models import Notification
from escalations.policies import steps_by_contract
from metrics.engine.health import recent_colours
from metrics.models import PeriodStatus, SlaHealth
from slagov.jobs import JobReport
from tests import factories
from tests.conftest import require_service

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
COLOURS = [Colour.GREEN, Colour.YELLOW, Colour.RED, Colour.LATE, Colour.NO_DATA]


def _random_world(seed: int, count: int):
    """SLAs (weekly and monthly, varied deadlines) with random recent histories and health."""
    rng = random.Random(seed)
    org = factories.OrganizationFactory()
    contracts = [
        factories.ContractFactory(organization=org, vendor__organization=org,
                                  submission_deadline_days=days)
        for days in (1, 5, 20)
    ]  # fmt: skip
    statuses, healths, slas = [], [], []
    for i in range(count):
        kind = rng.choice(["monthly", "weekly"])
        sla = factories.ServiceLevelFactory(
            organization=org, contract=rng.choice(contracts), period=kind, code=f"r{i}"
        )
        slas.append(sla)
        last = periods.period_start(TODAY, kind)
        length = rng.choice([0, 1, 2, 5, 12, 16])
        # Runs, so that long trailing runs are common; now and then a missing period.
        colour = rng.choice(COLOURS)
        for back in range(length):
            if rng.random() < 0.35:
                colour = rng.choice(COLOURS)
            if rng.random() < 0.08:
                continue
            statuses.append(PeriodStatus(
                organization=org, service_level=sla, colour=colour, computed_at=NOW,
                period_start=periods.add_periods(last, kind, -back),
            ))  # fmt: skip
        if rng.random() < 0.7:
            risk = rng.choice([[], [0.1, 0.2], [0.7, 0.9, 0.95], [0.05]])
            healths.append(SlaHealth(
                organization=org, service_level=sla, colour=Colour.GREEN, computed_at=NOW,
                risk=risk, latest_period=last if length else None,
                periods_to_breach=rng.choice([None, 1, 3]),
            ))  # fmt: skip
    with scopes_disabled():
        PeriodStatus.objects.bulk_create(statuses)
        SlaHealth.objects.bulk_create(healths)
    return org, slas


def _reference(org, slas) -> dict[int, evaluate.Facts]:
    """`facts_of` over each SLA's statuses, as the rules were written."""
    with scopes_disabled():
        ids = [s.pk for s in slas]
        recent = recent_colours(org.pk, ids, limit=evaluate.HISTORY, today=TODAY)
        healths = {
            h.service_level_id: h for h in SlaHealth.objects.filter(service_level_id__in=ids)
        }
        found = {}
        for sla in ServiceLevel.objects.filter(pk__in=ids).select_related("contract"):
            health = healths.get(sla.pk)
            found[sla.pk] = evaluate.facts_of(
                sla, recent[sla.pk], health.periods_to_breach if health else None, TODAY,
                sla.contract.effective_mode == "compliance",
                risk=health.risk if health else (),
                latest_period=health.latest_period if health else None,
            )  # fmt: skip
        return found


def _fast(org, slas, busy) -> dict[int, evaluate.Facts]:
    with scopes_disabled():
        found = evaluate._chunk_facts(org.pk, [s.pk for s in slas], TODAY, busy=busy,
                                      contracts={}, modes={}, warnings={},
                                      report=JobReport())  # fmt: skip
    return {sla.pk: facts for sla, facts in found}


@pytest.mark.parametrize("seed", range(3))
def test_the_sql_facts_equal_the_reference_on_random_histories(seed):
    require_service("PostgreSQL", connection.vendor == "postgresql")
    org, slas = _random_world(seed, 120)
    reference = _reference(org, slas)
    # Every SLA "busy": none skipped, all compared.
    assert _fast(org, slas, busy={s.pk for s in slas}) == reference
    assert {f.colour for f in reference.values()} >= {Colour.GREEN, Colour.RED, Colour.LATE}
    assert any(f.late_days for f in reference.values())
    assert any(f.red_days for f in reference.values())


def test_the_sql_facts_of_another_organisations_slas_are_none():
    require_service("PostgreSQL", connection.vendor == "postgresql")
    org, slas = _random_world(5, 20)
    other, theirs = _random_world(6, 20)
    from escalations import fast_facts

    ids = [s.pk for s in slas]
    assert {row[0] for row in fast_facts.facts_rows(org.pk, ids, evaluate.HISTORY, TODAY)} == set(
        ids
    )
    mixed = ids + [s.pk for s in theirs]
    rows = fast_facts.facts_rows(org.pk, mixed, evaluate.HISTORY, TODAY)
    assert {row[0] for row in rows} == set(ids)
    assert fast_facts.facts_rows(other.pk, ids, evaluate.HISTORY, TODAY) == []


@pytest.mark.parametrize("seed", range(3))
def test_an_sla_the_sweep_skips_is_one_the_rules_would_leave_alone(seed):
    org, slas = _random_world(seed + 10, 80)
    reference = _reference(org, slas)
    kept = _fast(org, slas, busy=set())
    assert kept == {pk: f for pk, f in reference.items() if pk in kept}
    skipped = reference.keys() - kept.keys()
    assert skipped  # plainly green, no forecast risk
    with scopes_disabled():
        policy = steps_by_contract(org.pk, {s.contract_id for s in slas})
    for sla in slas:
        if sla.pk in skipped:
            plan = evaluate._plan(sla, reference[sla.pk], policy[sla.contract_id], {}, {}, None,
                                  NOW, TODAY)  # fmt: skip
            assert plan.actions == []


def _green_world(count: int):
    org = factories.OrganizationFactory()
    contract = factories.ContractFactory(organization=org, vendor__organization=org)
    slas = [factories.ServiceLevelFactory(organization=org, contract=contract, code=f"g{i}")
            for i in range(count)]  # fmt: skip
    last = periods.last_closed_period(TODAY, "monthly")
    with scopes_disabled():
        PeriodStatus.objects.bulk_create(
            PeriodStatus(organization=org, service_level=sla, colour=Colour.GREEN,
                         computed_at=NOW, period_start=periods.add_periods(last, "monthly", -b))
            for sla in slas for b in range(6)
        )  # fmt: skip
    return org, [s.pk for s in slas]


def test_a_sweep_over_green_slas_costs_the_same_queries_at_any_size():
    counts = []
    for size in (3, 30):
        org, ids = _green_world(size)
        with CaptureQueriesContext(connection) as queries:
            assert evaluate.evaluate(organization_id=org.pk, service_level_ids=ids,
                                     today=TODAY, now=NOW)["opened"] == 0  # fmt: skip
        counts.append(len(queries))
    assert counts[0] == counts[1]


_keys = itertools.count()


def _pending(org, count: int, at: datetime) -> list[Notification]:
    with scopes_disabled():
        return Notification.objects.bulk_create(
            Notification(organization=org, kind=Notification.Kind.DIGEST, key=f"k{next(_keys)}",
                         email=f"m{i}@example.com", next_attempt_at=at,
                         payload={"subject": "s", "text": "t", "html": ""})
            for i in range(count)
        )  # fmt: skip


def test_claims_take_due_rows_oldest_first_each_once_and_lease_them(settings):
    org = factories.OrganizationFactory()
    now = timezone.now()
    same_time = _pending(org, 3, now - timedelta(minutes=1))
    older = _pending(org, 1, now - timedelta(hours=1))[0]
    later = _pending(org, 1, now + timedelta(hours=1))[0]
    claimed = []
    with scopes_disabled():
        for _ in range(5):
            row = notify._claim_one(now)
            if row is None:
                break
            claimed.append(row)
        assert [n.pk for n in claimed] == [older.pk, *sorted(n.pk for n in same_time)]
        assert {n.attempts for n in claimed} == {1}
        leased = now + timedelta(seconds=settings.WORK_LEASE_SECONDS)
        assert {n.next_attempt_at for n in claimed} == {leased}
        assert later.pk not in {n.pk for n in claimed}
        # The leases over, the unsent rows are due again (leased together: by id).
        assert notify._claim_one(leased).pk == min(n.pk for n in claimed)


def test_a_claim_costs_the_same_queries_however_many_are_pending():
    counts = []
    for size in (5, 200):
        org = factories.OrganizationFactory()
        _pending(org, size, timezone.now() - timedelta(minutes=1))
        with scopes_disabled(), CaptureQueriesContext(connection) as queries:
            assert notify._claim_one(timezone.now()).kind == Notification.Kind.DIGEST
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_claimed_escalation_email_comes_with_what_it_shows():
    from tests.test_escalations import World

    w = World()
    w.read(date(2026, 10, 1), "99.2")
    w.evaluate()
    with scopes_disabled():
        row = notify._claim_one(timezone.now())
        with CaptureQueriesContext(connection) as queries:
            assert row.escalation.contract.vendor.name
            assert getattr(row.escalation.service_level, "health", None) is not None
            assert row.escalation.contract.owner == w.bob
            assert row.event.kind == "opened"
        assert len(queries) == 0
