"""
Plotly figure specs (plain dicts, rendered in the browser by Plotly's basic
bundle, `static/vendor/plotly/plotly-basic.min.js`: it draws only the trace
types in `BUNDLE_TRACES`, a quarter of the full bundle's bytes).

The trend chart draws the value line over green / yellow / red bands. The
bands follow the thresholds in force for each period, so they step where
targets were renegotiated or tightened by an improvement clause.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from contracts import periods
from contracts.models import ServiceLevel
from contracts.rules import Colour, Direction
from metrics.models import PeriodStatus
from slagov import formatting

# What the vendored bundle can draw; a figure with any other trace type would stay blank.
BUNDLE_TRACES = frozenset({"scatter", "bar", "pie"})

BAND = {
    Colour.GREEN: "rgba(46, 160, 67, 0.16)",
    Colour.YELLOW: "rgba(219, 171, 9, 0.22)",
    Colour.RED: "rgba(207, 34, 46, 0.16)",
}
MARKER = {
    Colour.GREEN: "#2ea043",
    Colour.YELLOW: "#d4a72c",
    Colour.RED: "#cf222e",
    Colour.LATE: "#8250df",
    Colour.NO_DATA: "#8c959f",
}


def _f(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _axis_range(values: list[float], bounds: list[float], unit: str) -> tuple[float, float]:
    everything = [v for v in values + bounds if v is not None]
    if not everything:
        return 0.0, 1.0
    low, high = min(everything), max(everything)
    pad = (high - low) * 0.25 or abs(high) * 0.05 or 1.0
    low, high = low - pad, high + pad
    if unit == ServiceLevel.Unit.PERCENT:
        high = min(high, 100 + pad / 2)
        low = max(low, 0)
    elif low < 0 <= min(everything):
        low = 0
    return low, high


def trend_figure(
    sla: ServiceLevel,
    statuses: Sequence[PeriodStatus],
    *,
    forecast: Sequence[dict] = (),
    anomalies: Sequence[str | None] = (),
    compact: bool = True,
) -> dict:
    """
    Value line over the tier bands for one SLA; with `forecast`, the forecast
    as a dashed line with its band, and unusual values (`anomalies`, per status:
    `worse`, `better` or None) marked: bad ones in purple, improvements in green.
    """
    kind = sla.period
    rows = [s for s in statuses if s.target is not None]
    x = [s.period_start.isoformat() for s in statuses]
    values = [_f(s.value) for s in statuses]
    targets = [_f(s.target) for s in rows]
    minimums = [_f(s.minimum) for s in rows]
    ahead = [f["high"] for f in forecast] + [f["low"] for f in forecast]
    low, high = _axis_range([v for v in values if v is not None] + ahead, targets + minimums,
                            sla.unit)  # fmt: skip

    traces: list[dict] = []
    if rows:
        # Step lines at each period start, closed at the end of the last period
        # (or of the forecast): the bands step where the thresholds change.
        band_x = [s.period_start.isoformat() for s in rows]
        last = rows[-1].period_start
        if forecast:
            last = max(last, date.fromisoformat(forecast[-1]["period"]))
        band_x.append(periods.period_end(last, kind).isoformat())
        targets.append(targets[-1])
        minimums.append(minimums[-1])
        if sla.direction == Direction.HIGHER:
            levels = [(minimums, Colour.RED), (targets, Colour.YELLOW), (None, Colour.GREEN)]
        else:
            levels = [(targets, Colour.GREEN), (minimums, Colour.YELLOW), (None, Colour.RED)]
        traces.append(_line(band_x, [low] * len(band_x), name="", fill=None))
        for ys, colour in levels:
            traces.append(
                _line(
                    band_x,
                    ys if ys is not None else [high] * len(band_x),
                    name=Colour(colour).label,
                    fill=BAND[colour],
                )
            )
    traces.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": sla.name,
            "x": x,
            "y": values,
            "connectgaps": False,
            "line": {"color": "#1f2328", "width": 2},
            "marker": {"size": 8, "color": [MARKER[Colour(s.colour)] for s in statuses]},
            "customdata": [Colour(s.colour).label for s in statuses],
            "hovertemplate": "%{x|%b %Y}: %{y} "
            + sla.unit_label
            + " (%{customdata})<extra></extra>",
        }
    )
    if forecast:
        anchor = next((s for s in reversed(statuses) if s.value is not None), None)
        fx = [f["period"] for f in forecast]
        traces.append(
            {
                "type": "scatter", "mode": "lines", "name": "80 % band", "hoverinfo": "skip",
                "x": fx + fx[::-1],
                "y": [f["high"] for f in forecast] + [f["low"] for f in forecast][::-1],
                "fill": "toself", "fillcolor": "rgba(9, 105, 218, 0.12)",
                "line": {"width": 0},
            }
        )  # fmt: skip
        traces.append(
            {
                "type": "scatter", "mode": "lines+markers", "name": "forecast",
                "x": ([anchor.period_start.isoformat()] if anchor else []) + fx,
                "y": ([_f(anchor.value)] if anchor else []) + [f["value"] for f in forecast],
                "line": {"color": "#0969da", "width": 2, "dash": "dash"},
                "marker": {"size": 5, "color": "#0969da"},
                "hovertemplate": "%{x|%b %Y}: forecast %{y:.3~f}<extra></extra>",
            }
        )  # fmt: skip
    for direction, name, colour, words in (
        ("worse", "anomaly", "#8250df", "unusually bad value"),
        ("better", "improvement", "#1a7f37", "unusual improvement"),
    ):
        flagged = [s for s, flag in zip(statuses, anomalies, strict=False) if flag == direction]
        if flagged:
            traces.append(
                {
                    "type": "scatter", "mode": "markers", "name": name,
                    "x": [s.period_start.isoformat() for s in flagged],
                    "y": [_f(s.value) for s in flagged],
                    "marker": {"size": 16, "symbol": "circle-open", "color": colour,
                               "line": {"width": 2}},
                    "hovertemplate": f"%{{x|%b %Y}}: {words} %{{y}}<extra></extra>",
                }
            )  # fmt: skip
    return {
        "data": traces,
        "layout": {
            "height": 260 if compact else 360,
            "margin": {"l": 48, "r": 12, "t": 8, "b": 32},
            "showlegend": False,
            "hovermode": "closest",
            "xaxis": {"type": "date", "showgrid": False},
            "yaxis": {"range": [low, high], "title": {"text": sla.unit_label}, "zeroline": False},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
    }


def figure_table(
    sla: ServiceLevel,
    statuses: Sequence[PeriodStatus],
    *,
    forecast: Sequence[dict] = (),
    anomalies: Sequence[str | None] = (),
) -> list[dict]:
    """
    What `trend_figure` draws, as rows of text for a table beside the chart (its
    text alternative): per period the value, its colour (and whether it is
    unusual), the target and minimum in force; then the forecast with its band,
    rounded like the data.
    """
    unit = sla.display_unit
    flags = list(anomalies) or [None] * len(statuses)
    rows = []
    for status, flag in zip(statuses, flags, strict=True):
        state = Colour(status.colour).label
        if flag == "worse":
            state += ", unusual"
        elif flag == "better":
            state += ", unusually good"
        rows.append(
            {
                "period": formatting.period(status.period_start, sla.period),
                "value": formatting.with_unit(status.value, unit),
                "state": state,
                "target": formatting.with_unit(status.target, unit),
                "minimum": formatting.with_unit(status.minimum, unit),
            }
        )
    places = formatting.places_of([s.value for s in statuses if s.value is not None][-12:], unit)
    for point in forecast:
        low = formatting.with_unit(point["low"], unit, places)
        high = formatting.with_unit(point["high"], unit, places)
        rows.append(
            {
                "period": formatting.period(date.fromisoformat(point["period"]), sla.period),
                "value": formatting.with_unit(point["value"], unit, places),
                "state": f"Forecast, 80 % band {low} to {high}",
                "target": "",
                "minimum": "",
            }
        )
    return rows


def _line(x: list[str], y: list[float], *, name: str, fill: str | None) -> dict:
    trace = {
        "type": "scatter",
        "mode": "lines",
        "x": x,
        "y": y,
        "name": name,
        "line": {"shape": "hv", "width": 0},
        "hoverinfo": "skip",
    }
    if fill:
        trace.update({"fill": "tonexty", "fillcolor": fill})
    return trace
