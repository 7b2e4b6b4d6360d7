"""
Durable follow-up work: intent first, then the work.

A change that needs work done after it (new readings need their statuses
recomputed; new statuses need the escalation rules) records a `PendingWork`
row in its own transaction with `later`. Once the transaction commits a worker
is asked to run it; if the ask fails (the broker is unreachable) the request
still answers normally: the row waits. The sweeper (`sweep`, every minute in
beat, `manage.py sweep_work` from cron in the embedded default) asks again for
every row whose `run_after` has passed: never asked, or asked and not finished
within the lease (its worker died). Work is idempotent, so running it twice
(a slow worker and the sweeper's second ask) costs time, never correctness.

What each kind of work does is declared in one place, `slagov.pipeline`:
the apps below announce work by its name and never import each other's tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from slagov.jobs import JobReport
from slagov.models import PendingWork

logger = logging.getLogger(__name__)

RECOMPUTE = "recompute"  # statuses of SLAs (arguments: service_level_ids, since | pairs)
EVALUATE = "evaluate"  # escalation rules over SLAs (arguments: service_level_ids)
LEDGER_SYNC = "ledger_sync"  # the credit ledger after a recompute (arguments: service_level_ids)
CREDIT_NOTICE = "credit_notice"  # a claimed credit's notice to the vendor (arguments: entry_id)
MAX_ATTEMPTS = 5  # asks of one piece of work before it is failed and shown to admins

# kind → the function that does it: f(organization_id, **arguments) -> list of follow-ups,
# each (kind, arguments), recorded in the transaction that deletes the finished row.
HANDLERS: dict[str, Callable[..., list[tuple[str, dict]]]] = {}


def handler(kind: str):
    def register(function):
        HANDLERS[kind] = function
        return function

    return register


def lease() -> timedelta:
    return timedelta(seconds=settings.WORK_LEASE_SECONDS)


def later(kind: str, *, organization_id: int, **arguments) -> PendingWork:
    """
    Record work to do once the current transaction commits, and ask a worker
    then. Outside a transaction the ask is made at once.
    """
    work = PendingWork.objects.create(
        organization_id=organization_id, kind=kind, arguments=arguments,
        run_after=timezone.now() + lease(),
    )  # fmt: skip
    transaction.on_commit(lambda: ask(work.pk))
    return work


def recompute_later(
    *,
    organization_id: int,
    service_level_ids: list[int] | None = None,
    since: date | None = None,
    pairs: list[tuple[int, date]] | None = None,
) -> PendingWork | None:
    """
    Refresh statuses once the surrounding transaction has committed: every
    period of the SLAs, the periods from `since` on, or exactly `pairs`
    (SLA id, period start), whose SLAs are then the ones refreshed.
    """
    arguments: dict = {}
    if since is not None:
        arguments["since"] = since.isoformat()
    if pairs is not None:
        arguments["pairs"] = sorted({(int(s), p.isoformat()) for s, p in pairs})
        service_level_ids = [s for s, _ in arguments["pairs"]]
    ids = sorted(set(service_level_ids or ()))
    if not ids:
        return None
    return later(RECOMPUTE, organization_id=organization_id, service_level_ids=ids, **arguments)


def enqueue(task, *args) -> bool:
    """
    Ask a worker to run `task` for what is already recorded (a work row, a
    submission, the outbox). A broker that can't be reached is logged, never
    raised to whoever asked: the record stays, and the sweeper asks again.
    """
    try:
        task.delay(*args)
    except Exception:
        logger.warning("could not queue %s%s; the sweeper will", task.name, args, exc_info=True)
        return False
    return True


def ask(work_id: int) -> bool:
    """Ask a worker to run a piece of recorded work (see `enqueue`)."""
    from slagov.tasks import run_work

    return enqueue(run_work, work_id)


def run(work_id: int) -> str:
    """
    Do one piece of work, if it is still to do. Its follow-ups are recorded
    and the row deleted in one transaction, so a death after the work leaves
    it to be done again rather than its follow-ups lost.
    """
    work = PendingWork.objects.filter(pk=work_id, failed_at__isnull=True).first()
    if work is None:
        return "done already"
    try:
        follow_ups = HANDLERS[work.kind](work.organization_id, **work.arguments)
    except Exception as exc:
        PendingWork.objects.filter(pk=work_id).update(
            last_error=f"{type(exc).__name__}: {exc}"[:500]
        )
        raise
    with transaction.atomic():
        if not PendingWork.objects.filter(pk=work_id).delete()[0]:
            return "done by another worker"
        for kind, arguments in follow_ups or ():
            later(kind, organization_id=work.organization_id, **arguments)
    return "done"


def sweep(now: datetime | None = None) -> JobReport:
    """
    Ask again for work whose lease has passed; fail (and keep, for admins to
    see) work asked MAX_ATTEMPTS times. `done` counts the asks.
    """
    now = now or timezone.now()
    report = JobReport()
    due = PendingWork.objects.filter(failed_at__isnull=True, run_after__lte=now)
    given_up = due.filter(attempts__gte=MAX_ATTEMPTS)
    for work in given_up:
        logger.error("giving up on %s after %s attempts: %s", work, work.attempts, work.last_error)
    given_up.update(failed_at=now)
    for work_id in due.order_by("run_after", "pk").values_list("pk", flat=True)[:1000]:
        # Claimed for a lease, so the next sweep doesn't ask again while this one runs.
        claimed = PendingWork.objects.filter(pk=work_id, run_after__lte=now).update(
            run_after=now + lease(), attempts=F("attempts") + 1
        )
        if claimed and ask(work_id):
            report.done += 1
    return report
