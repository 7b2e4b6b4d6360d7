"""
The pipeline, declared in one place: new readings → statuses recomputed →
escalation rules evaluated → e-mails sent from the outbox; and, beside the
rules, the credit ledger brought in step with the new statuses.

Each step is durable work (`slagov.work`): the next step is recorded in the
same transaction that finishes this one. The apps below only announce work
by name (`work.recompute_later`); what it means is written here.
"""

from __future__ import annotations

from escalations import credit_notices, evaluate
from metrics import ledger, services
from slagov import work


@work.handler(work.RECOMPUTE)
def recompute(organization_id: int, *, service_level_ids: list[int], since=None, pairs=None):
    """The statuses of these SLAs; then the escalation rules look at what was written."""
    services.statuses_recompute(
        organization_id=organization_id, service_level_ids=service_level_ids,
        since=since, pairs=pairs,
    )  # fmt: skip
    return [
        (work.EVALUATE, {"service_level_ids": service_level_ids}),
        (work.LEDGER_SYNC, {"service_level_ids": service_level_ids}),
    ]


@work.handler(work.EVALUATE)
def evaluate_rules(organization_id: int, *, service_level_ids: list[int]):
    """
    The escalation rules over these SLAs. What they tell people is written to
    the outbox in the same transactions, and sent once those commit.
    """
    evaluate.evaluate(organization_id=organization_id, service_level_ids=service_level_ids)
    return []


@work.handler(work.LEDGER_SYNC)
def sync_ledger(organization_id: int, *, service_level_ids: list[int]):
    """The credit ledger of these SLAs' contracts, in step with the statuses just written."""
    contract_ids = ledger.contracts_of(service_level_ids)
    if contract_ids:
        ledger.ledger_sync(organization_id=organization_id, contract_ids=contract_ids)
    return []


@work.handler(work.CREDIT_NOTICE)
def credit_notice(organization_id: int, *, entry_id: int):
    """A claimed credit's notice to the vendor, into the outbox (once per address)."""
    credit_notices.credit_notice_queue(organization_id=organization_id, entry_id=entry_id)
    return []
