"""
The status engine: readings → period statuses → SLA health and trends.

`recompute` is set-based and idempotent. Its scope is every period of the
given SLAs, the periods from a date on (a renegotiation), or exactly the
periods a submission touched; health and trends are refreshed for the SLAs.
PostgreSQL runs one statement per chunk of SLAs (`postgres.py`); SQLite, the
embedded default, the Python path (`python.py`). Rows are written only where
they differ, so running anything twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from contracts.models import ServiceLevel
from metrics.engine import health, postgres, python
from metrics.engine.scope import Scope
from metrics.engine.terms import TermsTimeline, deadline, timelines_for
from slagov.tenancy import in_tenant_scope

__all__ = ["Scope", "TermsTimeline", "deadline", "recompute",
           "recompute_service_levels", "timelines_for"]  # fmt: skip

CHUNK = 2000
ANALYZE_AFTER = 50_000  # status rows written


def _statuses_module():
    return postgres if connection.vendor == "postgresql" else python


@in_tenant_scope
def recompute(
    *,
    organization_id: int,
    service_level_ids: Iterable[int],
    scope: Scope | None = None,
    today: date | None = None,
) -> int:
    """Recompute statuses in scope and the health of the SLAs. Returns status rows written."""
    today = today or timezone.localdate()
    scope = scope or Scope()
    ids = sorted({int(i) for i in service_level_ids})
    written = 0
    for start in range(0, len(ids), CHUNK):
        slas = list(
            ServiceLevel.objects.filter(
                organization_id=organization_id, pk__in=ids[start : start + CHUNK]
            ).select_related("contract")
        )
        if not slas:
            continue
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Statuses are derived data: a crash that lost this commit is
                # repaired by the next recompute, so don't wait for the disk.
                # Sorting and hashing 100,000s of rows wants more than the default 4 MB.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
                    cursor.execute("SET LOCAL work_mem TO '64MB'")
            written += _statuses_module().recompute_statuses(
                organization_id=organization_id, slas=slas, scope=scope, today=today
            )
            health.refresh(organization_id=organization_id, slas=slas, today=today)
    if written > ANALYZE_AFTER and connection.vendor == "postgresql":
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
