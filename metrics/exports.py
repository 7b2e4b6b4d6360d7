"""
The columns of the metrics lists as they leave slagov (slagov.exports): period
statuses, readings, service credits per month, submissions. The pages' export
views (metrics.export_views, the Data page) and the API write the same files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from contracts.models import Contract
from contracts.periods import period_label
from contracts.rules import Colour
from metrics.ledger_rules import claim_deadline
from metrics.selectors import CreditMonth, credits_for
from slagov.exports import Column, Export, person


def _sla_columns(sla_of) -> list[Column]:
    """Where a row is: its contract, vendor and SLA, and its unit."""
    return [
        Column("Contract", lambda row: sla_of(row).contract.reference),
        Column("Vendor", lambda row: sla_of(row).contract.vendor.name),
        Column("SLA", lambda row: sla_of(row).code),
        Column("SLA name", lambda row: sla_of(row).name),
        Column("Kind", lambda row: sla_of(row).get_kind_display()),
        Column("Unit", lambda row: sla_of(row).unit_label),
    ]


def _period(row) -> str:
    return period_label(row.period_start, row.service_level.period)


# Rows: `metrics.selectors.period_statuses()`, filtered.
STATUSES = Export(
    name="statuses",
    columns=[
        *_sla_columns(lambda status: status.service_level),
        Column("Period", _period),
        Column("Period start", lambda s: s.period_start),
        Column("Status", lambda s: Colour(s.colour).label),
        Column("Value", lambda s: s.value),
        Column("Target", lambda s: s.target),
        Column("Minimum", lambda s: s.minimum),
        Column("Credit %", lambda s: s.credit_percent),
        Column("Credit amount", lambda s: s.credit_amount),
        Column("Currency", lambda s: s.service_level.contract.currency),
        Column("Reading revision", lambda s: s.reading_revision),
        Column("Computed at", lambda s: s.computed_at),
    ],
    related=("service_level__contract__vendor",),
)

# Rows: `metrics.selectors.readings()`, filtered. A corrected value keeps its
# earlier ones as revisions: `Revision` counts them (the SLA page lists them).
READINGS = Export(
    name="readings",
    columns=[
        *_sla_columns(lambda reading: reading.service_level),
        Column("Period", _period),
        Column("Period start", lambda r: r.period_start),
        Column("Value", lambda r: r.value),
        Column("Revision", lambda r: r.revision),
        Column("Source", lambda r: r.get_source_display()),
        Column("Submitted by", lambda r: person(r.submitted_by)),
        Column("Submitted at", lambda r: r.submitted_at),
        Column("Submission", lambda r: r.submission_id),
        Column("Note", lambda r: r.note),
    ],
    related=("service_level__contract__vendor", "submitted_by"),
)


def credit_rows(contracts: Iterable[Contract]) -> Iterator[tuple[Contract, CreditMonth]]:
    """(contract, month) for every month a contract was assessed credits (`credits_for`)."""
    contracts = list(contracts)
    credits = credits_for(contracts)
    for contract in contracts:
        for month in credits[contract.pk][0]:
            yield contract, month


def _by_sla(month: CreditMonth) -> str:
    return ", ".join(f"{code} {amount}" for code, amount in sorted(month.by_sla.items()))


# Rows: contracts (e.g. `Contract.objects.order_by("reference")`), one row per month.
CREDITS = Export(
    name="credits",
    columns=[
        Column("Contract", lambda row: row[0].reference),
        Column("Vendor", lambda row: row[0].vendor.name),
        Column("Currency", lambda row: row[0].currency),
        Column("Month", lambda row: row[1].month),
        Column("Assessed", lambda row: row[1].assessed),
        Column("Cap", lambda row: row[1].cap),
        Column("Credited", lambda row: row[1].credited),
        Column("Capped", lambda row: row[1].capped),
        Column("By SLA (before the cap)", lambda row: _by_sla(row[1])),
    ],
    related=("vendor",),
    prepare=credit_rows,
)

# Rows: submissions, newest first.
SUBMISSIONS = Export(
    name="submissions",
    columns=[
        Column("Submission", lambda s: s.pk),
        Column("File", lambda s: s.original_name),
        Column("Source", lambda s: s.get_source_display()),
        Column("Vendor", lambda s: s.vendor.name),
        Column("By", lambda s: person(s.created_by)),
        Column("Received at", lambda s: s.created_at),
        Column("State", lambda s: s.get_state_display()),
        Column("Rows", lambda s: s.rows_total),
        Column("New", lambda s: s.rows_new),
        Column("Changed", lambda s: s.rows_changed),
        Column("Unchanged", lambda s: s.rows_unchanged),
        Column("Errors", lambda s: s.error_count),
        Column("Validated at", lambda s: s.validated_at),
        Column("Applied at", lambda s: s.applied_at),
    ],
    related=("vendor", "created_by"),
)


# Rows: `metrics.ledger_selectors.credit_entries()`, filtered (the ledger page and its API).
CREDIT_LEDGER = Export(
    name="credit-ledger",
    columns=[
        Column("Contract", lambda e: e.contract.reference),
        Column("Vendor", lambda e: e.contract.vendor.name),
        Column("Month", lambda e: e.month),
        Column("Currency", lambda e: e.currency),
        Column("Amount", lambda e: e.amount),
        Column("State", lambda e: e.get_state_display()),
        Column("Engine amount now", lambda e: e.engine_amount),
        Column("Claim by", lambda e: claim_deadline(e.month, e.contract.credit_claim_days)),
        Column("Claimed at", lambda e: e.claimed_at),
        Column("Claimed by", lambda e: person(e.claimed_by)),
        Column("Invoice reference", lambda e: e.invoice_reference),
        Column("Applied at", lambda e: e.applied_at),
        Column("Waived at", lambda e: e.waived_at),
        Column("Waive reason", lambda e: e.waive_reason),
        Column("Expired at", lambda e: e.expired_at),
    ],
    related=("contract__vendor", "claimed_by"),
)
