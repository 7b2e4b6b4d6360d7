"""
One rule, one reference: the colour of a value (`rules.classify`), the
contract year (`periods.contract_year`), the improvement steps
(`rules.improvement_steps`) and the terms in force (`rules.terms_index`) have
numpy and SQL forms beside them for speed; each is tested equal to its
reference on random inputs, boundaries included, and the upload preview's
colour equals the colour the engine stores, on random worlds.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
import time_machine
from django.db import connection
from django_scopes import scopes_disabled

from contracts import bounds, periods, rules
from contracts import services as contract_services
from contracts.selectors import terms_in_force
from metrics import engine
from metrics.engine import timelines_for
from metrics.ingest import pipeline
from metrics.models import PeriodStatus, SubmissionRow
from tests.conftest import require_service
from tests.ingest_world import TODAY, build

pytestmark = pytest.mark.django_db
Colour = rules.Colour


def _random_thresholds(rng: random.Random) -> rules.Thresholds:
    direction = rng.choice([rules.Direction.HIGHER, rules.Direction.LOWER])
    a = Decimal(rng.randint(0, 10**8)) / Decimal(10 ** rng.randint(0, 6))
    b = a + Decimal(rng.randint(0, 10**6)) / Decimal(10 ** rng.randint(0, 6))
    target, minimum = (b, a) if direction == rules.Direction.HIGHER else (a, b)
    return rules.Thresholds(target=target, minimum=minimum, direction=direction)


def _values_around(rng: random.Random, thresholds: rules.Thresholds) -> list[Decimal]:
    """The boundaries themselves, a hair either side of them, and anywhere."""
    hair = Decimal("0.000001")
    found = []
    for edge in (thresholds.target, thresholds.minimum):
        found += [edge, edge + hair, edge - hair]
    found.append((thresholds.target + thresholds.minimum) / 2)
    found.append(Decimal(rng.randint(-(10**9), 10**9)) / Decimal(10 ** rng.randint(0, 6)))
    return [v.quantize(hair) for v in found]


def _cases(seed: int, count: int = 400):
    rng = random.Random(seed)
    values, thresholds = [], []
    for _ in range(count):
        t = _random_thresholds(rng)
        for v in _values_around(rng, t):
            values.append(v)
            thresholds.append(t)
    return values, thresholds


@pytest.mark.parametrize("seed", range(5))
def test_the_numpy_colours_equal_the_reference(seed):
    values, thresholds = _cases(seed)
    thresholds[::7] = [None] * len(thresholds[::7])  # no terms: no data
    many = rules.classify_many(values, thresholds)
    expected = [
        rules.classify(v, t) if t is not None else Colour.NO_DATA
        for v, t in zip(values, thresholds, strict=True)
    ]
    assert many.tolist() == expected


def test_the_sql_colours_equal_the_reference():
    require_service("PostgreSQL", connection.vendor == "postgresql")
    values, thresholds = _cases(11)
    rows = [
        (i, v, t.direction, t.target, t.minimum)
        for i, (v, t) in enumerate(zip(values, thresholds, strict=True))
    ]
    case = rules.classify_sql(value="v", direction="d", target="t", minimum="m")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT i, {case} FROM unnest(%s::int[], %s::numeric[], %s::text[], "  # noqa: S608
            "%s::numeric[], %s::numeric[]) AS x(i, v, d, t, m) ORDER BY i",
            [list(column) for column in zip(*rows, strict=True)],
        )
        found = [colour for _, colour in cursor.fetchall()]
    assert found == [rules.classify(v, t) for v, t in zip(values, thresholds, strict=True)]


def _random_days(rng: random.Random, count: int) -> list[tuple[date, date]]:
    """(contract start, day) pairs: month ends, leap days, anniversaries, days before."""
    pairs = []
    for _ in range(count):
        start = date(2000, 1, 1) + timedelta(days=rng.randint(0, 12_000))
        if rng.random() < 0.3:  # the last days of a month, where month arithmetic slips
            start = periods.period_end(start, "monthly") - timedelta(days=rng.randint(0, 2))
        day = start + timedelta(days=rng.randint(-400, 4_000))
        if rng.random() < 0.2:  # an anniversary, or the day before one
            years = rng.randint(0, 9)
            try:
                day = start.replace(year=start.year + years) - timedelta(days=rng.randint(0, 1))
            except ValueError:  # 29 February
                day = date(start.year + years, 3, 1)
        pairs.append((start, day))
    return pairs


def test_the_numpy_contract_years_and_improvement_steps_equal_the_reference():
    rng = random.Random(7)
    pairs = _random_days(rng, 3_000)
    starts = np.array([s for s, _ in pairs], dtype="datetime64[D]")
    days = np.array([d for _, d in pairs], dtype="datetime64[D]")
    assert periods.contract_year_many(starts, days).tolist() == [
        periods.contract_year(s, d) for s, d in pairs
    ]
    effective = [s + timedelta(days=rng.randint(-500, 3_000)) for s, _ in pairs]
    assert rules.improvement_steps_many(
        starts, np.array(effective, dtype="datetime64[D]"), days
    ).tolist() == [
        rules.improvement_steps(s, e, d) for (s, d), e in zip(pairs, effective, strict=True)
    ]


def test_the_sql_contract_years_and_improvement_steps_equal_the_reference():
    require_service("PostgreSQL", connection.vendor == "postgresql")
    rng = random.Random(8)
    pairs = _random_days(rng, 3_000)
    effective = [s + timedelta(days=rng.randint(-500, 3_000)) for s, _ in pairs]
    year = periods.contract_year_sql("s", "d")
    steps = rules.improvement_steps_sql(contract_start="s", effective_from="e", day="d")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT i, {year}, {steps} FROM unnest(%s::int[], %s::date[], %s::date[], "  # noqa: S608
            "%s::date[]) AS x(i, s, d, e) ORDER BY i",
            [list(range(len(pairs))), [s for s, _ in pairs], [d for _, d in pairs], effective],
        )
        found = cursor.fetchall()
    assert [y for _, y, _ in found] == [periods.contract_year(s, d) for s, d in pairs]
    assert [n for _, _, n in found] == [
        rules.improvement_steps(s, e, d) for (s, d), e in zip(pairs, effective, strict=True)
    ]


def test_the_sql_credit_step_function_equals_the_reference():
    """`postgres._credit_steps` read by `width_bucket` gives `rules.credit_percent`."""
    require_service("PostgreSQL", connection.vendor == "postgresql")
    from metrics.engine import postgres

    rng = random.Random(9)
    cases = []
    for _ in range(400):
        direction = rng.choice(["higher", "lower"])
        levels = [Decimal(rng.choice(["98", "99", "99.5", "4", "8"])) for _ in range(4)]
        tiers = [
            rules.CreditTier(worse_than=level, percent=Decimal(rng.choice(["0", "2.5", "5", "10"])))
            for level in levels[: rng.randint(1, 4)]  # repeated levels too
        ]
        for value in [*levels, Decimal(str(round(rng.uniform(0, 100), 2)))]:
            cases.append((tiers, direction, value))
    found = []
    with connection.cursor() as cursor:
        for tiers, direction, value in cases:
            sign, bounds_, owed = postgres._credit_steps(tiers, direction)
            cursor.execute(
                "SELECT (%s::numeric[])[width_bucket(%s::numeric * %s, %s::numeric[]) + 1]",
                [owed, value, sign, bounds_],
            )
            found.append(cursor.fetchone()[0])
    assert found == [rules.credit_percent(v, t, d) for t, d, v in cases]
    assert len(set(found)) == 4


# --- On random worlds: the preview's colour is the colour stored ---------------------------


def _random_terms(rng: random.Random, w) -> None:
    """Extra terms on random dates, some with an improvement clause, for the monthly SLAs."""
    for code in ("avail", "p1-res", "csat"):
        sla = w.slas[code]
        for _ in range(rng.randint(0, 3)):
            current = sla.terms.order_by("-effective_from").first()
            effective = periods.period_start(
                date(2025, 1, 1) + timedelta(days=rng.randint(0, 640)), "monthly"
            )
            improvement = rng.choice(list(rules.Improvement))
            rate = Decimal(0)
            if improvement == rules.Improvement.RELATIVE:
                rate = Decimal(rng.choice(["0.5", "1", "2.5"]))
            elif improvement == rules.Improvement.ABSOLUTE:
                rate = Decimal(rng.choice(["0.01", "0.1", "0.25"]))
            try:
                contract_services.terms_agree(
                    organization=w.org, actor=None, service_level=sla, effective_from=effective,
                    target=current.target, minimum=current.minimum, improvement=improvement,
                    improvement_rate=rate,
                )  # fmt: skip
            except Exception:  # noqa: S112 (a clause the rules refuse: try another)
                continue


@pytest.mark.parametrize("seed", range(4))
def test_the_upload_preview_colour_is_the_colour_the_engine_stores(seed):
    rng = random.Random(seed)
    w = build()
    with scopes_disabled():
        _random_terms(rng, w)
        slas = [w.slas[c] for c in ("avail", "p1-res", "csat")]
        timelines = timelines_for(slas)
        lines = ["contract,sla,period,value"]
        for sla in slas:
            for start in periods.iter_periods(date(2025, 1, 1), date(2026, 10, 1), "monthly"):
                thresholds, _ = timelines[sla.pk].thresholds(start)
                for value in rng.sample(_values_around(rng, thresholds), 3):
                    if not bounds.value_problem(value, sla.unit, "The value"):
                        break
                else:
                    continue
                lines.append(f"CORP-1,{sla.code},{start:%Y-%m},{value}")
        submission = pipeline.submission_receive(
            organization=w.org, actor=w.uploader, vendor=w.vendor,
            data="\n".join(lines).encode(), filename="random.csv", enqueue=False,
        )  # fmt: skip
        submission = pipeline.submission_validate(submission_id=submission.pk, today=TODAY)
        assert submission.state == "ready", list(submission.errors.values_list("message"))
        preview = {
            (r.service_level_id, r.period_start): r.colour
            for r in SubmissionRow.objects.filter(submission=submission)
        }
        assert len(preview) == len(lines) - 1
        assert pipeline.submission_confirm(
            organization=w.org, actor=w.uploader, submission=submission
        ).ok
        with time_machine.travel(TODAY, tick=False):
            engine.recompute(organization_id=w.org.pk, service_level_ids=[s.pk for s in slas])
        stored = {
            (s.service_level_id, s.period_start): s.colour
            for s in PeriodStatus.objects.filter(service_level__in=slas)
        }
        # And the pages' terms in force are the engine's.
        for sla in slas:
            all_terms = list(sla.terms.all())
            for start in periods.iter_periods(date(2025, 1, 1), date(2026, 10, 1), "monthly"):
                assert terms_in_force(all_terms, start).pk == timelines[sla.pk].at(start).terms_id
    assert {key: stored[key] for key in preview} == preview
    assert set(preview.values()) >= {Colour.GREEN, Colour.RED}


@pytest.mark.parametrize("count", [2, 12])
def test_terms_timelines_carry_every_credit_tier_in_two_queries(count, django_assert_num_queries):
    """`timelines_for` attaches the tiers itself: two queries however many SLAs and terms."""
    from tests import factories

    rng = random.Random(count)
    with scopes_disabled():
        contract = factories.ContractFactory()
        slas, expected = [], {}
        for _ in range(count):
            sla = factories.ServiceLevelFactory(contract=contract)
            slas.append(sla)
            for month in sorted(rng.sample(range(1, 12), rng.randint(1, 3))):
                terms = factories.TermsFactory(
                    service_level=sla, effective_from=date(2025, month, 1)
                )
                levels = sorted(rng.sample(range(90, 100), rng.randint(0, 3)), reverse=True)
                for i, level in enumerate(levels):
                    factories.CreditTierFactory(
                        terms=terms, worse_than=Decimal(level), percent=Decimal(5 * (i + 1))
                    )
                expected[terms.pk] = terms.credit_spec()  # read through the relation
        with django_assert_num_queries(2):
            timelines = timelines_for(slas)
    found = {item.terms_id: item.tiers for t in timelines.values() for item in t.items}
    assert found == expected
    assert any(found.values())
