"""
SLA health: the latest state of each SLA, its trend, forecast, breach risk
and flags.

Read from the stored period statuses (the last 36 months or 80 weeks of each
SLA: a year and more, for seasonality; one query per chunk and period kind),
computed with `metrics.trends`, written only where it changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from contracts import periods
from contracts.models import ServiceLevel
from contracts.rules import Colour, Direction, Improvement
from metrics import trends
from metrics.engine.terms import timelines_for
from metrics.models import PeriodStatus, SlaHealth

# Statuses read per SLA: enough for a year of history and a year more.
WINDOW = {periods.Period.MONTHLY: 36, periods.Period.WEEKLY: 80}
FIELDS = ("latest_period", "colour", "value", "target", "minimum", "points", "enough_data",
          "method", "slope", "forecast", "risk", "periods_to_breach", "drifting", "drift_note",
          "anomaly", "improvement", "anomaly_note", "seasonal")  # fmt: skip


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def minimums_ahead(
    sla: ServiceLevel, timeline, last: date, ratchets: dict | None = None
) -> list[float | None] | None:
    """
    The minimum in force for each period the forecast looks at after `last`, when
    it changes within them (an improvement clause's next contract year, terms
    agreed from a later date); None when it stays as it is. `ratchets`: shared
    by many SLAs, each distinct ratchet computed once (`TermsTimeline.thresholds`).
    """
    if timeline is None or not timeline:
        return None
    current = timeline.at(last)
    later = any(item.effective_from > last for item in timeline.items)
    if not later and current.spec.improvement == Improvement.NONE:
        return None
    ahead = []
    for h in range(1, trends.BREACH_HORIZON + 1):
        found = timeline.thresholds(periods.add_periods(last, sla.period, h), ratchets)
        ahead.append(float(found[0].minimum) if found else None)
    return ahead


def health_of(sla: ServiceLevel, statuses: list, timeline=None) -> dict:
    """
    What an SLA's health row should hold, from its recent statuses (oldest
    first) and its terms (`TermsTimeline`, for the minimum in force ahead).
    """
    row, valued, call = _trend_inputs(sla, statuses, timeline)
    return _with_trend(sla, row, valued, trends.trend_for(**call))


def health_many(slas: list[ServiceLevel], recent: dict[int, list], timelines: dict) -> list[dict]:
    """`health_of` of each SLA, the trends fitted together (`trends.trend_for_many`)."""
    ratchets: dict = {}
    inputs = [_trend_inputs(sla, recent[sla.pk], timelines.get(sla.pk), ratchets) for sla in slas]
    fitted = trends.trend_for_many([call for _, _, call in inputs])
    return [
        _with_trend(sla, row, valued, trend)
        for sla, (row, valued, _), trend in zip(slas, inputs, fitted, strict=True)
    ]


def _trend_inputs(
    sla: ServiceLevel, statuses: list, timeline, ratchets: dict | None = None
) -> tuple[dict, list, dict]:
    """The latest state of the row, the valued statuses, and the arguments of its trend."""
    latest = next(
        (s for s in reversed(statuses) if s.colour != Colour.NO_DATA or s.value is not None), None
    )
    valued = [s for s in statuses if s.value is not None]
    row = {
        "latest_period": latest.period_start if latest else None,
        "colour": latest.colour if latest else Colour.NO_DATA,
        "value": latest.value if latest else None,
        "target": latest.target if latest else None,
        "minimum": latest.minimum if latest else None,
    }
    last = valued[-1] if valued else None
    known = last is not None and last.minimum is not None
    call = {
        "points": [(s.period_start, float(s.value)) for s in valued],
        "kind": sla.period,
        "higher_is_better": sla.direction == Direction.HIGHER,
        "minimum": float(last.minimum) if known else None,
        "target": float(last.target) if known else None,
        "ahead": minimums_ahead(sla, timeline, last.period_start, ratchets) if known else None,
        "red": [s.colour == Colour.RED for s in valued],
    }
    return row, valued, call


def _with_trend(sla: ServiceLevel, row: dict, valued: list, trend: trends.Trend) -> dict:
    forecast = []
    if trend.enough:
        start = valued[-1].period_start
        for h, (value, low, high) in enumerate(
            zip(trend.forecast, trend.low, trend.high, strict=True), 1
        ):
            when = periods.add_periods(start, sla.period, h)
            forecast.append(
                {"period": when.isoformat(), "value": _r(value), "low": _r(low), "high": _r(high)}
            )
    return {
        **row,
        "points": trend.points,
        "enough_data": trend.enough,
        "method": trend.method,
        "slope": _r(trend.slope),
        "forecast": forecast,
        "risk": [round(p, 4) for p in trend.risk],
        "periods_to_breach": trend.periods_to_breach,
        "drifting": trend.drifting,
        "drift_note": trend.drift_note,
        "anomaly": trend.anomaly,
        "improvement": trend.improvement,
        "anomaly_note": trend.anomaly_note,
        "seasonal": trend.seasonal,
    }


class Recent(NamedTuple):
    """The columns of a period status the health needs (a tuple: built for 100,000s of rows)."""

    period_start: date
    colour: str
    value: Decimal | None
    target: Decimal | None
    minimum: Decimal | None


_RECENT_COLUMNS = ("period_start", "colour", "value", "target", "minimum")
# PostgreSQL: for each SLA, walk its unique index backwards and stop after `limit` rows.
_RECENT_SQL = """
    SELECT ps.service_level_id, {columns}
    FROM unnest(%s::bigint[]) AS s(id)
    CROSS JOIN LATERAL (
        SELECT * FROM metrics_periodstatus p
        WHERE p.organization_id = %s AND p.service_level_id = s.id
          AND p.period_start BETWEEN %s AND %s
        ORDER BY p.period_start DESC LIMIT %s
    ) ps
    ORDER BY ps.service_level_id, ps.period_start
