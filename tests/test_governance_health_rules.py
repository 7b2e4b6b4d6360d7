"""Governance health rules (reviews.health): each rule with exact cases, at its edges."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from reviews import health
from reviews.health import (
    ActionFact,
    ContractFacts,
    DueFact,
    EscalationFact,
    ReviewFact,
    Rule,
    SlaFact,
    WarningFact,
)

TODAY = date(2026, 12, 7)


def facts(**changes) -> ContractFacts:
    """A well-governed monthly proactive contract: reviewed last week, next one planned."""
    base = ContractFacts(
        proactive=True,
        cadence_months=1,
        start_date=date(2025, 1, 1),
        end_date=date(2028, 12, 31),
        owner="Bob Baker",
        owner_active=True,
        reviews=(
            ReviewFact(date(2026, 11, 1), date(2026, 11, 30), held_on=date(2026, 11, 30)),
            ReviewFact(date(2026, 11, 30), date(2026, 12, 28), held_on=None),
        ),
        slas=(SlaFact("AVAIL", date(2025, 1, 1), checked_on=(date(2026, 11, 30),)),),
    )
    return replace(base, **changes)


def rules(h) -> dict[Rule, int]:
    return {f.rule: f.points for f in h.findings}


def test_a_well_governed_contract_scores_100_with_nothing_neglected():
    h = health.health_of(facts(), TODAY)
    assert (h.score, h.findings, h.band) == (100, (), health.Band.GOOD)
    assert h.summary == "Nothing neglected."


@pytest.mark.parametrize(
    ("held", "cadence", "lost"),
    [
        (date(2026, 11, 1), 1, 0),  # 36 days: within 31 + 14
        (date(2026, 10, 23), 1, 0),  # 45 days: the last day of grace
        (date(2026, 10, 22), 1, 25),  # 46 days: one too many
        (date(2026, 8, 23), 3, 0),  # 106 days: quarterly, 92 + 14
        (date(2026, 8, 22), 3, 25),  # 107 days
    ],
)
def test_a_review_must_be_held_within_the_cadence_and_two_weeks_grace(held, cadence, lost):
    reviews = (
        ReviewFact(date(2026, 1, 1), held, held_on=held),
        ReviewFact(date(2026, 12, 1), date(2026, 12, 28), held_on=None),
    )
    h = health.health_of(facts(reviews=reviews, cadence_months=cadence), TODAY)
    assert rules(h).get(Rule.REVIEW_OVERDUE, 0) == lost


def test_a_contract_never_reviewed_counts_from_its_start():
    new = facts(start_date=date(2026, 11, 1), reviews=(), slas=())
    assert Rule.REVIEW_OVERDUE not in rules(health.health_of(new, TODAY))  # 36 days
    old = facts(start_date=date(2026, 9, 1), reviews=())
    h = health.health_of(old, TODAY)
    assert rules(h)[Rule.REVIEW_OVERDUE] == 25
    assert "since the contract started 97 days ago (monthly cadence)" in h.findings[0].words


def test_no_next_review_planned_costs_ten_and_a_cancelled_one_does_not_count():
    held = ReviewFact(date(2026, 11, 1), date(2026, 11, 30), held_on=date(2026, 11, 30))
    cancelled = ReviewFact(date(2026, 12, 1), date(2026, 12, 28), None, cancelled=True)
    h = health.health_of(facts(reviews=(held, cancelled)), TODAY)
    assert rules(h) == {Rule.NO_NEXT_REVIEW: 10}
    assert h.score == 90


def test_a_review_planned_after_the_day_judged_does_not_count_for_that_day():
    """History replays what was known then: a review put in the calendar later is no excuse."""
    held = ReviewFact(date(2026, 10, 1), date(2026, 10, 30), held_on=date(2026, 10, 30))
    later = ReviewFact(date(2026, 12, 1), date(2026, 12, 28), held_on=None)
    h = health.health_of(facts(reviews=(held, later)), date(2026, 11, 30))
    assert Rule.NO_NEXT_REVIEW in rules(h)
    assert Rule.NO_NEXT_REVIEW not in rules(health.health_of(facts(reviews=(held, later)), TODAY))


@pytest.mark.parametrize(("overdue", "lost"), [(0, 0), (1, 5), (4, 20), (5, 25), (9, 25)])
def test_overdue_action_items_cost_five_each_at_most_25(overdue, lost):
    actions = [ActionFact(date(2026, 11, 1), None) for _ in range(overdue)]
    actions += [ActionFact(date(2026, 12, 7), None)]  # due today: not overdue yet
    actions += [ActionFact(date(2026, 11, 1), date(2026, 11, 2))]  # closed late, but closed
    h = health.health_of(facts(actions=actions), TODAY)
    assert rules(h).get(Rule.ACTIONS_OVERDUE, 0) == lost


def test_an_action_closed_after_the_day_judged_was_overdue_on_that_day():
    action = ActionFact(date(2026, 10, 15), closed_on=date(2026, 12, 1))
    assert rules(health.health_of(facts(actions=[action]), date(2026, 11, 30))) == {
        Rule.ACTIONS_OVERDUE: 5
    }
    assert rules(health.health_of(facts(actions=[action]), TODAY)) == {}


def test_late_data_counts_periods_due_in_the_last_quarter_received_after_the_deadline():
    due = [
        DueFact("AVAIL", "Oct 2026", date(2026, 11, 5), date(2026, 11, 5)),  # on the last day
        DueFact("AVAIL", "Sep 2026", date(2026, 10, 5), date(2026, 10, 6)),  # a day late
        DueFact("MTTR", "Nov 2026", date(2026, 12, 5), None),  # missing after its deadline
        DueFact("MTTR", "Dec 2026", date(2027, 1, 5), None),  # not due yet
        DueFact("MTTR", "Jul 2026", date(2026, 8, 5), None),  # before the last 92 days
    ]
    h = health.health_of(facts(due=due), TODAY)
    assert rules(h) == {Rule.LATE_DATA: 10}
    assert h.findings[0].words == (
        "Data late for 2 periods in the last quarter (AVAIL Sep 2026, MTTR Nov 2026)."
    )


def test_late_data_costs_at_most_20():
    due = [DueFact("A", f"p{i}", date(2026, 11, i + 1), None) for i in range(7)]
    assert rules(health.health_of(facts(due=due), TODAY)) == {Rule.LATE_DATA: 20}


def test_escalations_past_their_due_by_cost_ten_each_at_most_20():
    past = EscalationFact(date(2026, 11, 1), date(2026, 11, 3), met_on=None, resolved_on=None)
    met = EscalationFact(date(2026, 11, 1), date(2026, 11, 3), date(2026, 11, 2), None)
    resolved = EscalationFact(date(2026, 11, 1), date(2026, 11, 3), None, date(2026, 11, 20))
    running = EscalationFact(date(2026, 12, 6), date(2026, 12, 8), None, None)
    h = health.health_of(facts(escalations=[past, met, resolved, running]), TODAY)
    assert rules(h) == {Rule.ESCALATIONS_PAST_DUE: 10}
    assert h.findings[0].words == "1 escalation past its due-by (the oldest due 3 Nov 2026)."
    many = health.health_of(facts(escalations=[past] * 3), TODAY)
    assert rules(many) == {Rule.ESCALATIONS_PAST_DUE: 20}
    # On 15 Nov the resolved one was still open past its due-by: two then.
    then = health.health_of(facts(escalations=[past, resolved]), date(2026, 11, 15))
    assert rules(then)[Rule.ESCALATIONS_PAST_DUE] == 20


def test_an_owner_who_left_or_no_owner_costs_fifteen():
    h = health.health_of(facts(owner_active=False), TODAY)
    assert rules(h) == {Rule.OWNER_INACTIVE: 15}
    assert h.findings[0].words == "The owner, Bob Baker, is no longer an active member."
    nobody = health.health_of(facts(owner="", owner_active=False), TODAY)
    assert nobody.findings[0].words == "The contract has no owner."


def test_slas_not_checked_for_relevance_in_the_last_quarter_cost_ten():
    slas = (
        SlaFact("AVAIL", date(2025, 1, 1), checked_on=(date(2026, 9, 6),)),  # 92 days: outside
        SlaFact("MTTR", date(2025, 1, 1), checked_on=(date(2026, 9, 7),)),  # 91 days: inside
        SlaFact("CSAT", date(2026, 10, 1)),  # added 67 days ago: not due yet
    )
    h = health.health_of(facts(slas=slas), TODAY)
    assert rules(h) == {Rule.RELEVANCE: 10}
    assert h.findings[0].words == (
        "1 of 2 SLAs not checked for relevance at a review in the last quarter (AVAIL)."
    )


def test_a_contract_younger_than_a_quarter_owes_no_relevance_check():
    young = facts(start_date=date(2026, 10, 1), slas=(SlaFact("AVAIL", date(2026, 10, 1)),))
    assert Rule.RELEVANCE not in rules(health.health_of(young, TODAY))


def test_vendor_warnings_unanswered_for_over_a_week_cost_five_each_at_most_15():
    old = WarningFact(date(2026, 11, 29), None, None)  # 8 days
    week = WarningFact(date(2026, 11, 30), None, None)  # 7 days: not yet
    answered = WarningFact(date(2026, 11, 1), date(2026, 11, 3), None)
    closed = WarningFact(date(2026, 11, 1), None, date(2026, 11, 5))
    h = health.health_of(facts(warnings=[old, week, answered, closed]), TODAY)
    assert rules(h) == {Rule.WARNINGS_UNACKNOWLEDGED: 5}
    assert rules(health.health_of(facts(warnings=[old] * 4), TODAY)) == {
        Rule.WARNINGS_UNACKNOWLEDGED: 15
    }


def test_a_compliance_contract_is_judged_on_compliance_only():
    neglected = facts(
        proactive=False,
        reviews=(),
        actions=[ActionFact(date(2026, 1, 1), None)],
        warnings=[WarningFact(date(2026, 1, 1), None, None)],
        slas=(SlaFact("AVAIL", date(2025, 1, 1)),),
    )
    assert health.health_of(neglected, TODAY).score == 100
    late = replace(
        neglected, owner_active=False, due=[DueFact("A", "Nov", date(2026, 12, 5), None)]
    )
    assert rules(health.health_of(late, TODAY)) == {Rule.LATE_DATA: 5, Rule.OWNER_INACTIVE: 15}


def test_the_score_never_goes_below_zero_and_the_bands_have_exact_edges():
    worst = facts(
        reviews=(),
        start_date=date(2025, 1, 1),
        owner_active=False,
        actions=[ActionFact(date(2026, 1, 1), None)] * 9,
        due=[DueFact("A", str(i), date(2026, 11, i + 1), None) for i in range(9)],
        escalations=[EscalationFact(date(2026, 1, 1), date(2026, 1, 2), None, None)] * 3,
        slas=(SlaFact("AVAIL", date(2025, 1, 1)),),
        warnings=[WarningFact(date(2026, 1, 1), None, None)] * 5,
    )
    h = health.health_of(worst, TODAY)
    assert sum(f.points for f in h.findings) == 25 + 10 + 25 + 20 + 20 + 15 + 10 + 15
    assert (h.score, h.band, h.colour) == (0, health.Band.POOR, "red")
    for score, band in ((80, "good"), (79, "watch"), (60, "watch"), (59, "poor")):
        assert health.GovernanceHealth(TODAY, score).band == band


def test_outside_the_term_there_is_no_health():
    assert health.health_of(facts(start_date=date(2027, 1, 1)), TODAY) is None
    assert health.health_of(facts(end_date=date(2026, 12, 6)), TODAY) is None


def test_month_ends_are_the_last_days_of_the_months_before_then_today():
    assert health.month_ends(date(2026, 3, 15), 4) == [
        date(2025, 12, 31), date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 15)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([100, 90, 80], True),
        ([100, 90, 90], False),  # fell once, then held
        ([90, 100, 80], False),
        ([None, 90, 80], False),  # too young to say
        ([100, 100, 90, 80], True),  # only the last three matter
        ([80, 90], False),
    ],
)
def test_sliding_back_means_falling_two_months_running(scores, expected):
    assert health.sliding(scores) is expected
