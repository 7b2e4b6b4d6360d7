"""The early-warning back-test: its portfolio, its scoring and the command."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from escalations.backtest import portfolio, score
from slagov.models import Organization


def test_the_portfolio_is_the_same_for_the_same_seed_and_its_values_are_reportable():
    first, again = portfolio.build(seed=7), portfolio.build(seed=7)
    assert [s.values for s in first] == [s.values for s in again]
    assert portfolio.build(seed=8)[0].values != first[0].values
    archetypes = {s.archetype for s in first}
    assert archetypes == {
        "stable", "drift", "jump", "recover", "seasonal", "seasonal_drift", "hover",
    }  # fmt: skip
    assert {s.period for s in first} == {"monthly", "weekly"}
    assert {s.direction for s in first} == {"higher", "lower"}
    for series in first:
        for value in series.values:
            assert value >= 0
            if series.measure.unit == "percent":
                assert value <= 100
            if series.measure.unit == "count":
                assert value == value.to_integral_value()


def test_drifts_breach_after_drifting_and_recoveries_never_breach():
    for series in portfolio.build(seed=3):
        red = score.reds([float(v) for v in series.values], float(series.measure.minimum),
                         series.direction == "higher")  # fmt: skip
        if series.archetype == "drift":
            first = score.breaches(red)[0]
            assert first > series.drift_start
        if series.archetype in {"recover", "stable", "seasonal"}:
            assert not any(red), series.key


def test_scoring_counts_warned_breaches_leads_and_false_alarms():
    series = portfolio.Series("s", "drift", "monthly", portfolio.MEASURES[0], [0.0] * 10, 2)
    red = [False] * 6 + [True, True, False, False]
    on = [False, False, False, False, True, True, False, False, False, False]
    tally = score.Tally()
    tally.add(series, red, score.Signal(on, alerts=[1, 4]))  # 1: too early, 4: ahead of 6
    assert tally.recall("drift") == 1.0
    assert tally.median_lead("drift") == 2
    assert (tally.true_alerts, tally.alerts) == (1, 2)
    assert tally.false_by_archetype == {"drift": 1}


def test_too_short_a_history_is_refused_with_the_minimum():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="at least 18 periods"):
        call_command("backtest_warnings", "--months", "6", stdout=StringIO())


def test_the_straight_line_baseline_looks_one_period_ahead():
    # Lower is better, minimum 10: 4, 6, 8, 9 → the line says 10.5 next.
    assert score.line_flags([4, 6, 8, 9], 10, higher_is_better=False) == [False] * 3 + [True]
    assert score.line_flags([4, 5, 5, 6], 10, higher_is_better=False) == [False] * 4


@pytest.mark.django_db(transaction=True)
def test_the_command_replays_through_the_pipeline_and_leaves_no_organisation_behind():
    with scopes_disabled():
        before = set(Organization.objects.values_list("slug", flat=True))
    out = StringIO()
    call_command(
        "backtest_warnings", "--months", "18", "--weeks", "24", stdout=out, stderr=StringIO()
    )
    text = out.getvalue()
    assert "submissions through the pipeline" in text
    assert "early warning (e-mail)" in text
    assert "baseline: line through last 4" in text
    assert "Targets for the early warning:" in text
    assert "submission(s) failed" not in text
    with scopes_disabled():
        assert set(Organization.objects.values_list("slug", flat=True)) == before
