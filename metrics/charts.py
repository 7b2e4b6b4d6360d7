"""
Plotly figure specs (plain dicts, rendered by plotly.min.js in the browser).

The trend chart draws the value line over green / yellow / red bands. The
bands follow the thresholds in force for each period, so they step where
targets were renegotiated or tightened by an improvement clause.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from contracts import periods
from contracts.models import ServiceLevel
from contracts.rules import Colour, Direction
from metrics.models import PeriodStatus

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


def trend_figure(sla: ServiceLevel, statuses: Sequence[PeriodStatus]) -> dict:
    """Value line and tier bands for one SLA over the given periods."""
    kind = sla.period
    rows = [s for s in statuses if s.target is not None]
    x = [s.period_start.isoformat() for s in statuses]
    values = [_f(s.value) for s in statuses]
    targets = [_f(s.target) for s in rows]
    minimums = [_f(s.minimum) for s in rows]
    low, high = _axis_range([v for v in values if v is not None], targets + minimums, sla.unit)

    traces: list[dict] = []
    if rows:
        # Step lines at each period start, closed at the end of the last period.
        band_x = [s.period_start.isoformat() for s in rows]
        band_x.append(periods.period_end(rows[-1].period_start, kind).isoformat())
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
    return {
        "data": traces,
        "layout": {
            "height": 260,
            "margin": {"l": 48, "r": 12, "t": 8, "b": 32},
            "showlegend": False,
            "hovermode": "closest",
            "xaxis": {"type": "date", "showgrid": False},
            "yaxis": {"range": [low, high], "title": {"text": sla.unit_label}, "zeroline": False},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
    }


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
