"""
Period statuses on PostgreSQL: set-based statements per chunk of SLAs.

The thresholds in force (terms by effective date, improvement ratchet by
contract year) are worked out in Python by `contracts.rules`, once per terms
row and number of contract years, and passed in as arrays: one source of
truth for the ratchet's decimals. Everything per period — which periods exist,
the reading, the terms in force, colour, lateness, credits — happens in the
database, and rows are written only where they differ (INSERT … ON CONFLICT
DO UPDATE … WHERE … IS DISTINCT FROM); rows that no longer belong are deleted
first. SLAs without any status row yet (a first computation) get a plain
INSERT of the same rows: nothing to compare, nothing to delete.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from contracts import periods, rules
from contracts.models import ServiceLevel
from metrics.engine.scope import Scope
from metrics.engine.terms import timelines_for

# An SLA's range of periods (`s` the SLA, `c` its contract), as in
# `python.expected_periods`: from the contract start to the last closed period
# or the contract end, whichever comes first.
# A start before the product's first day (a row from before the date rules)
# counts from that day, as in `python.expected_periods`.
_FIRST_PERIOD = """CASE WHEN s.period = 'weekly'
                    THEN date_trunc('week', GREATEST(c.start_date, %(earliest)s::date))
                    ELSE date_trunc('month', GREATEST(c.start_date, %(earliest)s::date)) END"""
# The periods the engine reads at all (`periods.readable_span`): from the
# product's first day to the current period. Rows past it (from before the
# date rules, or written outside the product) are skipped, and their statuses
# deleted.
_SPAN_FIRST = """CASE WHEN s.period = 'weekly' THEN date_trunc('week', %(earliest)s::date)
                ELSE date_trunc('month', %(earliest)s::date) END"""
_SPAN_LAST = """CASE WHEN s.period = 'weekly' THEN date_trunc('week', %(today)s::date)
                ELSE date_trunc('month', %(today)s::date) END"""
_LAST_PERIOD = """LEAST(
               CASE WHEN s.period = 'weekly'
                    THEN date_trunc('week', %(today)s::date) - interval '1 week'
                    ELSE date_trunc('month', %(today)s::date) - interval '1 month' END,
               CASE WHEN s.period = 'weekly' THEN date_trunc('week', c.end_date)
                    ELSE date_trunc('month', c.end_date) END)"""


def _in_scope(sla: str, period: str) -> str:
    """Is the (SLA, period) of the named columns in the recompute's scope?"""
    return f"""(%(since)s::date IS NULL OR {period} >= %(since)s::date)
      AND (NOT %(by_pairs)s OR EXISTS (
          SELECT 1 FROM pairs p WHERE p.sla_id = {sla} AND p.period_start = {period}))"""


# The periods in scope each SLA should have a row for, each with its reading if
# any: the SLA's range of periods joined in one pass (a hash or merge join,
# never an index probe per period) to its readings inside the readable span.
_PERIODS = f"""
sla AS (
    SELECT s.id, s.period, s.direction, s.kind, s.data_start, c.start_date, c.end_date,
           c.submission_deadline_days AS deadline_days, c.annual_value,
           CASE WHEN s.period = 'weekly' THEN interval '1 week' ELSE interval '1 month' END AS step,
           ({_FIRST_PERIOD})::date AS first_period,
           ({_LAST_PERIOD})::date AS last_period,
           ({_SPAN_FIRST})::date AS span_first,
           ({_SPAN_LAST})::date AS span_last
    FROM contracts_servicelevel s
    JOIN contracts_contract c ON c.id = s.contract_id
    WHERE s.organization_id = %(org)s AND s.id = ANY(%(ids)s::bigint[])
),
pairs AS (
    SELECT * FROM unnest(%(pair_sla)s::bigint[], %(pair_period)s::date[]) AS p(sla_id, period_start)
),
readings AS (
    SELECT r.service_level_id AS sla_id, r.period_start, r.id, r.value, r.revision
    FROM metrics_reading r
    JOIN sla ON sla.id = r.service_level_id
    WHERE r.organization_id = %(org)s AND r.service_level_id = ANY(%(ids)s::bigint[])
      AND r.period_start BETWEEN sla.span_first AND sla.span_last
      AND {_in_scope("r.service_level_id", "r.period_start")}
),
-- In scope only: the scope is a condition on (SLA, period), the same on both sides.
scoped AS (
    SELECT COALESCE(g.sla_id, r.sla_id) AS sla_id,
           COALESCE(g.period_start, r.period_start) AS period_start,
           r.id AS reading_id, r.value, r.revision
    FROM (
        SELECT sla.id AS sla_id, g::date AS period_start
        FROM sla, generate_series(sla.first_period, sla.last_period, sla.step) AS g
        WHERE {_in_scope("sla.id", "g::date")}
    ) g
    FULL JOIN readings r ON r.sla_id = g.sla_id AND r.period_start = g.period_start
)
"""

