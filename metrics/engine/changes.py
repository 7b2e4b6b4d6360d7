"""
What changed since an SLA's statuses were last computed (PostgreSQL).

Per SLA, `SlaHealth` keeps an input digest and a clock window. The digest is
computed in the database, in one aggregate pass per chunk, from everything the
statuses and the health read: each reading's id, period, value and revision,
the terms and their credit tiers, the SLA's and the contract's fields the
engine reads, and `ENGINE_VERSION`. It is a digest of the data, not a flag set
by the services, so a reading written by any path (an upload, raw SQL, `COPY`)
or deleted changes it. The clock window [`clock_from`, `clock_until`) is when
the passing of time leaves the outputs as they are: from the day they were
computed for to the next period boundary or the first day a period without
data turns late, whichever comes first.

A full recompute skips the SLAs whose digest matches and whose window holds
today; the hourly refresh looks only at SLAs whose window has ended.
A scoped recompute (some periods) can't vouch for the periods it left alone:
it clears the digest, so that the next refresh recomputes the SLA in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import connection

# Bump when the engine's rules change: every SLA is then recomputed once.
ENGINE_VERSION = "1"

_DIGEST = """
WITH sla AS (
    SELECT s.id, s.contract_id FROM contracts_servicelevel s
    WHERE s.organization_id = %(org)s AND s.id = ANY(%(ids)s::bigint[])
),
readings AS (
    -- Order-free, so no sort: a sum of row hashes (and the count).
    SELECT r.service_level_id AS id, count(*) AS n,
           sum(hashtextextended(ROW(r.id, r.period_start, r.value, r.revision)::text, 0)
               ::numeric) AS h
    FROM metrics_reading r
    WHERE r.organization_id = %(org)s AND r.service_level_id = ANY(%(ids)s::bigint[])
    GROUP BY r.service_level_id
),
tiers AS (
    SELECT ct.terms_id, string_agg(ROW(ct.worse_than, ct.percent)::text, ',' ORDER BY
                                   ct.worse_than, ct.percent) AS t
    FROM contracts_credittier ct
    JOIN contracts_servicelevelterms t ON t.id = ct.terms_id
    WHERE t.organization_id = %(org)s AND t.service_level_id = ANY(%(ids)s::bigint[])
    GROUP BY ct.terms_id
),
terms AS (
    SELECT t.service_level_id AS id,
           string_agg(ROW(t.id, t.effective_from, t.direction, t.target, t.minimum,
                          t.improvement, t.improvement_rate, t.improvement_bound, tiers.t)::text,
                      ';' ORDER BY t.effective_from, t.id) AS t
    FROM contracts_servicelevelterms t
    LEFT JOIN tiers ON tiers.terms_id = t.id
    WHERE t.organization_id = %(org)s AND t.service_level_id = ANY(%(ids)s::bigint[])
    GROUP BY t.service_level_id
)
SELECT s.id,
       md5(ROW(%(version)s::text, s.period, s.direction, s.kind, s.unit, s.data_start,
               s.contract_id, c.start_date, c.end_date, c.submission_deadline_days,
               c.annual_value, terms.t, readings.n, readings.h)::text),
       h.input_digest, h.clock_from, h.clock_until
FROM sla
JOIN contracts_servicelevel s ON s.id = sla.id
JOIN contracts_contract c ON c.id = s.contract_id
LEFT JOIN readings ON readings.id = s.id
LEFT JOIN terms ON terms.id = s.id
LEFT JOIN metrics_slahealth h ON h.service_level_id = s.id
"""

# After a full recompute: the digest it was computed from, and when the clock
# next matters (the next period boundary, or the day after the deadline of the
# first period still waiting for data, as `postgres._UPSERT` judges lateness).
_TRACK = """
UPDATE metrics_slahealth h
SET input_digest = d.digest, clock_from = %(today)s::date,
    clock_until = LEAST(
        (CASE WHEN s.period = 'weekly'
              THEN date_trunc('week', %(today)s::date) + interval '1 week'
              ELSE date_trunc('month', %(today)s::date) + interval '1 month' END)::date,
        (SELECT min((ps.period_start + CASE WHEN s.period = 'weekly' THEN interval '1 week'
                                            ELSE interval '1 month' END)::date
                    + c.submission_deadline_days)
         FROM metrics_periodstatus ps
         WHERE ps.organization_id = %(org)s AND ps.service_level_id = s.id
           AND ps.colour = 'no_data' AND ps.value IS NULL AND ps.period_start >= s.data_start))
FROM unnest(%(ids)s::bigint[], %(digests)s::text[]) AS d(id, digest)
JOIN contracts_servicelevel s ON s.id = d.id
JOIN contracts_contract c ON c.id = s.contract_id
WHERE h.organization_id = %(org)s AND h.service_level_id = d.id
"""

_UNTRACK = """
UPDATE metrics_slahealth SET input_digest = '', clock_from = NULL, clock_until = NULL
WHERE organization_id = %(org)s AND service_level_id = ANY(%(ids)s::bigint[])
  AND clock_until IS NOT NULL
"""

# The active SLAs of an organisation the clock (or a missing record) makes due.
_DUE = """
SELECT s.id FROM contracts_servicelevel s
WHERE s.organization_id = %(org)s AND s.is_active
  AND NOT EXISTS (
      SELECT 1 FROM metrics_slahealth h
      WHERE h.service_level_id = s.id AND h.clock_from <= %(today)s::date
        AND h.clock_until > %(today)s::date AND h.input_digest <> '')
ORDER BY s.id
"""


@dataclass(frozen=True, slots=True)
class Inputs:
    digest: str
    stored: str | None
    clock_from: date | None
    clock_until: date | None

    def unchanged(self, today: date) -> bool:
        """Would a recompute today write nothing and fit nothing anew?"""
        return (
            self.stored == self.digest
            and self.clock_from is not None
            and self.clock_until is not None
            and self.clock_from <= today < self.clock_until
        )


def inputs(organization_id: int, ids: list[int]) -> dict[int, Inputs]:
    """The input digest of each SLA, with what was stored at its last full recompute."""
    with connection.cursor() as cursor:
        cursor.execute(_DIGEST, {"org": organization_id, "ids": ids, "version": ENGINE_VERSION})
        return {row[0]: Inputs(*row[1:]) for row in cursor.fetchall()}


def track(organization_id: int, digests: dict[int, str], today: date) -> None:
    """Record the inputs these SLAs' statuses and health were just computed from in full."""
    if not digests:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _TRACK,
            {
                "org": organization_id,
                "ids": list(digests),
                "digests": list(digests.values()),
                "today": today,
            },
        )


def untrack(organization_id: int, ids: list[int]) -> None:
    """Some periods were recomputed: the SLAs are due for a full recompute."""
    with connection.cursor() as cursor:
        cursor.execute(_UNTRACK, {"org": organization_id, "ids": ids})


def due_ids(organization_id: int, today: date) -> list[int]:
    """Active SLAs whose clock window ended (or was never recorded): the hourly refresh's work."""
    with connection.cursor() as cursor:
        cursor.execute(_DUE, {"org": organization_id, "today": today})
        return [row[0] for row in cursor.fetchall()]
