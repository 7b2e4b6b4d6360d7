"""Trend math on known series: drift, forecast, breach, anomalies."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.tsa.holtwinters import Holt

from metrics import trends


def test_damped_trend_forecast_matches_statsmodels():
    series = [15.2, 15.0, 15.4, 14.9, 15.3, 15.1, 14.8, 15.6, 15.3, 18.1, 20.9, 23.6]
    ours, _ = trends.damped_holt(series, 3)
    fitted = Holt(
        np.array(series),
        damped_trend=True,
        initialization_method="known",
        initial_level=series[0],
        initial_trend=series[1] - series[0],
    ).fit(
        smoothing_level=trends.ALPHA,
        smoothing_trend=trends.BETA,
        damping_trend=trends.PHI,
        optimized=False,
    )
    assert ours == pytest.approx(list(fitted.forecast(3)), rel=1e-12)


def test_linear_drift_gives_its_slope_and_periods_to_breach():
    # Lower is better; 2 hours worse every period, minimum 30 h.
    series = [10.0 + 2 * i for i in range(8)]  # 10 … 24
    trend = trends.trend_for(
        series, higher_is_better=False, minimum=30.0, latest_green=True, band=6.0
    )
    assert trend.slope == pytest.approx(2.0)
    assert trend.enough
    assert trend.method == "damped trend"
    assert trend.forecast[0] > 24
    # Damped, the forecast still crosses 30 h within a few periods.
    assert trend.periods_to_breach is not None
    assert 2 <= trend.periods_to_breach <= 5
    assert trend.drifting  # three moves toward breach while green, worth the band


def test_flat_noisy_series_does_not_drift_or_breach():
    rng = np.random.default_rng(7)
    series = list(99.95 + rng.normal(0, 0.01, 12))
    trend = trends.trend_for(
        series, higher_is_better=True, minimum=99.5, latest_green=True, band=0.4
    )
    assert abs(trend.slope) < 0.01
    assert trend.periods_to_breach is None
    assert not trend.drifting
    assert not trend.anomaly


def test_small_moves_toward_breach_are_not_drift():
    series = [99.95, 99.96, 99.95, 99.94, 99.93, 99.92]  # three tiny steps down
    trend = trends.trend_for(
        series, higher_is_better=True, minimum=99.5, latest_green=True, band=0.4
    )
    assert not trend.drifting


def test_one_spike_is_an_anomaly_only_there():
    rng = np.random.default_rng(3)
    series = list(4.0 + rng.normal(0, 0.2, 14))
    series[9] = 11.0
    flags = trends.anomalies(series)
    assert flags[9]
    assert sum(flags) == 1


def test_already_red_breaches_now():
    trend = trends.trend_for([3, 3.5, 4, 9], higher_is_better=False, minimum=8, latest_green=False)
    assert trend.periods_to_breach == 0
    assert trend.method == "robust line"  # short series: a robust line, not smoothing


def test_short_series_says_not_enough_data():
    trend = trends.trend_for([1.0, 2.0, 3.0], higher_is_better=True, minimum=0.5, latest_green=True)
    assert not trend.enough
    assert trend.forecast == []
    assert trend.slope is None


def test_band_widens_with_the_horizon():
    series = [5.0, 5.3, 4.8, 5.1, 5.4, 4.9, 5.2, 5.0]
    trend = trends.trend_for(series, higher_is_better=False, minimum=8.0, latest_green=True)
    widths = [h - low for low, h in zip(trend.low, trend.high, strict=True)]
    assert widths[0] < widths[1] < widths[2]


def test_theil_sen_ignores_one_outlier():
    slope, _ = trends.theil_sen([1.0, 2.0, 3.0, 40.0, 5.0, 6.0])
    assert slope == pytest.approx(1.0)