# Rows that no longer belong: outside their SLA's range of periods (a
# shortened contract) and without a reading (a deleted one) or outside the
# periods the engine reads at all. Only the chunk's SLAs are joined (an
# id-array lookup, never a hash of every SLA of the database); per candidate
# row an index probe for its reading. Run before the upsert so that it doesn't
# wade through the rows just written.
_DELETE = """
WITH sla AS (
    SELECT s.id, ({first})::date AS first_period, ({last})::date AS last_period,
           ({span_first})::date AS span_first, ({span_last})::date AS span_last
    FROM contracts_servicelevel s
    JOIN contracts_contract c ON c.id = s.contract_id
    WHERE s.organization_id = %(org)s AND s.id = ANY(%(ids)s::bigint[])
)
DELETE FROM metrics_periodstatus ps
USING sla{using}
WHERE ps.organization_id = %(org)s AND ps.service_level_id = sla.id AND {rows}
  -- Implied by the join, but an index condition whatever the planner's statistics
  -- say (a fresh tenant's statuses look absent to it, and it then scans all of them).
  AND ps.service_level_id = ANY(%(ids)s::bigint[])
  AND (ps.period_start < sla.first_period OR ps.period_start > sla.last_period)
  AND (ps.period_start < sla.span_first OR ps.period_start > sla.span_last
       OR NOT EXISTS (
           SELECT 1 FROM metrics_reading r
           WHERE r.organization_id = %(org)s AND r.service_level_id = ps.service_level_id
             AND r.period_start = ps.period_start))
"""
# Which rows the delete looks at, by scope: exactly the pairs, or the SLAs' periods.
_DELETE_PAIRS = _DELETE.format(
    first=_FIRST_PERIOD,
    last=_LAST_PERIOD,
    span_first=_SPAN_FIRST,
    span_last=_SPAN_LAST,
    using="\nJOIN unnest(%(pair_sla)s::bigint[], %(pair_period)s::date[])"
    " AS p(sla_id, period_start) ON p.sla_id = sla.id",
    rows="ps.period_start = p.period_start AND ps.period_start = ANY(%(pair_period)s::date[])",
)
_DELETE_PERIODS = _DELETE.format(
    first=_FIRST_PERIOD,
    last=_LAST_PERIOD,
    span_first=_SPAN_FIRST,
    span_last=_SPAN_LAST,
    using="",
    rows="(%(since)s::date IS NULL OR ps.period_start >= %(since)s::date)",
)

