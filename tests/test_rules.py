"""
Tests for the pure rule modules: contracts.rules (tiers, ratchet, credits),
contracts.periods (period arithmetic and parsing) and contracts.governance
(governance-mode recommendation). No database: plain values in, plain values out.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from contracts.governance import Mode, recommend_mode, term_months
from contracts.periods import (
    Period,
    add_periods,
    contract_year,
    contract_year_first_month,
    iter_periods,
    last_closed_period,
    parse_period,
    period_days,
    period_end,
    period_label,
    period_start,
    periods_between,
)
from contracts.rules import (
    SEVERITY,
    Colour,
    CreditTier,
    Direction,
    Improvement,
    Terms,
    Thresholds,
    classify,
    credit_percent,
    is_better,
    is_ordered,
    ratchet,
    thresholds_in_force,
)

D = Decimal
HIGHER = Direction.HIGHER
LOWER = Direction.LOWER
MONTHLY = Period.MONTHLY
WEEKLY = Period.WEEKLY

AVAILABILITY = Thresholds(target=D("99.9"), minimum=D("99.5"), direction=HIGHER)
P1_HOURS = Thresholds(target=D("4"), minimum=D("8"), direction=LOWER)


# ---------------------------------------------------------------------------
# classify(): tiers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("100", Colour.GREEN, id="100_is_green"),
        pytest.param("99.95", Colour.GREEN, id="better_than_target_is_green"),
        pytest.param("99.9", Colour.GREEN, id="exactly_at_target_is_green"),
        pytest.param("99.900000", Colour.GREEN, id="at_target_with_trailing_zeros_is_green"),
        pytest.param("99.8999", Colour.YELLOW, id="just_below_target_is_yellow"),
        pytest.param("99.7", Colour.YELLOW, id="between_target_and_minimum_is_yellow"),
        pytest.param("99.5", Colour.YELLOW, id="exactly_at_minimum_is_yellow"),
        pytest.param("99.4999", Colour.RED, id="just_below_minimum_is_red"),
        pytest.param("0", Colour.RED, id="zero_is_red"),
    ],
)
def test_higher_is_better_value_is_classified_by_tier(value, expected):
    assert classify(D(value), AVAILABILITY) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("0", Colour.GREEN, id="zero_is_green"),
        pytest.param("3.99", Colour.GREEN, id="better_than_target_is_green"),
        pytest.param("4", Colour.GREEN, id="exactly_at_target_is_green"),
        pytest.param("4.00", Colour.GREEN, id="at_target_with_trailing_zeros_is_green"),
        pytest.param("4.01", Colour.YELLOW, id="just_above_target_is_yellow"),
        pytest.param("6", Colour.YELLOW, id="between_target_and_minimum_is_yellow"),
        pytest.param("8", Colour.YELLOW, id="exactly_at_minimum_is_yellow"),
        pytest.param("8.01", Colour.RED, id="just_above_minimum_is_red"),
        pytest.param("100", Colour.RED, id="far_above_minimum_is_red"),
    ],
)
def test_lower_is_better_value_is_classified_by_tier(value, expected):
    assert classify(D(value), P1_HOURS) == expected


@pytest.mark.parametrize(
    ("direction", "level", "value", "expected"),
    [
        (HIGHER, "99.5", "99.5", Colour.GREEN),
        (HIGHER, "99.5", "99.6", Colour.GREEN),
        (HIGHER, "99.5", "99.4999", Colour.RED),
        (LOWER, "4", "4", Colour.GREEN),
        (LOWER, "4", "3", Colour.GREEN),
        (LOWER, "4", "4.01", Colour.RED),
    ],
)
def test_target_equal_to_minimum_has_no_yellow_band(direction, level, value, expected):
    thresholds = Thresholds(target=D(level), minimum=D(level), direction=direction)
    assert classify(D(value), thresholds) == expected


def test_classify_never_returns_yellow_when_target_equals_minimum():
    thresholds = Thresholds(target=D("99.5"), minimum=D("99.5"), direction=HIGHER)
    values = [D("99.5") + D(step) / 10000 for step in range(-50, 51)]
    assert {classify(v, thresholds) for v in values} == {Colour.GREEN, Colour.RED}


def test_negative_values_are_classified_for_lower_is_better():
    thresholds = Thresholds(target=D("0"), minimum=D("5"), direction=LOWER)
    assert classify(D("-1"), thresholds) == Colour.GREEN


# ---------------------------------------------------------------------------
# Thresholds validation, is_ordered, is_better, severity
# ---------------------------------------------------------------------------


def test_thresholds_refuse_higher_is_better_target_below_minimum():
    with pytest.raises(ValueError, match=r"target 99\.4 must be at least the minimum 99\.5"):
        Thresholds(target=D("99.4"), minimum=D("99.5"), direction=HIGHER)


def test_thresholds_refuse_lower_is_better_target_above_minimum():
    with pytest.raises(ValueError, match=r"target 9 must be at most the minimum 8"):
        Thresholds(target=D("9"), minimum=D("8"), direction=LOWER)


def test_thresholds_error_message_names_the_direction():
    with pytest.raises(ValueError, match="lower is better"):
        Thresholds(target=D("9"), minimum=D("8"), direction=LOWER)


@pytest.mark.parametrize("direction", [HIGHER, LOWER])
def test_thresholds_accept_target_equal_to_minimum(direction):
    thresholds = Thresholds(target=D("5"), minimum=D("5"), direction=direction)
    assert thresholds.target == thresholds.minimum == D("5")


@pytest.mark.parametrize(
    ("target", "minimum", "direction", "expected"),
    [
        ("99.9", "99.5", HIGHER, True),
        ("99.5", "99.5", HIGHER, True),
        ("99.4", "99.5", HIGHER, False),
        ("4", "8", LOWER, True),
        ("8", "8", LOWER, True),
        ("9", "8", LOWER, False),
    ],
)
def test_is_ordered_requires_target_at_least_as_good_as_minimum(
    target, minimum, direction, expected
):
    assert is_ordered(D(target), D(minimum), direction) is expected


@pytest.mark.parametrize(
    ("a", "b", "direction", "expected"),
    [
        ("2", "1", HIGHER, True),
        ("1", "2", HIGHER, False),
        ("1", "1", HIGHER, False),
        ("1", "2", LOWER, True),
        ("2", "1", LOWER, False),
        ("1", "1", LOWER, False),
    ],
)
def test_is_better_is_strict_and_follows_direction(a, b, direction, expected):
    assert is_better(D(a), D(b), direction) is expected


def test_severity_ranks_red_worst_and_green_best():
    ranked = sorted(SEVERITY, key=SEVERITY.__getitem__, reverse=True)
    assert ranked == [Colour.RED, Colour.LATE, Colour.YELLOW, Colour.NO_DATA, Colour.GREEN]


# ---------------------------------------------------------------------------
# Continuous-improvement ratchet
# ---------------------------------------------------------------------------


P1_RELATIVE = Terms(
    target=D("4"),
    minimum=D("8"),
    direction=LOWER,
    improvement=Improvement.RELATIVE,
    improvement_rate=D("5"),
)

AVAILABILITY_ABSOLUTE = Terms(
    target=D("99.9"),
    minimum=D("99.5"),
    direction=HIGHER,
    improvement=Improvement.ABSOLUTE,
    improvement_rate=D("0.1"),
    improvement_bound=D("100"),
)


@pytest.mark.parametrize(
    ("steps", "target", "minimum"),
    [(0, "4", "8"), (1, "3.8", "7.6"), (2, "3.61", "7.22"), (3, "3.4295", "6.859")],
)
def test_relative_improvement_tightens_lower_is_better_by_five_percent_a_year(
    steps, target, minimum
):
    thresholds = thresholds_in_force(P1_RELATIVE, steps)
    assert thresholds.target == D(target)
    assert thresholds.minimum == D(minimum)
    assert thresholds.direction == LOWER


@pytest.mark.parametrize(
    ("steps", "target", "minimum"),
    [(0, "99.9", "99.5"), (1, "100.0", "99.6"), (2, "100", "99.7"), (3, "100", "99.8")],
)
def test_absolute_improvement_raises_availability_by_a_tenth_never_above_100(
    steps, target, minimum
):
    thresholds = thresholds_in_force(AVAILABILITY_ABSOLUTE, steps)
    assert thresholds.target == D(target)
    assert thresholds.minimum == D(minimum)


def test_absolute_improvement_clamps_both_target_and_minimum_to_the_bound():
    thresholds = thresholds_in_force(AVAILABILITY_ABSOLUTE, 10)
    assert thresholds.target == D("100")
    assert thresholds.minimum == D("100")


def test_ratchet_never_passes_the_bound_in_any_year():
    for steps in range(30):
        thresholds = thresholds_in_force(AVAILABILITY_ABSOLUTE, steps)
        assert thresholds.target <= D("100")
        assert thresholds.minimum <= thresholds.target


def test_relative_improvement_raises_higher_is_better_kpi():
    csat = Terms(
        target=D("4.0"),
        minimum=D("3.5"),
        direction=HIGHER,
        improvement=Improvement.RELATIVE,
        improvement_rate=D("5"),
    )
    thresholds = thresholds_in_force(csat, 1)
    assert thresholds.target == D("4.2")
    assert thresholds.minimum == D("3.675")


def test_relative_improvement_on_higher_is_better_stops_at_the_bound():
    csat = Terms(
        target=D("4.5"),
        minimum=D("4.0"),
        direction=HIGHER,
        improvement=Improvement.RELATIVE,
        improvement_rate=D("10"),
        improvement_bound=D("5"),
    )
    assert thresholds_in_force(csat, 1).target == D("4.95")
    assert thresholds_in_force(csat, 2).target == D("5")
    assert thresholds_in_force(csat, 2).minimum == D("4.84")


@pytest.mark.parametrize(
    ("steps", "target", "minimum"),
    [(0, "4", "8"), (1, "3", "7"), (2, "2", "6"), (3, "2", "5"), (7, "2", "2")],
)
def test_absolute_improvement_on_lower_is_better_stops_at_the_floor(steps, target, minimum):
    terms = Terms(
        target=D("4"),
        minimum=D("8"),
        direction=LOWER,
        improvement=Improvement.ABSOLUTE,
        improvement_rate=D("1"),
        improvement_bound=D("2"),
    )
    thresholds = thresholds_in_force(terms, steps)
    assert thresholds.target == D(target)
    assert thresholds.minimum == D(minimum)


def test_relative_improvement_on_lower_is_better_stops_at_the_floor():
    terms = Terms(
        target=D("4"),
        minimum=D("8"),
        direction=LOWER,
        improvement=Improvement.RELATIVE,
        improvement_rate=D("50"),
        improvement_bound=D("1.5"),
    )
    assert thresholds_in_force(terms, 1) == Thresholds(D("2"), D("4"), LOWER)
    assert thresholds_in_force(terms, 2) == Thresholds(D("1.5"), D("2"), LOWER)
    assert thresholds_in_force(terms, 3) == Thresholds(D("1.5"), D("1.5"), LOWER)


def test_ratchet_rounds_to_six_decimal_places_half_even():
    terms = Terms(
        target=D("1"),
        minimum=D("2"),
        direction=LOWER,
        improvement=Improvement.RELATIVE,
        improvement_rate=D("10"),
    )
    # 0.9 ** 7 = 0.4782969
    assert ratchet(D("1"), terms, 7) == D("0.478297")


@pytest.mark.parametrize("steps", [0, 1, 5])
def test_improvement_none_leaves_thresholds_unchanged(steps):
    terms = Terms(
        target=D("4"),
        minimum=D("8"),
        direction=LOWER,
        improvement=Improvement.NONE,
        improvement_rate=D("5"),
    )
    assert thresholds_in_force(terms, steps) == Thresholds(D("4"), D("8"), LOWER)


@pytest.mark.parametrize("improvement", [Improvement.RELATIVE, Improvement.ABSOLUTE])
def test_zero_improvement_rate_leaves_thresholds_unchanged(improvement):
    terms = Terms(
        target=D("99.9"),
        minimum=D("99.5"),
        direction=HIGHER,
        improvement=improvement,
        improvement_rate=D("0"),
        improvement_bound=D("100"),
    )
    assert thresholds_in_force(terms, 3) == Thresholds(D("99.9"), D("99.5"), HIGHER)


@pytest.mark.parametrize("steps", [-1, -5])
@pytest.mark.parametrize("terms", [P1_RELATIVE, AVAILABILITY_ABSOLUTE])
def test_negative_steps_leave_thresholds_unchanged(terms, steps):
    thresholds = thresholds_in_force(terms, steps)
    assert thresholds.target == terms.target
    assert thresholds.minimum == terms.minimum


def test_default_steps_is_the_year_the_terms_were_agreed():
    assert thresholds_in_force(P1_RELATIVE) == Thresholds(D("4"), D("8"), LOWER)


def test_ratchet_accepts_non_decimal_rate_and_bound():
    terms = Terms(
        target=D("99.9"),
        minimum=D("99.5"),
        direction=HIGHER,
        improvement=Improvement.ABSOLUTE,
        improvement_rate="0.1",
        improvement_bound="100",
    )
    assert thresholds_in_force(terms, 2) == Thresholds(D("100"), D("99.7"), HIGHER)


def test_reading_is_judged_against_the_thresholds_of_its_year():
    # 3.9 h is green in year 1 (target 4) but yellow in year 2 (target 3.8).
    assert classify(D("3.9"), thresholds_in_force(P1_RELATIVE, 0)) == Colour.GREEN
    assert classify(D("3.9"), thresholds_in_force(P1_RELATIVE, 1)) == Colour.YELLOW
    # 7.5 h is yellow in year 2 (minimum 7.6) but red in year 3 (minimum 7.22).
    assert classify(D("7.5"), thresholds_in_force(P1_RELATIVE, 1)) == Colour.YELLOW
    assert classify(D("7.5"), thresholds_in_force(P1_RELATIVE, 2)) == Colour.RED


# ---------------------------------------------------------------------------
# credit_percent()
# ---------------------------------------------------------------------------


AVAILABILITY_TIERS = [
    CreditTier(worse_than=D("99.9"), percent=D("5")),
    CreditTier(worse_than=D("99.5"), percent=D("10")),
]

P1_TIERS = [
    CreditTier(worse_than=D("4"), percent=D("5")),
    CreditTier(worse_than=D("8"), percent=D("10")),
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("100", "0", id="perfect_owes_nothing"),
        pytest.param("99.95", "0", id="better_than_first_level_owes_nothing"),
        pytest.param("99.9", "0", id="exactly_at_first_level_is_not_worse"),
        pytest.param("99.89", "5", id="worse_than_first_level_owes_5"),
        pytest.param("99.5", "5", id="exactly_at_second_level_owes_5"),
        pytest.param("99.49", "10", id="worse_than_second_level_owes_10"),
        pytest.param("0", "10", id="worst_owes_highest_tier"),
    ],
)
def test_higher_is_better_credit_tiers(value, expected):
    assert credit_percent(D(value), AVAILABILITY_TIERS, HIGHER) == D(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("0", "0", id="zero_owes_nothing"),
        pytest.param("3.5", "0", id="better_than_first_level_owes_nothing"),
        pytest.param("4", "0", id="exactly_at_first_level_is_not_worse"),
        pytest.param("4.01", "5", id="worse_than_first_level_owes_5"),
        pytest.param("8", "5", id="exactly_at_second_level_owes_5"),
        pytest.param("8.01", "10", id="worse_than_second_level_owes_10"),
    ],
)
def test_lower_is_better_credit_tiers(value, expected):
    assert credit_percent(D(value), P1_TIERS, LOWER) == D(expected)


def test_credit_tiers_order_does_not_matter():
    reversed_tiers = list(reversed(AVAILABILITY_TIERS))
    for value in ["99.95", "99.9", "99.89", "99.5", "99.49"]:
        assert credit_percent(D(value), reversed_tiers, HIGHER) == credit_percent(
            D(value), AVAILABILITY_TIERS, HIGHER
        )


@pytest.mark.parametrize("direction", [HIGHER, LOWER])
def test_no_credit_tiers_owes_nothing(direction):
    assert credit_percent(D("0"), [], direction) == D("0")


# ---------------------------------------------------------------------------
# periods: start, add, end, days, label
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 10, 17), date(2026, 10, 1)),
        (date(2026, 10, 1), date(2026, 10, 1)),
        (date(2026, 12, 31), date(2026, 12, 1)),
        (date(2028, 2, 29), date(2028, 2, 1)),
    ],
)
def test_monthly_period_starts_on_the_first(day, expected):
    assert period_start(day, MONTHLY) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(date(2026, 1, 1), date(2025, 12, 29), id="thursday_new_year_prev_year"),
        pytest.param(date(2025, 12, 29), date(2025, 12, 29), id="monday_is_its_own_start"),
        pytest.param(date(2026, 1, 4), date(2025, 12, 29), id="sunday_belongs_to_prev_monday"),
        pytest.param(date(2026, 1, 5), date(2026, 1, 5), id="next_monday"),
        pytest.param(date(2026, 10, 17), date(2026, 10, 12), id="saturday"),
    ],
)
def test_weekly_period_starts_on_iso_monday(day, expected):
    assert period_start(day, WEEKLY) == expected
    assert period_start(day, WEEKLY).weekday() == 0


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        (date(2026, 10, 1), 0, date(2026, 10, 1)),
        (date(2026, 10, 1), 1, date(2026, 11, 1)),
        (date(2026, 12, 1), 1, date(2027, 1, 1)),
        (date(2026, 11, 1), 2, date(2027, 1, 1)),
        (date(2026, 1, 1), 24, date(2028, 1, 1)),
        (date(2026, 1, 1), -1, date(2025, 12, 1)),
        (date(2026, 3, 1), -14, date(2025, 1, 1)),
        (date(2026, 1, 1), -13, date(2024, 12, 1)),
    ],
)
def test_add_monthly_periods_across_year_ends(start, count, expected):
    assert add_periods(start, MONTHLY, count) == expected


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        (date(2025, 12, 22), 1, date(2025, 12, 29)),
        (date(2025, 12, 29), 1, date(2026, 1, 5)),
        (date(2026, 1, 5), -2, date(2025, 12, 22)),
        (date(2025, 12, 29), 52, date(2026, 12, 28)),
        (date(2025, 12, 29), 0, date(2025, 12, 29)),
    ],
)
def test_add_weekly_periods_across_year_ends(start, count, expected):
    assert add_periods(start, WEEKLY, count) == expected


@pytest.mark.parametrize(
    ("start", "kind", "expected"),
    [
        (date(2026, 10, 1), MONTHLY, date(2026, 11, 1)),
        (date(2026, 12, 1), MONTHLY, date(2027, 1, 1)),
        (date(2028, 2, 1), MONTHLY, date(2028, 3, 1)),
        (date(2025, 12, 29), WEEKLY, date(2026, 1, 5)),
    ],
)
def test_period_end_is_the_exclusive_first_day_after(start, kind, expected):
    assert period_end(start, kind) == expected


@pytest.mark.parametrize(
    ("start", "kind", "expected"),
    [
        pytest.param(date(2028, 2, 1), MONTHLY, 29, id="feb_leap_2028"),
        pytest.param(date(2026, 2, 1), MONTHLY, 28, id="feb_2026"),
        pytest.param(date(2100, 2, 1), MONTHLY, 28, id="feb_2100_not_leap"),
        pytest.param(date(2000, 2, 1), MONTHLY, 29, id="feb_2000_leap"),
        pytest.param(date(2026, 1, 1), MONTHLY, 31, id="january"),
        pytest.param(date(2026, 4, 1), MONTHLY, 30, id="april"),
        pytest.param(date(2026, 10, 12), WEEKLY, 7, id="weekly"),
        pytest.param(date(2025, 12, 29), WEEKLY, 7, id="weekly_across_year_end"),
    ],
)
def test_period_days(start, kind, expected):
    assert period_days(start, kind) == expected


@pytest.mark.parametrize("kind", [MONTHLY, WEEKLY])
def test_period_days_matches_start_to_end(kind):
    for start in iter_periods(date(2027, 11, 1), date(2028, 3, 31), kind):
        assert (period_end(start, kind) - start).days == period_days(start, kind)


@pytest.mark.parametrize(
    ("start", "kind", "expected"),
    [
        (date(2026, 10, 1), MONTHLY, "2026-10"),
        (date(2026, 1, 1), MONTHLY, "2026-01"),
        (date(2026, 10, 12), WEEKLY, "2026-W42"),
        pytest.param(date(2025, 12, 29), WEEKLY, "2026-W01", id="iso_year_after_calendar_year"),
        pytest.param(date(2026, 12, 28), WEEKLY, "2026-W53", id="53_week_year"),
        (date(2027, 1, 4), WEEKLY, "2027-W01"),
        (date(2026, 1, 5), WEEKLY, "2026-W02"),
    ],
)
def test_period_label(start, kind, expected):
    assert period_label(start, kind) == expected


@pytest.mark.parametrize(
    "label", ["2025-W52", "2026-W01", "2026-W42", "2026-W53", "2027-W01", "2020-W53"]
)
def test_weekly_label_round_trips_through_parse_period(label):
    assert period_label(parse_period(label, WEEKLY), WEEKLY) == label


@pytest.mark.parametrize("label", ["2026-01", "2026-10", "2026-12", "2028-02"])
def test_monthly_label_round_trips_through_parse_period(label):
    assert period_label(parse_period(label, MONTHLY), MONTHLY) == label


# ---------------------------------------------------------------------------
# periods: ranges
# ---------------------------------------------------------------------------


def test_iter_monthly_periods_includes_both_bounds_across_year_end():
    assert list(iter_periods(date(2026, 11, 15), date(2027, 2, 3), MONTHLY)) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
        date(2027, 2, 1),
    ]


def test_iter_weekly_periods_includes_both_bounds_across_year_end():
    assert list(iter_periods(date(2025, 12, 31), date(2026, 1, 12), WEEKLY)) == [
        date(2025, 12, 29),
        date(2026, 1, 5),
        date(2026, 1, 12),
    ]


@pytest.mark.parametrize("kind", [MONTHLY, WEEKLY])
def test_iter_periods_within_one_period_yields_it_once(kind):
    assert list(iter_periods(date(2026, 10, 13), date(2026, 10, 14), kind)) == [
        period_start(date(2026, 10, 13), kind)
    ]


@pytest.mark.parametrize("kind", [MONTHLY, WEEKLY])
def test_iter_periods_with_last_before_first_is_empty(kind):
    assert list(iter_periods(date(2026, 10, 1), date(2026, 8, 1), kind)) == []


@pytest.mark.parametrize(
    ("a", "b", "kind", "expected"),
    [
        (date(2025, 11, 1), date(2026, 2, 1), MONTHLY, 3),
        (date(2026, 2, 1), date(2025, 11, 1), MONTHLY, -3),
        (date(2026, 2, 1), date(2026, 2, 1), MONTHLY, 0),
        (date(2025, 1, 1), date(2027, 1, 1), MONTHLY, 24),
        (date(2025, 12, 29), date(2026, 1, 19), WEEKLY, 3),
        (date(2026, 1, 19), date(2025, 12, 29), WEEKLY, -3),
        (date(2025, 12, 29), date(2025, 12, 29), WEEKLY, 0),
    ],
)
def test_periods_between(a, b, kind, expected):
    assert periods_between(a, b, kind) == expected


@pytest.mark.parametrize("kind", [MONTHLY, WEEKLY])
@pytest.mark.parametrize("count", [-30, -1, 0, 1, 13, 60])
def test_periods_between_inverts_add_periods(kind, count):
    start = period_start(date(2026, 1, 1), kind)
    assert periods_between(start, add_periods(start, kind, count), kind) == count


@pytest.mark.parametrize(
    ("today", "kind", "expected"),
    [
        (date(2026, 10, 17), MONTHLY, date(2026, 9, 1)),
        pytest.param(date(2026, 10, 1), MONTHLY, date(2026, 9, 1), id="first_of_month"),
        (date(2026, 1, 15), MONTHLY, date(2025, 12, 1)),
        (date(2026, 1, 1), WEEKLY, date(2025, 12, 22)),
        pytest.param(date(2026, 1, 5), WEEKLY, date(2025, 12, 29), id="on_a_monday"),
        (date(2026, 1, 4), WEEKLY, date(2025, 12, 22)),
    ],
)
def test_last_closed_period(today, kind, expected):
    assert last_closed_period(today, kind) == expected


# ---------------------------------------------------------------------------
# contract_year
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 3, 15), 1),
        (date(2025, 12, 31), 1),
        (date(2026, 3, 14), 1),
        (date(2026, 3, 15), 2),
        (date(2027, 3, 14), 2),
        (date(2027, 3, 15), 3),
        pytest.param(date(2025, 3, 14), 1, id="before_start_is_year_1"),
        pytest.param(date(2020, 1, 1), 1, id="long_before_start_is_year_1"),
    ],
)
def test_contract_year_turns_on_the_anniversary(day, expected):
    assert contract_year(date(2025, 3, 15), day) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 1, 31), 1),
        (date(2025, 2, 28), 1),
        (date(2025, 12, 31), 1),
        (date(2026, 1, 30), 1),
        (date(2026, 1, 31), 2),
        (date(2026, 2, 28), 2),
        (date(2027, 1, 30), 2),
        (date(2027, 1, 31), 3),
    ],
)
def test_contract_year_for_start_on_the_31st(day, expected):
    assert contract_year(date(2025, 1, 31), day) == expected


def test_contract_year_for_start_on_the_first_of_january():
    start = date(2026, 1, 1)
    assert contract_year(start, date(2026, 12, 31)) == 1
    assert contract_year(start, date(2027, 1, 1)) == 2


@pytest.mark.parametrize(
    ("start", "year", "expected"),
    [
        (date(2026, 1, 1), 1, date(2026, 1, 1)),
        (date(2026, 1, 1), 2, date(2027, 1, 1)),
        (date(2024, 3, 15), 1, date(2024, 3, 1)),
        pytest.param(date(2024, 3, 15), 2, date(2025, 4, 1), id="mid_month_anniversary"),
        (date(2025, 1, 31), 3, date(2027, 2, 1)),
    ],
)
def test_contract_year_first_month_is_the_first_month_counted_in_that_year(start, year, expected):
    first = contract_year_first_month(start, year)
    assert first == expected
    assert contract_year(start, first) == year
    if year > 1:
        assert contract_year(start, add_periods(first, Period.MONTHLY, -1)) == year - 1


# ---------------------------------------------------------------------------
# parse_period
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-10", date(2026, 10, 1)),
        ("2026-10-01", date(2026, 10, 1)),
        ("2026-10-17", date(2026, 10, 1)),
        (" 2026-7 ", date(2026, 7, 1)),
        ("2026-07", date(2026, 7, 1)),
        ("2026-12-31", date(2026, 12, 1)),
        ("2028-02-29", date(2028, 2, 1)),
    ],
)
def test_parse_monthly_period(text, expected):
    assert parse_period(text, MONTHLY) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-W42", date(2026, 10, 12)),
        ("2026w42", date(2026, 10, 12)),
        ("2026W42", date(2026, 10, 12)),
        ("2026-w42", date(2026, 10, 12)),
        (" 2026-W42 ", date(2026, 10, 12)),
        ("2026-W01", date(2025, 12, 29)),
        ("2026-W1", date(2025, 12, 29)),
        ("2026-W53", date(2026, 12, 28)),
        pytest.param("2026-10-17", date(2026, 10, 12), id="saturday_date_to_monday"),
        pytest.param("2026-10-12", date(2026, 10, 12), id="monday_date"),
        pytest.param("2026-10-18", date(2026, 10, 12), id="sunday_date_to_monday"),
        pytest.param("2026-01-01", date(2025, 12, 29), id="new_year_to_prev_year_monday"),
    ],
)
def test_parse_weekly_period(text, expected):
    assert parse_period(text, WEEKLY) == expected


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("2026-13", MONTHLY),
        ("2026-0", MONTHLY),
        ("2026-00", MONTHLY),
        ("October", MONTHLY),
        ("", MONTHLY),
        ("   ", MONTHLY),
        ("2026/10", MONTHLY),
        ("2026-02-30", MONTHLY),
        ("2026-W54", WEEKLY),
        ("2026-W00", WEEKLY),
        pytest.param("2025-W53", WEEKLY, id="2025_has_only_52_weeks"),
        ("October", WEEKLY),
        ("", WEEKLY),
        ("2026-13", WEEKLY),
        ("2026-10", WEEKLY),
    ],
)
def test_parse_period_rejects_bad_text_naming_it(text, kind):
    with pytest.raises(ValueError, match=re.escape(repr(text.strip()))):
        parse_period(text, kind)


def test_parse_monthly_period_error_suggests_the_monthly_format():
    with pytest.raises(ValueError, match="2026-10"):
        parse_period("October", MONTHLY)


def test_parse_weekly_period_error_suggests_the_weekly_format():
    with pytest.raises(ValueError, match="2026-W42"):
        parse_period("October", WEEKLY)


def test_parse_period_month_error_names_the_month():
    with pytest.raises(ValueError, match="has no month 13"):
        parse_period("2026-13", MONTHLY)


@pytest.mark.parametrize("text", ["2026-10-170", "2026-10-17abc"])
def test_parse_period_rejects_trailing_garbage_after_a_date(text):
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_period(text, MONTHLY)


# ---------------------------------------------------------------------------
# governance.recommend_mode()
# ---------------------------------------------------------------------------


def recommend(**overrides):
    kwargs = {
        "annual_value": D("120000"),
        "currency": "EUR",
        "threshold": D("50000"),
        "threshold_currency": "EUR",
        "start": date(2026, 1, 1),
        "end": date(2027, 12, 31),
        "is_commodity": False,
        "adversarial": False,
        "clauses": None,
    }
    kwargs.update(overrides)
    return recommend_mode(**kwargs)


def test_value_under_threshold_recommends_compliance_and_names_threshold():
    result = recommend(annual_value=D("49000"))
    assert result.mode == Mode.COMPLIANCE
    assert len(result.reasons) == 1
    assert "50,000 EUR threshold" in result.reasons[0]
    assert "49,000 EUR" in result.reasons[0]


def test_value_exactly_at_threshold_is_not_under_it():
    result = recommend(annual_value=D("50000"))
    assert result.mode == Mode.PROACTIVE
    assert "at or above the 50,000 EUR threshold" in result.reasons[0]


def test_threshold_reason_uses_each_amounts_own_currency():
    result = recommend(annual_value=D("10000"), currency="GBP", threshold_currency="EUR")
    assert "10,000 GBP" in result.reasons[0]
    assert "50,000 EUR" in result.reasons[0]


@pytest.mark.parametrize(
    ("start", "end", "under_six"),
    [
        pytest.param(date(2026, 1, 1), date(2026, 6, 30), False, id="jan1_jun30_is_six_months"),
        pytest.param(date(2026, 1, 1), date(2026, 5, 31), True, id="jan1_may31_is_five_months"),
        pytest.param(date(2026, 1, 1), date(2026, 6, 29), True, id="one_day_short_of_six"),
        pytest.param(date(2026, 1, 15), date(2026, 7, 14), False, id="mid_month_six_months"),
        pytest.param(date(2026, 1, 15), date(2026, 7, 13), True, id="mid_month_one_day_short"),
        pytest.param(date(2026, 1, 1), date(2026, 1, 1), True, id="one_day_term"),
        pytest.param(date(2026, 1, 1), date(2026, 12, 31), False, id="one_year"),
    ],
)
def test_term_under_six_months_recommends_compliance(start, end, under_six):
    result = recommend(start=start, end=end)
    if under_six:
        assert result.mode == Mode.COMPLIANCE
        assert any("under six months" in reason for reason in result.reasons)
    else:
        assert result.mode == Mode.PROACTIVE
        assert not any("under six months" in reason for reason in result.reasons)


def test_five_month_term_reason_names_the_months():
    result = recommend(end=date(2026, 5, 31))
    assert result.reasons == ["the term of 5 months is under six months"]


def test_six_month_term_is_proactive_and_says_six_months():
    result = recommend(end=date(2026, 6, 30))
    assert result.mode == Mode.PROACTIVE
    assert any("6-month term" in reason for reason in result.reasons)


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2026, 1, 1), date(2026, 7, 1), 6),
        (date(2026, 1, 1), date(2026, 6, 30), 5),
        (date(2026, 1, 15), date(2026, 7, 15), 6),
        (date(2026, 1, 15), date(2026, 7, 14), 5),
        (date(2026, 1, 1), date(2028, 1, 1), 24),
        (date(2026, 1, 1), date(2026, 1, 1), 0),
        pytest.param(date(2026, 6, 1), date(2026, 1, 1), 0, id="end_before_start_is_zero"),
    ],
)
def test_term_months_counts_whole_months_to_an_exclusive_end(start, end, months):
    assert term_months(start, end) == months


def test_commodity_service_recommends_compliance():
    result = recommend(is_commodity=True)
    assert result.mode == Mode.COMPLIANCE
    assert len(result.reasons) == 1
    assert "commodity" in result.reasons[0]


def test_adversarial_relationship_recommends_compliance():
    result = recommend(adversarial=True)
    assert result.mode == Mode.COMPLIANCE
    assert len(result.reasons) == 1
    assert "adversarial" in result.reasons[0]


def test_several_compliance_reasons_are_all_listed():
    result = recommend(
        annual_value=D("1000"),
        end=date(2026, 3, 31),
        is_commodity=True,
        adversarial=True,
    )
    assert result.mode == Mode.COMPLIANCE
    assert len(result.reasons) == 4
    assert "threshold" in result.reasons[0]
    assert "the term of 3 months is under six months" in result.reasons[1]
    assert "commodity" in result.reasons[2]
    assert "adversarial" in result.reasons[3]


def test_two_compliance_reasons_are_both_listed():
    result = recommend(is_commodity=True, adversarial=True)
    assert result.mode == Mode.COMPLIANCE
    assert len(result.reasons) == 2


def test_proactive_otherwise_with_reasons():
    result = recommend()
    assert result.mode == Mode.PROACTIVE
    assert len(result.reasons) == 3
    assert "120,000 EUR is at or above the 50,000 EUR threshold" in result.reasons[0]
    assert "24-month term" in result.reasons[1]
    assert "relationship" in result.reasons[2]


def test_missing_clauses_lists_clauses_given_as_false():
    result = recommend(
        clauses={
            "performance reviews": True,
            "data sharing": False,
            "continuous improvement": False,
        }
    )
    assert result.mode == Mode.PROACTIVE
    assert result.missing_clauses == ["data sharing", "continuous improvement"]


@pytest.mark.parametrize(
    "clauses",
    [None, {}, {"performance reviews": True, "data sharing": True}],
)
def test_no_missing_clauses_when_none_given_as_false(clauses):
    assert recommend(clauses=clauses).missing_clauses == []


def test_under_threshold_reason_does_not_show_the_value_equal_to_the_threshold():
    result = recommend(annual_value=D("49999.60"))
    assert result.mode == Mode.COMPLIANCE
    assert "50,000 EUR is under the 50,000 EUR threshold" not in result.reasons[0]


def test_parse_period_accepts_a_spreadsheet_datetime():
    assert parse_period("2026-10-17 08:30:00", MONTHLY) == date(2026, 10, 1)


def test_ratcheted_whole_numbers_print_without_exponent():
    terms = Terms(
        target=D("99.9"),
        minimum=D("99.5"),
        direction=Direction.HIGHER,
        improvement=Improvement.ABSOLUTE,
        improvement_rate=D("0.1"),
        improvement_bound=D("100"),
    )
    assert str(thresholds_in_force(terms, 3).target) == "100"