"""


def _recent_rows(
    organization_id: int, ids: list[int], limit: int, columns: tuple[str, ...], today: date
):
    """
    (service_level_id, *columns) of the latest `limit` statuses of each SLA,
    oldest first, inside the readable periods (a stored row past them, from
    before the date rules, is never read: it could be past year 9999).
    """
    first, last = periods.readable_bounds(today)
    if connection.vendor == "postgresql":
        sql = _RECENT_SQL.format(columns=", ".join(f"ps.{c}" for c in columns))
        with connection.cursor() as cursor:
            cursor.execute(sql, [ids, organization_id, first, last, limit])
            rows = cursor.fetchall()
    else:  # portable (SQLite): a window function over the SLAs' statuses
        rows = list(
            PeriodStatus.objects.filter(
                organization_id=organization_id,
                service_level_id__in=ids,
                period_start__range=(first, last),
            )
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=[F("service_level_id")],
                    order_by=F("period_start").desc(),
                )
            )
            .filter(rank__lte=limit)
            .order_by("service_level_id", "period_start")
            .values_list("service_level_id", *columns)
        )
    return rows


def _recent(organization_id: int, slas: list[ServiceLevel], today: date) -> dict[int, list[Recent]]:
    """The latest statuses of each SLA (`WINDOW` of its period kind), oldest first."""
    recent: dict[int, list[Recent]] = {s.pk: [] for s in slas}
    for kind, limit in WINDOW.items():
        ids = [s.pk for s in slas if s.period == kind]
        if not ids:
            continue
        for sla_id, *columns in _recent_rows(organization_id, ids, limit, _RECENT_COLUMNS, today):
            recent[sla_id].append(Recent(*columns))
    return recent


@dataclass(frozen=True, slots=True)
class RecentColour:
    period_start: date
    colour: str


def recent_colours(
    organization_id: int, ids: list[int], limit: int, today: date | None = None
) -> dict[int, list]:
    """
    The latest `limit` periods and colours of each SLA, oldest first (escalation
    rules): only the two columns, as the sweep reads them for every SLA.
    """
    recent: dict[int, list] = {pk: [] for pk in ids}
    today = today or timezone.localdate()
    rows = _recent_rows(organization_id, ids, limit, ("period_start", "colour"), today)
    for sla_id, start, colour in rows:
        recent[sla_id].append(RecentColour(start, colour))
    return recent


def refresh(*, organization_id: int, slas: list[ServiceLevel], today: date, timelines=None) -> int:
    """Recompute the health rows of these SLAs (`timelines`: their terms, if loaded).

    Returns how many changed.
    """
    recent = _recent(organization_id, slas, today)
    if timelines is None:
        timelines = timelines_for(slas)
    wanted = health_many(slas, recent, timelines)
    if connection.vendor == "postgresql":
        return _merge(organization_id, slas, wanted)
    ids = [s.pk for s in slas]
    existing = {
        h.service_level_id: h
        for h in SlaHealth.objects.filter(organization_id=organization_id, service_level_id__in=ids)
    }
    now = timezone.now()
    changed: list[SlaHealth] = []
    for sla, row in zip(slas, wanted, strict=True):
        health = existing.get(sla.pk)
        if health is not None and all(getattr(health, k) == v for k, v in row.items()):
            continue
        health = health or SlaHealth(organization_id=organization_id, service_level_id=sla.pk)
        for key, value in row.items():
            setattr(health, key, value)
        health.computed_at = now
        changed.append(health)
    SlaHealth.objects.bulk_create(
        changed,
        update_conflicts=True,
        unique_fields=["service_level"],
        update_fields=[*FIELDS, "computed_at"],
        batch_size=2000,
    )
    return len(changed)


_JSON_FIELDS = ("forecast", "risk")
_MERGE_COLUMNS = ("organization_id", "service_level_id", *FIELDS, "computed_at")
# PostgreSQL: the wanted rows are copied into a temporary table, then merged in
# one statement that writes only the rows that differ (as the comparison above).
_STAGE = """
CREATE TEMP TABLE engine_health ON COMMIT DROP AS
SELECT {columns} FROM metrics_slahealth WITH NO DATA
"""
_MERGE = """
INSERT INTO metrics_slahealth AS h ({columns}, input_digest)
SELECT {columns}, '' FROM engine_health
ON CONFLICT (service_level_id) DO UPDATE SET {updates}
WHERE ({current}) IS DISTINCT FROM ({excluded})
"""


def _merge(organization_id: int, slas: list[ServiceLevel], wanted: list[dict]) -> int:
    """Write the health rows that differ from those stored (PostgreSQL). Returns how many."""
    columns = ", ".join(_MERGE_COLUMNS)
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_STAGE.format(columns=columns))
        with cursor.cursor.copy(f"COPY engine_health ({columns}) FROM STDIN") as copy:
            for sla, row in zip(slas, wanted, strict=True):
                copy.write_row(
                    (
                        organization_id,
                        sla.pk,
                        *(json.dumps(row[k]) if k in _JSON_FIELDS else row[k] for k in FIELDS),
                        now,
                    )
                )
        cursor.execute(
            _MERGE.format(
                columns=columns,
                updates=", ".join(f"{c} = EXCLUDED.{c}" for c in (*FIELDS, "computed_at")),
                current=", ".join(f"h.{c}" for c in FIELDS),
                excluded=", ".join(f"EXCLUDED.{c}" for c in FIELDS),
            )
        )
        changed = cursor.rowcount
        cursor.execute("DROP TABLE engine_health")
    return changed