# What every status row in scope should hold (the SELECT both writes share).
_DESIRED = (
    """WITH
thr AS (
    -- Per terms row, its thresholds by contract years of improvement (index steps + 1).
    SELECT terms_id, array_agg(target ORDER BY steps) AS targets,
           array_agg(minimum ORDER BY steps) AS minimums
    FROM unnest(%(thr_terms)s::bigint[], %(thr_steps)s::int[],
                %(thr_target)s::numeric[], %(thr_minimum)s::numeric[])
        AS thr(terms_id, steps, target, minimum)
    GROUP BY terms_id
),
tiers AS (
    -- Per terms row, its credit as a step function of the value (`_credit_steps`).
    SELECT terms_id, min(sign) AS sign,
           array_agg(bound ORDER BY pos) FILTER (WHERE bound IS NOT NULL) AS bounds,
           array_agg(owed ORDER BY pos) AS owed
    FROM unnest(%(tier_terms)s::bigint[], %(tier_sign)s::int[], %(tier_pos)s::int[],
                %(tier_bound)s::numeric[], %(tier_owed)s::numeric[])
        AS t(terms_id, sign, pos, bound, owed)
    GROUP BY terms_id
),
"""
    + _PERIODS.rstrip()
    + """,
terms AS (
    SELECT t.id, t.service_level_id, t.effective_from,
           CASE WHEN row_number() OVER w = 1 THEN '-infinity'::date ELSE t.effective_from END
               AS valid_from,
           COALESCE(lead(t.effective_from) OVER w, 'infinity'::date) AS valid_to,
           """
    + rules.improvement_base_year_sql(
        contract_start="s.start_date", effective_from="t.effective_from"
    )
    + """ AS base_year
    FROM contracts_servicelevelterms t
    JOIN sla s ON s.id = t.service_level_id
    WHERE t.organization_id = %(org)s AND t.service_level_id = ANY(%(ids)s::bigint[])
    WINDOW w AS (PARTITION BY t.service_level_id ORDER BY t.effective_from)
),
joined AS MATERIALIZED (
    SELECT sc.sla_id, sc.period_start, s.kind, s.direction, s.period, s.step, s.deadline_days,
           s.data_start, s.annual_value, sc.reading_id, sc.value, sc.revision, t.id AS terms_id,
           """
    + rules.improvement_steps_sql(
        contract_start="s.start_date",
        effective_from="t.effective_from",
        day="sc.period_start",
        base_year="t.base_year",
    )
    + """ AS steps
    FROM scoped sc
    JOIN sla s ON s.id = sc.sla_id
    LEFT JOIN terms t
        ON t.service_level_id = sc.sla_id
       AND sc.period_start >= t.valid_from AND sc.period_start < t.valid_to
),
thresholded AS (
    -- Past the thresholds passed in (none for these steps): NULL, as no terms in force.
    SELECT j.*, thr.targets[j.steps + 1] AS target, thr.minimums[j.steps + 1] AS minimum,
           tr.sign, tr.bounds, tr.owed
    FROM joined j
    LEFT JOIN thr ON thr.terms_id = j.terms_id
    LEFT JOIN tiers tr ON tr.terms_id = j.terms_id
),
graded AS (
    SELECT j.*,
        -- The credit of a valued period of an SLA (never a KPI's) with terms in force.
        CASE WHEN j.value IS NOT NULL AND j.kind = 'sla' AND j.target IS NOT NULL
                  AND j.bounds IS NOT NULL
             THEN j.owed[width_bucket(j.value * j.sign, j.bounds) + 1]
             ELSE 0 END AS credit_percent,
        CASE
            WHEN j.value IS NULL THEN
                -- Data is owed from the data start on; an earlier gap is never late.
                CASE WHEN j.period_start >= j.data_start
                      AND %(today)s::date > (j.period_start + j.step)::date + (j.deadline_days - 1)
                     THEN 'late' ELSE 'no_data' END
            WHEN j.target IS NULL THEN 'no_data'
            ELSE """
    + rules.classify_sql(
        value="j.value", direction="j.direction", target="j.target", minimum="j.minimum"
    )
    + """
        END AS colour
    FROM thresholded j
)
SELECT %(org)s, g.sla_id, g.period_start, g.colour, g.value, g.target, g.minimum,
       g.reading_id, g.revision, g.credit_percent,
       round(g.annual_value * g.credit_percent
             / CASE WHEN g.period = 'weekly' THEN 5200 ELSE 1200 END, 2),
       %(now)s
FROM graded g
"""
)
_INSERT = """
INSERT INTO metrics_periodstatus AS ps (
    organization_id, service_level_id, period_start, colour, value, target, minimum,
    reading_id, reading_revision, credit_percent, credit_amount, computed_at)
"""
# SLAs without a status row yet (a first computation): a plain INSERT, which
# costs what writing the rows costs; no conflict to resolve.
_INSERT_NEW = _INSERT + _DESIRED
_UPSERT = (
    _INSERT
    + _DESIRED
    + """ON CONFLICT (organization_id, service_level_id, period_start) DO UPDATE SET
    colour = EXCLUDED.colour, value = EXCLUDED.value, target = EXCLUDED.target,
    minimum = EXCLUDED.minimum, reading_id = EXCLUDED.reading_id,
    reading_revision = EXCLUDED.reading_revision, credit_percent = EXCLUDED.credit_percent,
    credit_amount = EXCLUDED.credit_amount, computed_at = EXCLUDED.computed_at
WHERE (ps.colour, ps.value, ps.target, ps.minimum, ps.reading_id, ps.reading_revision,
       ps.credit_percent, ps.credit_amount)
  IS DISTINCT FROM
      (EXCLUDED.colour, EXCLUDED.value, EXCLUDED.target, EXCLUDED.minimum,
       EXCLUDED.reading_id, EXCLUDED.reading_revision, EXCLUDED.credit_percent,
       EXCLUDED.credit_amount)
"""
)
# Does any SLA of the chunk have a status row? One index probe per SLA.
_ANY_STORED = """
SELECT EXISTS (
    SELECT 1 FROM unnest(%(ids)s::bigint[]) AS s(id)
    WHERE EXISTS (SELECT 1 FROM metrics_periodstatus ps
                  WHERE ps.organization_id = %(org)s AND ps.service_level_id = s.id))
"""


