"""
Which periods are owed (`contracts.periods.owed_problem`, the reference) and
its fast form (`owed_span`), tested equal on random contracts, data starts and
days; and the months a vendor's template is offered for.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from contracts import periods
from metrics.ingest import months

MONTHLY, WEEKLY = periods.Period.MONTHLY, periods.Period.WEEKLY


def _random_day(rng: random.Random, low: date, high: date) -> date:
    return low + timedelta(days=rng.randrange((high - low).days + 1))


@pytest.mark.parametrize("seed", range(8))
def test_the_span_owed_is_exactly_the_periods_the_rule_owes(seed):
    rng = random.Random(seed)
    for _ in range(150):
        kind = rng.choice([MONTHLY, WEEKLY])
        contract_start = _random_day(rng, date(2023, 1, 1), date(2026, 6, 30))
        contract_end = _random_day(rng, contract_start + timedelta(days=1), date(2028, 12, 31))
        # A data start is a period start, usually inside the term; sometimes (rows from
        # before the rules) a day inside a period or before the term.
        data_start = periods.period_start(
            _random_day(rng, contract_start - timedelta(days=40), contract_end), kind
        )
        if rng.random() < 0.2:
            data_start += timedelta(days=rng.randrange(1, 6))
        today = _random_day(rng, contract_start - timedelta(days=60), date(2029, 6, 30))
        span = periods.owed_span(kind, data_start=data_start, contract_start=contract_start,
                                 contract_end=contract_end, today=today)  # fmt: skip
        first = periods.period_start(contract_start - timedelta(days=90), kind)
        last = periods.period_start(max(today, contract_end) + timedelta(days=90), kind)
        for start in periods.iter_periods(first, last, kind):
            owed = periods.owed_problem(start, kind, data_start=data_start,
                                        contract_start=contract_start, contract_end=contract_end,
                                        today=today) is None  # fmt: skip
            in_span = span is not None and span[0] <= start <= span[1]
            assert owed == in_span, (kind, contract_start, contract_end, data_start, today, start)


@pytest.mark.parametrize(
    ("start", "today", "says"),
    [
        (date(2026, 11, 30), date(2026, 12, 3), "has not ended yet (it ends 6 Dec 2026)"),
        (date(2026, 11, 2), date(2026, 12, 3), "No data is owed for 2026-W45: it is owed from "
                                               "2026-W47 on."),
        (date(2027, 1, 4), date(2027, 2, 1), "outside the contract term"),
    ],
)  # fmt: skip
def test_a_period_not_owed_says_why(start, today, says):
    problem = periods.owed_problem(
        start, WEEKLY, data_start=date(2026, 11, 16), contract_start=date(2026, 1, 1),
        contract_end=date(2026, 12, 31), today=today,
    )  # fmt: skip
    assert says in problem


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("abc", "'abc' is not a period: write 2026-10 or a date like 2026-10-15"),
        ("2026-13", "a year has no month 13"),
        ("2026-W48", "'2026-W48' is a week, not a month: the week 2026-W48 starts in 2026-11."),
        ("2026-W60", "'2026-W60' is a week, not a month. Write a month like 2026-10."),
        ("9999-01", "the year must be from 2000 to 2999"),
    ],
)
def test_a_month_is_read_as_a_month_and_anything_else_is_refused_by_name(text, says):
    with pytest.raises(ValueError) as refused:  # noqa: PT011 (the message is checked below)
        periods.parse_month(text)
    assert says in str(refused.value)


def test_a_month_may_be_written_as_a_day_inside_it():
    assert periods.parse_month(" 2026-11 ") == date(2026, 11, 1)
    assert periods.parse_month("2026-11-17") == date(2026, 11, 1)


def test_the_months_offered_are_newest_first_and_the_default_is_the_month_just_ended():
    offered = [months.Month(date(2026, 12, 1), so_far=True), months.Month(date(2026, 11, 1))]
    assert months.default_month(offered, date(2026, 12, 15)).start == date(2026, 11, 1)
    assert offered[0].name == "Dec 2026 (so far)"
    assert months.default_month([], date(2026, 12, 15)) is None
