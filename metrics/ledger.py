"""
The credit ledger kept in step with the engine, and what finance reads of it.

`ledger_sync` makes the ledger say what `metrics.selectors.credits_for` says
(the one rule for a month's credit, capped by the contract's at-risk amount):
a new credit is a new `assessed` entry; an `assessed` entry follows the engine
(or is deleted when its credit falls to nothing: nobody has acted on it). An
entry someone acted on (claimed, applied, waived, expired) keeps its amount:
a later correction of a reading changes only `engine_amount`, and each change
is an event, so the difference is shown rather than silently applied.

The pipeline runs the sync after each status recompute for the contracts of
the SLAs recomputed (`slagov.pipeline`); the daily job runs it for every
organisation and then expires what is past its claim window.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts.models import Contract, ServiceLevel
from metrics import ledger_rules as rules
from metrics.models import CreditEntry, CreditEntryEvent
from metrics.selectors import CreditMonth, credit_cap, credits_for
from slagov import audit, formatting
from slagov.jobs import JobReport
from slagov.models import Organization
from slagov.tenancy import in_tenant_scope

logger = logging.getLogger(__name__)
State = CreditEntry.State
Kind = CreditEntryEvent.Kind
ZERO = Decimal("0.00")


@dataclass
class SyncResult:
    created: int = 0
    reassessed: int = 0
    corrected: int = 0
    removed: int = 0

    @property
    def changed(self) -> int:
        return self.created + self.reassessed + self.corrected + self.removed


def _money(amount: Decimal, currency: str) -> str:
    return f"{Decimal(amount):,.2f} {currency}"


def describe(entry: CreditEntry) -> str:
    """`NW-NET-001 2026-03: 1,234.50 EUR`: an entry in the audit log and in messages."""
    return f"{entry.contract.reference} {entry.month:%Y-%m}: {_money(entry.amount, entry.currency)}"


def _event(entry: CreditEntry, kind: str, now: datetime, *, before=None, after=None,
           actor=None, message: str = "") -> CreditEntryEvent:  # fmt: skip
    return CreditEntryEvent(
        organization_id=entry.organization_id, entry=entry, kind=kind, at=now, actor=actor,
        amount_before=before, amount_after=after, message=message[:500],
    )  # fmt: skip


@in_tenant_scope
@transaction.atomic
def ledger_sync(
    *, organization_id: int, contract_ids: Iterable[int] | None = None,
    now: datetime | None = None,
) -> SyncResult:  # fmt: skip
    """
    Bring the entries of the organisation's contracts (or of `contract_ids`)
    in step with `credits_for`. Re-run safe: a second run changes nothing.
    """
    now = now or timezone.now()
    contracts = Contract.objects.filter(organization_id=organization_id).order_by("pk")
    if contract_ids is not None:
        contracts = contracts.filter(pk__in=sorted(set(contract_ids)))
    # Locked, so that two syncs of one contract (a recompute and the daily job) take
    # turns, and a claim made meanwhile is seen rather than overwritten.
    contracts = list(contracts.select_for_update())
    if not contracts:
        return SyncResult()
    credits = credits_for(contracts)
    entries = {
        (e.contract_id, e.month): e
        for e in CreditEntry.objects.select_for_update().filter(
            organization_id=organization_id, contract__in=[c.pk for c in contracts]
        )
    }
    result = SyncResult()
    events: list[CreditEntryEvent] = []
    seen: set[tuple[int, date]] = set()
    for contract in contracts:
        for month in credits[contract.pk][0]:
            credited = month.credited
            if credited <= 0:
                continue
            key = (contract.pk, month.month)
            seen.add(key)
            entry = entries.get(key)
            if entry is None:
                entry = CreditEntry.objects.create(
                    organization_id=organization_id, contract=contract, month=month.month,
                    currency=contract.currency, amount=credited, engine_amount=credited,
                    assessed_at=now,
                )  # fmt: skip
                words = _assessed_words(month, contract.currency)
                events.append(_event(entry, Kind.ASSESSED, now, after=credited, message=words))
                result.created += 1
            else:
                _follow(entry, credited, contract.currency, now, events, result)
    for key, entry in entries.items():
        if key not in seen:
            _follow(entry, ZERO, entry.currency, now, events, result)
    CreditEntryEvent.objects.bulk_create(events)
    return result


def _assessed_words(month: CreditMonth, currency: str) -> str:
    words = f"Assessed {_money(month.credited, currency)}"
    if month.capped:
        words += f" (capped at the at-risk amount; {_money(month.assessed, currency)} before)"
    return words + "."


def _follow(entry: CreditEntry, credited: Decimal, currency: str, now: datetime,
            events: list, result: SyncResult) -> None:  # fmt: skip
    """One existing entry against what the engine says now (`credited`, 0 when nothing)."""
    if entry.state == State.ASSESSED:
        if credited <= 0:
            entry.delete()  # derived data nobody acted on: its events go with it
            result.removed += 1
            return
        if entry.amount == credited and entry.currency == currency:
            return
        events.append(_event(
            entry, Kind.REASSESSED, now, before=entry.amount, after=credited,
            message=f"Reassessed after a correction: {_money(entry.amount, entry.currency)} → "
                    f"{_money(credited, currency)}.",
        ))  # fmt: skip
        CreditEntry.objects.filter(pk=entry.pk, state=State.ASSESSED).update(
            amount=credited, engine_amount=credited, currency=currency
        )
        result.reassessed += 1
        return
    if entry.engine_amount == credited:
        return
    state = entry.get_state_display().lower()
    words = (
        f"The engine now says {_money(credited, entry.currency)} (it said "
        f"{_money(entry.engine_amount, entry.currency)}); the {state} amount stays "
        f"{_money(entry.amount, entry.currency)}."
    )
    events.append(
        _event(entry, Kind.CORRECTED, now, before=entry.engine_amount, after=credited,
               message=words)
    )  # fmt: skip
    CreditEntry.objects.filter(pk=entry.pk).update(engine_amount=credited)
    result.corrected += 1


def contracts_of(service_level_ids: Iterable[int]) -> list[int]:
    """The contracts of these SLAs (any scope: the caller names its organisation)."""
    with scopes_disabled():
        return sorted(
            set(
                ServiceLevel.objects.filter(pk__in=list(service_level_ids)).values_list(
                    "contract_id", flat=True
                )
            )
        )


# --- Expiry --------------------------------------------------------------------------------


@in_tenant_scope
def ledger_expire(*, organization_id: int, today: date, now: datetime | None = None) -> int:
    """
    Expire the organisation's `assessed` entries past their contract's claim
    window. Each entry by a conditional update: a claim made at the same time
    wins or loses whole. Returns how many expired.
    """
    now = now or timezone.now()
    expired = 0
    candidates = (
        CreditEntry.objects.filter(organization_id=organization_id, state=State.ASSESSED)
        .select_related("contract")
        .order_by("month", "pk")
    )
    for entry in candidates:
        days = entry.contract.credit_claim_days
        if not rules.is_past_window(entry.month, days, today):
            continue
        with transaction.atomic():
            if not CreditEntry.objects.filter(pk=entry.pk, state=State.ASSESSED).update(
                state=State.EXPIRED, expired_at=now
            ):
                continue
            deadline = rules.claim_deadline(entry.month, days)
            CreditEntryEvent.objects.create(
                organization_id=organization_id, entry=entry, kind=Kind.EXPIRED, at=now,
                amount_before=entry.amount, amount_after=entry.amount,
                message=f"Not claimed by {formatting.day(deadline)} ({days} days after the "
                        "month ended).",
            )  # fmt: skip
            audit.record(Organization(pk=organization_id), None, "credit expired", entry,
                         describe(entry))  # fmt: skip
            expired += 1
    return expired


@scopes_disabled()
def ledger_daily_all(*, today: date | None = None) -> JobReport:
    """
    Scheduled: every organisation's ledger synced with the engine, then what is
    past its claim window expired. Each organisation on its own (`done`:
    entries created, changed or expired; `failed`: organisations).
    """
    today = today or timezone.localdate()
    report = JobReport()
    for org in Organization.objects.order_by("pk").only("pk", "slug"):
        with report.isolated(org, "credit ledger"):
            report.done += ledger_sync(organization_id=org.pk).changed
            report.done += ledger_expire(organization_id=org.pk, today=today)
    if report.failed:
        logger.error("credit ledger: %d failure(s): %s", report.failed, report.failures)
    return report


# --- What the leadership view and the contract page read ------------------------------------


@dataclass
class Bucket:
    label: str
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))


@dataclass
class UnclaimedSummary:
    buckets: list[Bucket]
    oldest: CreditEntry | None
    oldest_days: int | None
    expiring: list[CreditEntry]  # the claim window closes within EXPIRING_SOON_DAYS
    totals: dict[str, Decimal]  # every unclaimed credit, per currency
    count: int

    @property
    def any(self) -> bool:
        return self.count > 0


def unclaimed_summary(
    *, organization_id: int, today: date, contract_ids: Iterable[int] | None = None
) -> UnclaimedSummary:
    """
    The `assessed` credits of the organisation (or of `contract_ids`), by age
    since their month ended (0-30, 31-60, 61-90, over 90 days), with counts and
    totals per currency; the oldest; and those whose claim window closes within
    30 days (each with `deadline` and `days_left` set), soonest first. Runs in
    the caller's scope (a vendor user's: their vendor's). One query.
    """
    entries = CreditEntry.objects.filter(
        organization_id=organization_id, state=State.ASSESSED
    ).select_related("contract__vendor")
    if contract_ids is not None:
        entries = entries.filter(contract__in=list(contract_ids))
    buckets = {label: Bucket(label) for label, _, _ in rules.AGE_BUCKETS}
    totals: dict[str, Decimal] = defaultdict(Decimal)
    expiring: list[CreditEntry] = []
    oldest, oldest_days, count = None, None, 0
    for entry in entries.order_by("month", "contract__reference", "pk"):
        days = rules.days_since_month_end(entry.month, today)
        bucket = buckets[rules.age_bucket(days)]
        bucket.count += 1
        bucket.totals[entry.currency] += entry.amount
        totals[entry.currency] += entry.amount
        count += 1
        if oldest is None:
            oldest, oldest_days = entry, days
        entry.deadline = rules.claim_deadline(entry.month, entry.contract.credit_claim_days)
        entry.days_left = (entry.deadline - today).days
        if 0 <= entry.days_left <= rules.EXPIRING_SOON_DAYS:
            expiring.append(entry)
    for bucket in buckets.values():
        bucket.totals = dict(sorted(bucket.totals.items()))
    expiring.sort(key=lambda e: (e.deadline, e.contract.reference))
    return UnclaimedSummary(
        buckets=list(buckets.values()), oldest=oldest, oldest_days=oldest_days,
        expiring=expiring, totals=dict(sorted(totals.items())), count=count,
    )  # fmt: skip


@dataclass(frozen=True)
class Headroom:
    month: date
    cap: Decimal  # the at-risk amount: the most the month's credits can come to
    credited: Decimal
    credit: CreditMonth | None  # the engine's month (by SLA, before the cap), if it had credits

    @property
    def headroom(self) -> Decimal:
        """What is left under the cap (never below 0: the cap holds)."""
        return max(self.cap - self.credited, Decimal(0))


def headroom_by_month(contract: Contract, months: Iterable[CreditMonth | date]) -> list[Headroom]:
    """
    Per month the cap, the credited amount and the headroom (cap minus credited).
    `months`: the engine's months (`credits_for`) and/or plain month dates (a
    month without credits has the whole cap as headroom). No query.
    """
    rows = []
    for month in months:
        if isinstance(month, CreditMonth):
            rows.append(Headroom(month.month, month.cap, month.credited, month))
        else:
            rows.append(Headroom(month.replace(day=1), credit_cap(contract), Decimal(0), None))
    return rows