@functools.lru_cache(maxsize=65_536)
def _thresholds_in_force(spec: rules.Terms, steps: int) -> rules.Thresholds:
    """`rules.thresholds_in_force`, once per distinct terms (most SLAs share a handful)."""
    return rules.thresholds_in_force(spec, steps)


def _threshold_arrays(slas: list[ServiceLevel], today: date, timelines: dict) -> dict:
    """Thresholds per (terms, contract years of improvement) and credit tiers, as arrays."""
    thr = defaultdict(list)
    tiers = defaultdict(list)
    for sla in slas:
        # No period after the current one is read, whatever the contract's end.
        years = periods.contract_year(sla.contract.start_date, today)
        for terms in timelines[sla.pk].items:
            for steps in range(years + 1):
                thresholds = _thresholds_in_force(terms.spec, steps)
                thr["thr_terms"].append(terms.terms_id)
                thr["thr_steps"].append(steps)
                thr["thr_target"].append(thresholds.target)
                thr["thr_minimum"].append(thresholds.minimum)
            if not terms.tiers:
                continue
            sign, bounds, owed = _credit_steps(terms.tiers, sla.direction)
            for pos, (bound, percent) in enumerate(zip([*bounds, None], owed, strict=True)):
                tiers["tier_terms"].append(terms.terms_id)
                tiers["tier_sign"].append(sign)
                tiers["tier_pos"].append(pos)
                tiers["tier_bound"].append(bound)
                tiers["tier_owed"].append(percent)
    return {
        **{k: thr.get(k, []) for k in ("thr_terms", "thr_steps", "thr_target", "thr_minimum")},
        **{
            k: tiers.get(k, [])
            for k in ("tier_terms", "tier_sign", "tier_pos", "tier_bound", "tier_owed")
        },
    }


def _credit_steps(
    tiers: list[rules.CreditTier], direction: str
) -> tuple[int, list[Decimal], list[Decimal]]:
    """
    `rules.credit_percent` as a step function, for `width_bucket` in SQL: with
    `sign` 1 (higher is better) or -1, `bounds` the tiers' levels times the sign,
    ascending, and `owed[i]` the largest percentage of the tiers from the i-th on
    (0 past the last), the credit of a value is `owed[width_bucket(value * sign,
    bounds) + 1]`: the tiers whose level is better than the value, strictly, are
    those whose signed level is above the signed value.
    """
    sign = 1 if direction == rules.Direction.HIGHER else -1
    ordered = sorted(tiers, key=lambda t: sign * t.worse_than)
    owed = [Decimal(0)]
    for tier in reversed(ordered):
        owed.append(max(owed[-1], tier.percent))
    return sign, [sign * t.worse_than for t in ordered], owed[::-1]


def statement_params(
    *, organization_id: int, slas: list[ServiceLevel], scope: Scope, today: date, timelines=None
) -> dict:
    """The parameters of both statements (every id array typed in the SQL: `::bigint[]`)."""
    if timelines is None:
        timelines = timelines_for(slas)
    pairs = [
        (sla_id, start) for sla_id, starts in (scope.periods or {}).items() for start in starts
    ]
    return {
        "org": organization_id,
        "earliest": periods.EARLIEST,
        "ids": [s.pk for s in slas],
        "today": today,
        "now": timezone.now(),
        "since": scope.since,
        "by_pairs": scope.periods is not None,
        "pair_sla": [p[0] for p in pairs],
        "pair_period": [p[1] for p in pairs],
        **_threshold_arrays(slas, today, timelines),
    }


def _any_stored(cursor, params: dict) -> bool:
    cursor.execute(_ANY_STORED, params)
    return cursor.fetchone()[0]


def recompute_statuses(
    *, organization_id: int, slas: list[ServiceLevel], scope: Scope, today: date, timelines=None
) -> int:
    """Write the period statuses in scope. Returns rows written or deleted."""
    params = statement_params(
        organization_id=organization_id, slas=slas, scope=scope, today=today, timelines=timelines
    )
    full = scope.since is None and scope.periods is None
    with connection.cursor() as cursor:
        # Only a recompute of every period asks: a scoped one follows an earlier one.
        if full and not _any_stored(cursor, params):
            try:
                # Another recompute may write the same SLAs' first rows meanwhile:
                # then the rows exist, and the upsert below compares against them.
                with transaction.atomic():
                    cursor.execute(_INSERT_NEW, params)
                    return cursor.rowcount
            except IntegrityError:
                pass
        cursor.execute(_DELETE_PAIRS if scope.periods is not None else _DELETE_PERIODS, params)
        deleted = cursor.rowcount
        cursor.execute(_UPSERT, params)
        return deleted + cursor.rowcount
