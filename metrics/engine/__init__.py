"""
The status engine: readings → period statuses → SLA health and trends.

`recompute` is set-based and idempotent. Its scope is every period of the
given SLAs, the periods from a date on (a renegotiation), or exactly the
periods a submission touched; health and trends are refreshed for the SLAs.
PostgreSQL runs set-based statements per chunk of SLAs (`postgres.py`); SQLite,
the embedded default, the Python path (`python.py`). The trends of a chunk are
fitted together (`health.health_many`, numpy). Rows are written only where
they differ, so running anything twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from contracts.models import ServiceLevel
from metrics.engine import changes, health, postgres, python
from metrics.engine.scope import Scope
from metrics.engine.terms import TermsTimeline, deadline, timelines_for
from slagov import change_marks
from slagov.tenancy import in_tenant_scope

__all__ = ["Scope", "TermsTimeline", "deadline", "recompute",
           "recompute_service_levels", "timelines_for"]  # fmt: skip

CHUNK = 2000
ANALYZE_AFTER = 50_000  # status rows written
# A recompute of this many SLAs first checks that the planner's statistics
# know the organisation's rows in the tables its statements start from (a fresh
# tenant's, just written, look absent to it where autovacuum hasn't run yet, and
# a plan for none collapses: the readings' on 100,000s, the SLAs' and terms'
# into nested loops over every SLA for the input digests).
ANALYZE_CHECK_FROM = 500  # SLAs
ANALYZE_CHECKS = {  # table: rows counted at most (and needed before it is analysed)
    "metrics_reading": 20_000,
    "contracts_servicelevel": ANALYZE_CHECK_FROM,
    "contracts_servicelevelterms": ANALYZE_CHECK_FROM,
}


def _statuses_module():
    return postgres if connection.vendor == "postgresql" else python


def _analyze_if_unknown(organization_id: int) -> list[str]:
    """
    ANALYZE each table whose planner expects far fewer of this organisation's rows
    than exist. Returns the tables analysed.
    """
    analysed = []
    with connection.cursor() as cursor:
        for table, enough in ANALYZE_CHECKS.items():
            query = f"SELECT 1 FROM {table} WHERE organization_id = %s"  # noqa: S608 (ours)
            cursor.execute(f"EXPLAIN (FORMAT JSON) {query}", [organization_id])
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            expected = plan[0]["Plan"]["Plan Rows"]
            cursor.execute(
                f"SELECT count(*) FROM ({query} LIMIT %s) AS r",  # noqa: S608
                [organization_id, enough],
            )
            found = cursor.fetchone()[0]
            if found >= enough and expected * 10 < found:
                cursor.execute(f"ANALYZE {table}")
                analysed.append(table)
    return analysed


@in_tenant_scope
def recompute(
    *,
    organization_id: int,
    service_level_ids: Iterable[int],
    scope: Scope | None = None,
    today: date | None = None,
    force: bool = False,
) -> int:
    """
    Recompute statuses in scope and the health of the SLAs. Returns status rows written.

    On PostgreSQL a recompute of every period skips the SLAs whose inputs and
    clock window are as at their last full recompute (`changes`), unless forced.
    """
    today = today or timezone.localdate()
    scope = scope or Scope()
    full = scope.since is None and scope.periods is None
    tracked = connection.vendor == "postgresql"
    ids = sorted({int(i) for i in service_level_ids})
    if tracked and len(ids) >= ANALYZE_CHECK_FROM:
        _analyze_if_unknown(organization_id)
    written = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        with transaction.atomic():
            if tracked:
                # Statuses are derived data: a crash that lost this commit is
                # repaired by the next recompute, so don't wait for the disk.
                # Sorting and hashing 100,000s of rows wants more than the default 4 MB;
                # compiling these statements (JIT) costs more than running them.
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('synchronous_commit', 'off', true),"
                        " set_config('work_mem', '64MB', true), set_config('jit', 'off', true)"
                    )
            digests: dict[int, str] = {}
            if tracked and full:
                found = changes.inputs(organization_id, chunk)
                digests = {
                    pk: i.digest for pk, i in found.items() if force or not i.unchanged(today)
                }
                chunk = list(digests)
            if not chunk:
                continue
            slas = list(
                ServiceLevel.objects.filter(
                    organization_id=organization_id, pk__in=chunk
                ).select_related("contract")
            )
            if not slas:
                continue
            timelines = timelines_for(slas)
            written += _statuses_module().recompute_statuses(
                organization_id=organization_id,
                slas=slas,
                scope=scope,
                today=today,
                timelines=timelines,
            )
            health.refresh(
                organization_id=organization_id, slas=slas, today=today, timelines=timelines
            )
            if tracked and full:
                changes.track(organization_id, digests, today)
            elif tracked:
                changes.untrack(organization_id, [s.pk for s in slas])
            # Pages cached on the organisation's change stamp read these statuses and
            # health: one mark a chunk recomputed (none when nothing was due).
            change_marks.mark(organization_id)
    if written > ANALYZE_AFTER and tracked:
        # After a bulk write the planner's statistics are stale (a fresh tenant
        # looks empty to it), and the next recompute would plan for that.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE metrics_periodstatus")
    return written


def recompute_service_levels(
    *, organization_id: int, service_level_ids: Iterable[int], today: date | None = None
) -> int:
    """Every period of the given SLAs."""
    return recompute(
        organization_id=organization_id, service_level_ids=service_level_ids, today=today
    )
