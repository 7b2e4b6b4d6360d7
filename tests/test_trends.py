"""Trend math on known series: drift, forecast, breach risk, unusual values."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from contracts import periods
from metrics import forecast, trends

MONTHLY = periods.Period.MONTHLY
WEEKLY = periods.Period.WEEKLY


def dated(values, kind=MONTHLY, start=date(2023, 1, 1)):
    return [(periods.add_periods(start, kind, i), float(v)) for i, v in enumerate(values)]


def trend(values, *, lower=True, minimum, target, kind=MONTHLY):
    return trends.trend_for(
        dated(values, kind), kind=kind, higher_is_better=not lower, minimum=minimum, target=target
    )


def test_a_steady_creep_toward_the_minimum_gives_its_slope_breach_and_drift_in_words():
    # Lower is better; 2 hours worse every period toward a 30-hour minimum.
    t = trend([10.0 + 2 * i for i in range(8)], minimum=30.0, target=24.0)  # 10 … 24
    assert t.slope == pytest.approx(2.0)
    assert t.enough
    assert t.forecast[0] == pytest.approx(26.0, abs=0.5)
    assert t.periods_to_breach == 4  # 26, 28, 30, 32: worse than 30 in the fourth
    assert t.drifting
    assert t.drift_note == "7 rises in a row, steadily"
    assert t.risk[0] < 0.05  # 26 h next month is not red …
    assert t.risk[2] == pytest.approx(0.5, abs=0.05)  # … 30 h in three is on the line


def test_the_creeping_repair_time_warns_before_it_breaches():
    # The demo's story: green (target 24 h, minimum 25 h) but three months toward breach.
    history = [15.2, 15.0, 15.4, 14.9, 15.3, 15.1, 14.8, 15.6, 15.3]
    t = trend([*history, 17.0, 19.4, 21.7], minimum=25.0, target=24.0)
    assert t.risk[1] > 0.5  # 21.7 h and rising 2.3 h a month: likely red in two months
    assert "3 rises in a row" in t.drift_note
    t = trend([*history, 17.0, 19.4, 21.7, 23.9], minimum=25.0, target=24.0)
    assert t.risk[0] > 0.5  # still green, but red next month is more likely than not
    assert forecast.warns(t.risk, 1)


def test_noise_around_the_target_is_no_risk_and_no_drift():
    rng = np.random.default_rng(7)
    values = list(99.95 + rng.normal(0, 0.01, 14))
    t = trend(values, lower=False, minimum=99.5, target=99.9)
    assert abs(t.slope) < 0.01
    assert t.periods_to_breach is None
    assert not t.drifting
    assert not t.anomaly
    assert max(t.risk) < 0.01


def test_three_small_rises_of_noise_are_not_a_drift():
    values = [99.95, 99.93, 99.96, 99.92, 99.95, 99.94, 99.93, 99.92, 99.91]  # small falls
    t = trend(values, lower=False, minimum=99.5, target=99.9)
    assert not t.drifting
    assert not forecast.warns(t.risk, 3)


def test_a_bad_spike_is_an_anomaly_and_a_good_one_only_an_improvement():
    rng = np.random.default_rng(3)
    values = list(4.0 + rng.normal(0, 0.2, 14))
    values[9] = 11.0  # resolution time: far worse
    values[12] = 0.5  # far better
    flags = trends.anomalies(values, higher_is_better=False)
    assert flags[9] == "worse"
    assert flags[12] == "better"
    assert sum(1 for f in flags if f) == 2
    t = trend(values[:13], minimum=8.0, target=4.0)
    assert t.improvement
    assert not t.anomaly
    assert "unusual improvement" in t.anomaly_note
    t = trend(values[:10], minimum=12.0, target=4.0)
    assert t.anomaly
    assert not t.improvement
    assert "above the median of the last 9 months" in t.anomaly_note


def test_already_red_breaches_now():
    t = trend([3, 3.5, 4, 9], minimum=8, target=4)
    assert t.periods_to_breach == 0
    assert not t.drifting  # red: no longer a drift to warn about


def test_short_series_says_not_enough_data():
    t = trend([1.0, 2.0, 3.0], lower=False, minimum=0.5, target=2)
    assert not t.enough
    assert t.forecast == []
    assert t.risk == []
    assert t.slope is None


def test_the_band_widens_with_the_horizon():
    t = trend([5.0, 5.3, 4.8, 5.1, 5.4, 4.9, 5.2, 5.0], minimum=8.0, target=6.0)
    widths = [h - low for low, h in zip(t.low, t.high, strict=True)]
    assert widths[0] < widths[1] < widths[2]


def test_theil_sen_ignores_one_outlier():
    slope, _ = trends.theil_sen([1.0, 2.0, 3.0, 40.0, 5.0, 6.0])
    assert slope == pytest.approx(1.0)


def _seasonal(years, *, decline=0.0):
    """Availability-like: 99.8 % with a dip toward 99.55 every summer (minimum 99.5)."""
    values = []
    for i in range(12 * years):
        dip = 0.25 * max(0.0, np.sin((i % 12 - 3) / 6 * np.pi))
        values.append(round(99.8 - dip - decline * max(0, i - 24) + 0.005 * ((i * 7) % 3 - 1), 3))
    return values


def test_a_dip_seen_last_year_is_not_a_risk_nor_a_drift():
    values = _seasonal(3)
    # Two years and four months in: the values fall toward this year's dip.
    upto = 24 + 5
    t = trend(values[:upto], lower=False, minimum=99.5, target=99.9)
    assert t.seasonal
    assert not forecast.warns(t.risk, 2)
    assert not t.drifting
    # Without last year to compare with, the same fall looks like a drift toward breach.
    first_year = trend(values[:5], lower=False, minimum=99.5, target=99.9)
    assert not first_year.seasonal


def test_a_dip_worse_than_last_years_is_still_a_risk():
    values = _seasonal(3, decline=0.03)
    upto = 24 + 5
    t = trend(values[:upto], lower=False, minimum=99.5, target=99.9)
    assert t.seasonal
    assert forecast.warns(t.risk, 2)


def test_after_a_fix_the_old_ramp_is_not_extrapolated():
    values = [15.0, 15.2, 14.9, 15.1, 17.0, 19.5, 22.0, 26.0, 27.0, 15.2]  # red, then fixed
    t = trend(values, minimum=25.0, target=24.0)
    assert max(t.risk) < 0.05


def test_a_value_reported_identically_every_month_is_not_taken_for_certainty():
    values = [100.0] * 10 + [99.95]
    t = trend(values, lower=False, minimum=99.5, target=99.9)
    assert t.risk[0] < 0.5  # one small step is not a breach next month


def test_weekly_series_forecast_in_weeks():
    flat = [118, 121, 117, 120, 124, 119, 116, 122]
    t = trend([*flat, 142, 151, 166, 178, 193], minimum=250, target=150, kind=WEEKLY)
    assert t.enough
    assert t.drifting
    assert "the usual week-to-week change" in t.drift_note


@pytest.mark.parametrize(
    ("risk", "horizon", "warns"),
    [
        ([0.5, 0.0, 0.0], 1, True),
        ([0.49, 0.89, 0.99], 2, False),
        ([0.49, 0.9, 0.0], 2, True),
        ([0.49, 0.9, 0.0], 1, False),
        ([0.1, 0.2, 0.98], 3, True),
        ([0.1, 0.2, 0.98], 12, True),  # the policy can't look further than the risk is known
        ([], 2, False),
    ],
)
def test_the_warning_rule_is_surer_the_further_ahead(risk, horizon, warns):
    assert forecast.warns(risk, horizon) is warns


def test_risk_in_words():
    assert trends.risk_words([0.62, 0.9, 0.004], MONTHLY) == (
        "Chance of red: 62 % next month, 90 % in 2 months."
    )
    assert trends.risk_words([0.001, 0.002, 0.0], WEEKLY) == "Chance of red: under 1 % next week."


def test_the_remembered_precision_of_values_is_the_precision_rule_on_random_series():
    rng = np.random.default_rng(15)
    for _ in range(500):
        n = int(rng.integers(0, 40))
        places = rng.integers(0, 7, size=n)
        values = [
            round(float(rng.normal(99.0, 3.0)), int(p)) if rng.random() > 0.05 else float(int(v))
            for p, v in zip(places, rng.integers(0, 1000, size=n), strict=True)
        ]
        assert trends._resolution(values) == trends._resolution_reference(values)
