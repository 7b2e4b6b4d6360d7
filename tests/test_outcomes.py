"""
Outcomes per quarter: each definition on exact cases (pure, `reviews.outcomes`),
and the trend against the quarter before. The selector over a built world is
in test_outcomes_data.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from escalations import ahead
from escalations.backtest import score
from reviews import outcomes
from reviews.outcomes import (
    ActionFact,
    CreditFact,
    EpisodeFact,
    EscalationFact,
    EventFact,
    Facts,
    PeriodFact,
    WarningFact,
)
from reviews.outcomes_trend import trend

BERLIN = ZoneInfo("Europe/Berlin")
TODAY = date(2026, 5, 20)  # 2026 Q2


def at(day: str, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


def esc(pk=1, *, level=1, resolved="2026-04-10", red=False, kind="performance", quiet=False,
        quiet_ended=None) -> EscalationFact:  # fmt: skip
    return EscalationFact(
        pk=pk, contract_id=10, kind=kind, level=level,
        resolved_at=at(resolved) if resolved else None, reached_red=red, quiet_running=quiet,
        quiet_ended_at=at(quiet_ended) if quiet_ended else None,
    )  # fmt: skip


def episode(pk=1, *, escalation=1, cleared="2026-04-08", breached=False) -> EpisodeFact:
    return EpisodeFact(
        pk=pk, contract_id=10, escalation_id=escalation,
        cleared_at=at(cleared) if cleared else None, breached=breached,
    )  # fmt: skip


def quarters(facts: Facts, tz=UTC, today=TODAY, count=2):
    return outcomes.by_quarter(facts, today=today, tz=tz, quarters=count)


# --- Quarters ----------------------------------------------------------------------------


def test_quarters_are_calendar_quarters_up_to_today_oldest_first():
    assert outcomes.quarter_starts(date(2026, 1, 1), 3) == [
        date(2025, 7, 1), date(2025, 10, 1), date(2026, 1, 1),
    ]  # fmt: skip
    assert outcomes.quarter_label(date(2026, 7, 1)) == "2026 Q3"
    assert [q.label for q in quarters(Facts(), today=date(2026, 12, 31), count=4)] == [
        "2026 Q1", "2026 Q2", "2026 Q3", "2026 Q4",
    ]  # fmt: skip


@pytest.mark.parametrize("count", [0, -1, 41])
def test_a_number_of_quarters_out_of_range_is_refused_by_name(count):
    with pytest.raises(ValueError, match="quarters: from 1 to 40"):
        outcomes.quarter_starts(TODAY, count)


def test_a_moment_counts_in_the_quarter_of_its_local_day():
    # 31 March 23:30 UTC is 1 April 01:30 in Berlin: the second quarter there.
    late = [
        EscalationFact(1, 10, "performance", 1, datetime(2026, 3, 31, 23, 30, tzinfo=UTC), False)
    ]
    in_utc = quarters(Facts(escalations=late))
    in_berlin = quarters(Facts(escalations=late), tz=BERLIN)
    assert [q.breaches_avoided for q in in_utc] == [1, 0]
    assert [q.breaches_avoided for q in in_berlin] == [0, 1]


# --- Breaches avoided --------------------------------------------------------------------


def test_an_escalation_resolved_before_red_with_its_early_warning_counts_once():
    facts = Facts(escalations=[esc()], episodes=[episode()])
    assert outcomes.avoided(facts.escalations, facts.episodes) == [at("2026-04-10")]
    assert [q.breaches_avoided for q in quarters(facts)] == [0, 1]


def test_it_counts_in_the_quarter_its_last_part_ended():
    # The escalation ended in March, its early warning cleared in April.
    facts = Facts(
        escalations=[esc(resolved="2026-03-30")], episodes=[episode(cleared="2026-04-02")]
    )
    assert [q.breaches_avoided for q in quarters(facts)] == [0, 1]


def test_an_escalation_that_reached_red_does_not_count():
    assert outcomes.avoided([esc(red=True)], [episode()]) == []
    assert outcomes.avoided([esc()], [episode(breached=True)]) == []  # its warning saw red


def test_an_early_warning_cleared_without_a_breach_counts_on_its_own():
    alone = episode(escalation=None, cleared="2026-05-02")
    assert outcomes.avoided([], [alone]) == [at("2026-05-02")]
    assert outcomes.avoided([], [episode(escalation=None, breached=True)]) == []


def test_a_level_zero_early_warning_and_its_episode_count_once():
    assert outcomes.avoided([esc(level=0)], [episode()]) == [at("2026-04-10")]


def test_what_has_not_ended_does_not_count_yet():
    assert outcomes.avoided([esc(resolved=None)], [episode()]) == []  # still open
    assert outcomes.avoided([esc()], [episode(cleared=None)]) == []  # its warning still on
    assert outcomes.avoided([], [episode(escalation=None, cleared=None)]) == []


def test_a_manual_resolve_counts_once_its_quiet_period_is_over():
    assert outcomes.avoided([esc(quiet=True)], []) == []
    ended = esc(resolved="2026-03-20", quiet_ended="2026-04-15")
    assert outcomes.avoided([ended], []) == [at("2026-04-15")]


def test_a_vendor_warning_escalation_a_data_escalation_or_nothing_asked_do_not_count():
    assert outcomes.avoided([esc(level=0)], []) == []  # level 0 with no early warning
    assert outcomes.avoided([esc(kind="data")], []) == []


# --- Breaches and warned ahead -----------------------------------------------------------


def months(sla: int, colours: str, first=date(2026, 1, 1), arrive_day=3) -> list[PeriodFact]:
    """One monthly status per letter (r red, g green, - missing data), data in on `arrive_day`."""
    out = []
    for i, c in enumerate(colours):
        start = date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1)
        end = date(start.year + start.month // 12, start.month % 12 + 1, arrive_day)
        arrived = None if c == "-" else datetime(end.year, end.month, end.day, 8, tzinfo=UTC)
        out.append(PeriodFact(sla, 10, "monthly", start, c == "r", arrived))
    return out


def warning(raised: str, ended: str | None = None, sla=1) -> WarningFact:
    return WarningFact(sla, 10, at(raised), at(ended) if ended else None)


def test_only_the_first_red_period_of_a_run_is_a_breach_and_a_gap_starts_a_new_one():
    # Jan g, Feb r, Mar r, Apr g, May r, Jun -, Jul r
    onsets = outcomes.breach_onsets(months(1, "grrgr-r"), [])
    assert onsets == [(date(2026, 2, 1), False), (date(2026, 5, 1), False),
                      (date(2026, 7, 1), False)]  # fmt: skip


def test_a_breach_is_warned_ahead_by_a_warning_open_before_its_data_came_in():
    statuses = months(1, "gggr")  # April red, its data in on 3 May
    assert outcomes.breach_onsets(statuses, [warning("2026-04-20")]) == [(date(2026, 4, 1), True)]
    # Raised as April's data came in (3 May, 08:00): it foretold nothing.
    late = WarningFact(1, 10, datetime(2026, 5, 3, 8, tzinfo=UTC), None)
    assert outcomes.breach_onsets(statuses, [late]) == [(date(2026, 4, 1), False)]


def test_a_warning_three_periods_ahead_counts_and_one_closed_before_then_does_not():
    statuses = months(1, "gggggr")  # June red; March's data in on 3 April
    on_in_march = warning("2026-04-03", "2026-04-10")  # open after March's data came in
    assert outcomes.breach_onsets(statuses, [on_in_march]) == [(date(2026, 6, 1), True)]
    closed_before = warning("2026-03-10", "2026-04-02")  # closed before March's data
    assert outcomes.breach_onsets(statuses, [closed_before]) == [(date(2026, 6, 1), False)]


def test_a_warning_on_another_sla_or_only_while_it_was_red_warns_of_nothing():
    assert outcomes.breach_onsets(months(1, "ggr"), [warning("2026-02-10", sla=2)]) == [
        (date(2026, 3, 1), False)
    ]
    # Red in February, green in March, red in April: a warning open only while February was
    # the latest data (red) was not ahead of April's breach.
    statuses = months(1, "grgr")
    during_red = warning("2026-03-04", "2026-04-02")
    assert outcomes.breach_onsets(statuses, [during_red]) == [
        (date(2026, 2, 1), False), (date(2026, 4, 1), False),
    ]  # fmt: skip


def test_a_period_without_data_lends_its_window_to_the_period_before():
    # March has no data: February's window runs until April's data came in (3 May).
    statuses = months(1, "gg-r")
    assert outcomes.breach_onsets(statuses, [warning("2026-04-15", "2026-04-20")]) == [
        (date(2026, 4, 1), True)
    ]


def test_warned_ahead_is_the_back_tests_rule():
    red = [False, False, False, False, True]
    on = [True, False, False, False, False]  # four periods ahead: too early
    assert ahead.warned_lead(red, on, 4) is None
    assert ahead.warned_lead(red, [False, True, False, False, False], 4) == 3
    assert score.breaches is ahead.breaches  # one definition


def test_breaches_and_warned_breaches_per_quarter():
    statuses = months(1, "gggrgggr", first=date(2025, 12, 1))  # red March and July
    facts = Facts(periods=statuses, warnings=[warning("2026-05-10")])
    result = quarters(facts, today=date(2026, 7, 15), count=3)
    assert [(q.label, q.breaches, q.breaches_warned) for q in result] == [
        ("2026 Q1", 1, 0), ("2026 Q2", 0, 0), ("2026 Q3", 1, 1),
    ]  # fmt: skip


# --- Time to acknowledge and to resolve ------------------------------------------------


def event(kind: str, moment: datetime, level=1, escalation=1, opened=None) -> EventFact:
    return EventFact(escalation, 10, opened or at("2026-04-01"), kind, moment, level)


def test_an_acknowledgement_is_timed_from_the_step_it_answered():
    opened = at("2026-04-01", 9)
    timeline = [
        event("opened", opened),
        event("acknowledged", opened + timedelta(hours=2)),
        event("raised", opened + timedelta(hours=30), level=2),
        event("acknowledged", opened + timedelta(hours=35), level=2),
        event("resolved", opened + timedelta(hours=50), level=2),
    ]
    acks, resolutions = outcomes.response_times(timeline)
    assert [hours for _, hours in acks] == [2.0, 5.0]
    assert [hours for _, hours in resolutions] == [50.0]


def test_a_resolution_after_a_reopening_is_timed_from_the_reopening():
    opened = at("2026-04-01", 9)
    timeline = [
        event("opened", opened),
        event("resolved", opened + timedelta(hours=10)),
        event("reopened", opened + timedelta(hours=100)),
        event("resolved", opened + timedelta(hours=104)),
    ]
    _, resolutions = outcomes.response_times(timeline)
    assert [hours for _, hours in resolutions] == [10.0, 4.0]


def test_early_warnings_at_level_zero_are_not_timed_and_a_raise_from_them_is():
    created = at("2026-04-01", 9)  # a level-0 early warning: no "opened" line
    timeline = [
        event("acknowledged", created + timedelta(hours=1), level=0, opened=created),
        event("raised", created + timedelta(hours=20), opened=created),
        event("acknowledged", created + timedelta(hours=23), opened=created),
        event("resolved", created + timedelta(hours=40), opened=created),
    ]
    acks, resolutions = outcomes.response_times(timeline)
    assert [hours for _, hours in acks] == [3.0]
    assert [hours for _, hours in resolutions] == [40.0]  # from its creation


def _acks(hours: list[float], escalation_base=1) -> list[EventFact]:
    rows = []
    for i, h in enumerate(hours):
        opened = at("2026-04-02", 8)
        rows += [
            event("opened", opened, escalation=escalation_base + i, opened=opened),
            event("acknowledged", opened + timedelta(hours=h), escalation=escalation_base + i,
                  opened=opened),
        ]  # fmt: skip
    return rows


def test_median_hours_with_an_odd_and_an_even_count_and_none_without_any():
    odd = quarters(Facts(events=_acks([1, 9, 4])))
    assert [q.median_ack_hours for q in odd] == [None, 4.0]
    even = quarters(Facts(events=_acks([1, 9, 4, 2])))
    assert even[1].median_ack_hours == 3.0
    assert even[1].median_resolve_hours is None


# --- Action items ------------------------------------------------------------------------


def item(due: str, state="done", closed: datetime | None = None) -> ActionFact:
    return ActionFact(10, date.fromisoformat(due), state, closed)


def test_an_action_done_one_day_late_is_due_but_not_on_time():
    rows = [
        item("2026-04-10", closed=at("2026-04-10", 16)),  # on the day
        item("2026-04-10", closed=at("2026-04-11", 9)),  # a day late
        item("2026-04-12", state="open"),  # overdue
        item("2026-04-12", state="cancelled"),  # not due any more
        item("2026-05-20", state="open"),  # due today: not judged yet
    ]
    assert outcomes.actions_due(rows, today=TODAY, tz=UTC) == [
        (date(2026, 4, 10), True), (date(2026, 4, 10), False), (date(2026, 4, 12), False),
    ]  # fmt: skip
    result = quarters(Facts(actions=rows))
    assert (result[1].actions_due, result[1].actions_on_time) == (3, 1)


def test_done_late_in_the_evening_is_judged_by_the_local_day():
    # 10 April 22:30 UTC is 11 April in Berlin: a day late there.
    done = item("2026-04-10", closed=datetime(2026, 4, 10, 22, 30, tzinfo=UTC))
    assert outcomes.actions_due([done], today=TODAY, tz=UTC) == [(date(2026, 4, 10), True)]
    assert outcomes.actions_due([done], today=TODAY, tz=BERLIN) == [(date(2026, 4, 10), False)]


# --- Credits -----------------------------------------------------------------------------


def test_credits_fall_in_the_quarter_of_their_month_per_currency():
    facts = Facts(credits=[
        CreditFact(10, date(2026, 3, 1), "EUR", Decimal("100.50")),
        CreditFact(10, date(2026, 4, 1), "EUR", Decimal("200")),
        CreditFact(11, date(2026, 6, 1), "EUR", Decimal("50")),
        CreditFact(12, date(2026, 5, 1), "USD", Decimal("75")),
        CreditFact(12, date(2025, 9, 1), "USD", Decimal("999")),  # before the quarters asked
    ])  # fmt: skip
    q1, q2 = quarters(facts)
    assert q1.credits == {"EUR": Decimal("100.50")}
    assert q2.credits == {"EUR": Decimal("250"), "USD": Decimal("75")}


# --- Trend -------------------------------------------------------------------------------


def _quarter(**kw) -> outcomes.QuarterOutcomes:
    base = {
        "start": date(2026, 4, 1), "label": "2026 Q2", "breaches_avoided": 0, "breaches": 0,
        "breaches_warned": 0, "median_ack_hours": None, "median_resolve_hours": None,
        "actions_due": 0, "actions_on_time": 0, "credits": {},
    }  # fmt: skip
    return outcomes.QuarterOutcomes(**(base | kw))


def test_trend_says_up_or_down_and_whether_that_is_good():
    now = _quarter(breaches_avoided=4, breaches=1, breaches_warned=1, median_ack_hours=3.0,
                   median_resolve_hours=30.0, actions_due=4, actions_on_time=3,
                   credits={"EUR": Decimal("100")})  # fmt: skip
    before = _quarter(breaches_avoided=2, breaches=3, breaches_warned=1, median_ack_hours=5.5,
                      median_resolve_hours=30.04, actions_due=2, actions_on_time=2,
                      credits={"EUR": Decimal("300")})  # fmt: skip
    moved = trend(now, before)
    assert (moved["breaches_avoided"].direction, moved["breaches_avoided"].good) == ("up", True)
    assert moved["breaches_avoided"].words == "up from 2 last quarter"
    assert (moved["breaches"].direction, moved["breaches"].good) == ("down", True)
    assert (moved["breaches_warned"].direction, moved["breaches_warned"].good) == ("up", True)
    assert moved["breaches_warned"].words == "up from 33 % last quarter"
    assert moved["median_ack_hours"].words == "down from 5.5 h last quarter"
    assert moved["median_ack_hours"].good is True
    assert moved["median_resolve_hours"].direction == "same"  # 30.0 h both, as shown
    assert (moved["actions_on_time"].direction, moved["actions_on_time"].good) == ("down", False)
    assert (moved["credits"].direction, moved["credits"].good) == ("down", True)
    assert moved["credits"].words == "EUR down from 300 last quarter"
    assert moved["breaches"].arrow == "▼"
    assert moved["breaches_avoided"].arrow == "▲"


def test_trend_with_nothing_to_compare_or_currencies_moving_apart():
    now = _quarter(credits={"EUR": Decimal("10"), "USD": Decimal("5")})
    before = _quarter(credits={"USD": Decimal("9")})
    moved = trend(now, before)
    assert moved["median_ack_hours"].direction is None
    assert moved["median_ack_hours"].words == "nothing to compare with last quarter"
    assert moved["breaches_warned"].direction is None  # no breach either quarter
    assert (moved["credits"].direction, moved["credits"].good) == (None, None)
    assert moved["credits"].words == "EUR up from 0; USD down from 9 last quarter"
    assert trend(now, None)["breaches"].direction is None


@pytest.mark.django_db
def test_credits_are_the_month_credits_of_credits_for_after_the_cap():
    from django_scopes import scopes_disabled

    from metrics import engine
    from metrics.selectors import credits_for
    from reviews.outcomes_data import outcomes_by_quarter
    from tests import factories

    contract = factories.ContractFactory(
        start_date=date(2025, 7, 1), end_date=date(2027, 6, 30), currency="CHF",
        annual_value=Decimal("120000"), at_risk_percent=Decimal("12"),
    )  # fmt: skip
    org = contract.organization
    slas = []
    for code in ("a", "b"):  # 10 % each of the 10,000 monthly charge, capped at 1,200
        sla = factories.ServiceLevelFactory(contract=contract, organization=org, code=code)
        terms = factories.TermsFactory(service_level=sla, organization=org)
        factories.CreditTierFactory(terms=terms, organization=org, percent=Decimal("10"))
        factories.ReadingFactory(service_level=sla, organization=org,
                                 period_start=date(2026, 4, 1), value=Decimal("99.0"))  # fmt: skip
        slas.append(sla)
    engine.recompute(organization_id=org.pk, service_level_ids=[s.pk for s in slas], today=TODAY)
    with scopes_disabled():
        (month,) = credits_for([contract])[contract.pk][0]
        result = outcomes_by_quarter(organization=org, today=TODAY, quarters=2)
    assert (month.assessed, month.credited) == (Decimal("2000.00"), Decimal("1200.00"))
    assert [q.credits for q in result] == [{}, {"CHF": Decimal("1200.00")}]
