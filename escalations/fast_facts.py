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

from datetime import date

from django.db import connection

from contracts import periods

# Per SLA (each looked up by its index, so no plan depends on statistics): its
# latest `limit` statuses newest first as a string of one-letter codes, with
# each period's days and start in the same order; the runs are then prefixes
# of that string:
#   nd  leading periods still waiting for data (skipped: `^n*`)
#   late  the late run behind them (the current data gap: `^n*(l*)`)
#   yl / rl  the yellow-or-worse / red run behind that (`^n*l*([yr]*)`, `^n*l*(r*)`)
# and a run's days are the sum of its slice of the days.
FACTS_SQL = """
WITH chunk AS (
    SELECT u.id, sl.period, sl.contract_id, coalesce(r.codes, '') AS codes, r.days, r.starts,
           h.periods_to_breach, coalesce(h.risk, '[]')::text AS risk, h.latest_period
    FROM unnest(%(ids)s::bigint[]) AS u(id)
    -- By its key alone, the organisation checked outside: a LIMIT keeps the planner from
    -- pushing that check in, where stale statistics (a fresh tenant's SLAs looking like
    -- one row) make it scan the organisation's index for every id.
    CROSS JOIN LATERAL (
        SELECT period, contract_id, organization_id FROM contracts_servicelevel
        WHERE id = u.id LIMIT 1
    ) sl
    CROSS JOIN LATERAL (
        SELECT string_agg(CASE p.colour WHEN 'green' THEN 'g' WHEN 'yellow' THEN 'y'
                              WHEN 'red' THEN 'r' WHEN 'late' THEN 'l' WHEN 'no_data' THEN 'n'
                              ELSE '?' END, '' ORDER BY p.period_start DESC) AS codes,
               array_agg(CASE WHEN sl.period = 'weekly' THEN 7
                              ELSE (p.period_start + interval '1 month')::date - p.period_start
                         END ORDER BY p.period_start DESC) AS days,
               array_agg(p.period_start ORDER BY p.period_start DESC) AS starts
        FROM (
            SELECT ps.period_start, ps.colour FROM metrics_periodstatus ps
            WHERE ps.organization_id = %(org)s AND ps.service_level_id = u.id
              AND ps.period_start BETWEEN %(first)s AND %(last)s
            ORDER BY ps.period_start DESC LIMIT %(limit)s
        ) p
    ) r
    LEFT JOIN LATERAL (  -- one per SLA, by its key (as above)
        SELECT periods_to_breach, risk, latest_period, organization_id FROM metrics_slahealth
        WHERE service_level_id = u.id LIMIT 1
    ) h ON h.organization_id = %(org)s
    WHERE sl.organization_id = %(org)s
), runs AS (
    SELECT *, length(substring(codes FROM '^n*')) AS nd,
           length(substring(codes FROM '^n*(l*)')) AS late,
           length(substring(codes FROM '^n*l*([yr]*)')) AS yl,
           length(substring(codes FROM '^n*l*(r*)')) AS rl
    FROM chunk
)
SELECT id, period, contract_id,
       (SELECT coalesce(sum(d), 0) FROM unnest(days[nd + late + 1 : nd + late + yl]) AS d)::int,
       (SELECT coalesce(sum(d), 0) FROM unnest(days[nd + late + 1 : nd + late + rl]) AS d)::int,
       CASE WHEN late > 0 THEN starts[nd + late] END,
       periods_to_breach, risk, latest_period,
       substr(codes, nd + 1, 1) AS latest_code
FROM runs
"""
COLOURS = {"g": "green", "y": "yellow", "r": "red", "l": "late", "n": "no_data", "": "no_data"}

NO_RISK = "[]"


def id_array(ids) -> str:
    """
    Ids as one PostgreSQL array literal for a `%s::bigint[]` parameter: written
    by a join, ten times faster than adapting a list of 2,000 ints item by item.
    """
    return "{" + ",".join(str(int(i)) for i in ids) + "}"


def facts_rows(organization_id: int, ids: list[int], limit: int, today: date) -> list[tuple]:
    """
    Per SLA of `ids` (this organisation's): (id, period kind, contract id,
    latest colour, yellow-or-worse days, red days, first period of the current
    data gap or None, periods to breach, risk as JSON text, latest period),
    from its latest `limit` statuses and its health.
    """
    if not ids:
        return []
    first, last = periods.readable_bounds(today)
    # Its cost grows with `ids` only: at a sweep's chunk (2,000) it stays below
    # the JIT's threshold, as it should (compiling would cost more than it runs).
    with connection.cursor() as cursor:
        cursor.execute(
            FACTS_SQL,
            {"ids": id_array(ids), "org": organization_id, "first": first, "last": last,
             "limit": limit},
        )  # fmt: skip
        return [
            (pk, period, contract, COLOURS.get(latest, latest), yellow, red, late, ptb, risk,
             period_start)
            for pk, period, contract, yellow, red, late, ptb, risk, period_start, latest
            in cursor.fetchall()
        ]  # fmt: skip
