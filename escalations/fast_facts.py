"""
The facts the escalation rules read, for a whole chunk of SLAs in one SQL pass.

`evaluate.facts_of` is the reference: it walks one SLA's latest statuses in
Python. This is the same rule in SQL (PostgreSQL), so that a sweep over
20,000 SLAs builds no object for an SLA that needs nothing: per SLA, its
latest colour (the newest periods still waiting for data skipped), the days
of its trailing yellow-or-worse and red runs (behind the current data gap),
the oldest period of that gap (the data-late rule counts from its deadline),
and its forecast. tests/test_escalation_sweep.py checks the two agree on
random histories.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import connection

from contracts import periods
from contracts.rules import Colour

# Each status of the SLAs' latest `limit`, newest first, walking each SLA's unique
# (organization, service_level, period_start) index backwards; then three prefix
# flags in the same window (newest first), each the run before it extended:
#   nd  still in the leading periods that wait for data (skipped);
#   lp  ... or in the late run behind them (the current data gap);
#   yp  ... or in the yellow-or-worse run behind that; rp: ... or the red run.
# Aggregated per SLA: a period counts in a run when its flag holds and the
# previous stage's doesn't.
FACTS_SQL = """
WITH recent AS (
    SELECT s.id AS sla_id, ps.period_start, ps.colour,
           CASE WHEN s.period = 'weekly' THEN 7
                ELSE (ps.period_start + interval '1 month')::date - ps.period_start END AS days
    FROM unnest(%(ids)s::bigint[], %(kinds)s::text[]) AS s(id, period)
    CROSS JOIN LATERAL (
        SELECT p.period_start, p.colour FROM metrics_periodstatus p
        WHERE p.organization_id = %(org)s AND p.service_level_id = s.id
          AND p.period_start BETWEEN %(first)s AND %(last)s
        ORDER BY p.period_start DESC LIMIT %(limit)s
    ) ps
), skipped AS (
    SELECT *, bool_and(colour = 'no_data') OVER w AS nd
    FROM recent WINDOW w AS (PARTITION BY sla_id ORDER BY period_start DESC)
), late AS (
    SELECT *, bool_and(nd OR colour = 'late') OVER w AS lp
    FROM skipped WINDOW w AS (PARTITION BY sla_id ORDER BY period_start DESC)
), runs AS (
    SELECT *, bool_and(lp OR colour IN ('yellow', 'red')) OVER w AS yp,
              bool_and(lp OR colour = 'red') OVER w AS rp
    FROM late WINDOW w AS (PARTITION BY sla_id ORDER BY period_start DESC)
)
SELECT sla_id,
       (array_agg(colour ORDER BY period_start DESC) FILTER (WHERE NOT nd))[1],
       coalesce(sum(days) FILTER (WHERE yp AND NOT lp), 0),
       coalesce(sum(days) FILTER (WHERE rp AND NOT lp), 0),
       min(period_start) FILTER (WHERE lp AND NOT nd)
FROM runs GROUP BY sla_id
"""


@dataclass(frozen=True, slots=True)
class Runs:
    """One SLA's trailing runs: what `facts_of` reads from its statuses."""

    colour: str
    yellow_or_worse_days: int
    red_days: int
    oldest_late: date | None  # the first period of the current data gap, if any


NO_RUNS = Runs(Colour.NO_DATA, 0, 0, None)


def runs_of(
    organization_id: int, kinds: dict[int, str], limit: int, today: date
) -> dict[int, Runs]:
    """
    `kinds`: SLA id → its period kind. The runs of each SLA's latest `limit`
    statuses (SLAs without any are missing: `NO_RUNS`).
    """
    if not kinds:
        return {}
    first, last = periods.readable_bounds(today)
    ids = list(kinds)
    with connection.cursor() as cursor:
        cursor.execute(
            FACTS_SQL,
            {
                "ids": ids, "kinds": [kinds[i] for i in ids], "org": organization_id,
                "first": first, "last": last, "limit": limit,
            },
        )  # fmt: skip
        return {
            sla_id: Runs(colour or Colour.NO_DATA, int(yellow), int(red), oldest)
            for sla_id, colour, yellow, red, oldest in cursor.fetchall()
        }
