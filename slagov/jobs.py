"""
Scheduled jobs run each organisation (and each chunk of its work) in
isolation: a failure is logged with its organisation, counted in the job's
report, and the others still run. One tenant's bad row never stops another's
statuses, escalations or e-mails.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from django.db import connection, transaction

logger = logging.getLogger("slagov.jobs")
MAX_LISTED = 50  # failures named in a report; the log has every one


def organization_label(organization) -> str:
    """`acme (#3)` for an organisation, `#3` for a bare id."""
    slug = getattr(organization, "slug", None)
    pk = getattr(organization, "pk", organization)
    return f"{slug} (#{pk})" if slug else f"#{pk}"


@dataclass
class JobReport:
    """What a scheduled job did (`done`: rows written, e-mails sent…) and what failed."""

    done: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"done": self.done, "failed": self.failed, "failures": self.failures}

    def record_failure(self, organization, what: str) -> None:
        label = organization_label(organization)
        logger.exception("%s failed for organisation %s", what, label)
        self.failed += 1
        if len(self.failures) < MAX_LISTED:
            self.failures.append(f"{label}: {what}")

    def merge(self, other: JobReport) -> None:
        self.done += other.done
        self.failed += other.failed
        self.failures.extend(other.failures[: MAX_LISTED - len(self.failures)])

    @contextmanager
    def isolated(self, organization, what: str) -> Iterator[None]:
        """
        Run one organisation's (or one chunk's) work inside that organisation's
        scope (a sweep over every tenant narrows to one at a time here): an
        exception is logged, counted and swallowed. Inside a transaction the
        work gets a savepoint, so a database error doesn't abort the caller's
        transaction too.
        """
        from slagov.tenancy import tenant_scope

        try:
            with savepoint(), tenant_scope(getattr(organization, "pk", organization)):
                yield
        except Exception:  # any failure: the next organisation must still run
            self.record_failure(organization, what)


def savepoint():
    """A savepoint when already in a transaction; nothing in autocommit (each statement commits)."""
    return transaction.atomic() if connection.in_atomic_block else nullcontext()
