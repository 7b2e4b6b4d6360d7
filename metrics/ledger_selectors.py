"""Reads of the credit ledger: the scoped list, one entry (or a 404), totals, history."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404

from metrics.models import CreditEntry, CreditEntryEvent
from slagov.filters import ASCII_DIGITS, BIGINT_MAX, parse_digits
from slagov.tenancy import Tenant


def credit_entries() -> QuerySet[CreditEntry]:
    """
    The entries the request's scope shows (a vendor user: their vendor's), with
    what a row displays, newest month first.
    """
    return CreditEntry.objects.select_related(
        "contract__vendor", "claimed_by", "applied_by", "waived_by"
    ).order_by("-month", "contract__reference", "pk")


def credit_entry_get(tenant: Tenant, entry_id) -> CreditEntry:
    """One entry of the scope, or 404 (another tenant's, another vendor's, or no such id)."""
    text = str(entry_id)
    if not ASCII_DIGITS.fullmatch(text) or parse_digits(text) > BIGINT_MAX:
        raise Http404("No such credit entry.")
    return get_object_or_404(credit_entries(), pk=int(text))


def entry_events(entry: CreditEntry) -> list[CreditEntryEvent]:
    return list(
        CreditEntryEvent.objects.filter(entry=entry).select_related("actor").order_by("at", "pk")
    )


def events_by_entry(entries: list[CreditEntry]) -> dict[int, list[CreditEntryEvent]]:
    """The history of each listed entry (one query for them all)."""
    found: dict[int, list[CreditEntryEvent]] = defaultdict(list)
    rows = (
        CreditEntryEvent.objects.filter(entry__in=[e.pk for e in entries])
        .select_related("actor")
        .order_by("entry", "at", "pk")
    )
    for event in rows:
        found[event.entry_id].append(event)
    return found


@dataclass
class StateTotal:
    state: str
    label: str
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)  # currency → amount


def ledger_totals(entries: QuerySet[CreditEntry]) -> list[StateTotal]:
    """
    Count and amount per state and currency of `entries` (already filtered),
    every state listed in the order of its life, even when empty. One query.
    """
    by_state = {state: StateTotal(state, label) for state, label in CreditEntry.State.choices}
    rows = (
        entries.order_by()
        .values_list("state", "currency")
        .annotate(n=Count("pk"), total=Sum("amount"))
        .order_by("state", "currency")
    )
    for state, currency, n, total in rows:
        row = by_state[state]
        row.count += n
        row.totals[currency] = total
    return list(by_state.values())
