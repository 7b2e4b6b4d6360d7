"""
The pipeline, declared in one place: new readings → statuses recomputed →
escalation rules evaluated → e-mails sent from the outbox.

Each step is durable work (`slagov.work`): the next step is recorded in the
same transaction that finishes this one. The apps below only announce work
by name (`work.recompute_later`); what it means is written here.
"""

from __future__ import annotations

from escalations import evaluate
from metrics import services
from slagov import work


@work.handler(work.RECOMPUTE)
def recompute(organization_id: int, *, service_level_ids: list[int], since=None, pairs=None):
    """The statuses of these SLAs; then the escalation rules look at what was written."""
    services.statuses_recompute(
        organization_id=organization_id, service_level_ids=service_level_ids,
        since=since, pairs=pairs,
    )  # fmt: skip
    return [(work.EVALUATE, {"service_level_ids": service_level_ids})]


@work.handler(work.EVALUATE)
def evaluate_rules(organization_id: int, *, service_level_ids: list[int]):
    """
    The escalation rules over these SLAs. What they tell people is written to
    the outbox in the same transactions, and sent once those commit.
    """
    evaluate.evaluate(organization_id=organization_id, service_level_ids=service_level_ids)
    return []
