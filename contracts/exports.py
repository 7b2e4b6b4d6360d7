"""
The columns of the contract lists as they leave slagov (slagov.exports): the
portfolio (also the API's contract list) and the vendors.
"""

from __future__ import annotations

from contracts import selectors
from contracts.rules import Colour
from slagov.exports import Column, Export, person


def colour_counts(slas) -> dict[str, int]:
    """Active SLAs by latest colour (no health yet counts as no data), from loaded rows."""
    counts = dict.fromkeys(Colour, 0)
    for sla in slas:
        health = getattr(sla, "health", None)
        counts[health.colour if health else Colour.NO_DATA] += 1
    return counts


def _count(colour: str):
    return lambda contract: colour_counts(contract.active_slas)[colour]


def _annotated(colour: str):
    return lambda vendor: getattr(vendor, f"n_{colour}")


# Rows: `selectors.portfolio_contracts()` (the worst colour annotated, the active SLAs
# with their health prefetched).
PORTFOLIO = Export(
    name="portfolio",
    columns=[
        Column("Contract", lambda c: c.reference),
        Column("Title", lambda c: c.title),
        Column("Vendor", lambda c: c.vendor.name),
        Column("Category", lambda c: c.get_category_display()),
        Column("Governance mode", lambda c: c.effective_mode.capitalize()),
        Column("Owner", lambda c: person(c.owner)),
        Column("Annual value", lambda c: c.annual_value),
        Column("Currency", lambda c: c.currency),
        Column("Start date", lambda c: c.start_date),
        Column("End date", lambda c: c.end_date),
        Column("Review cadence", lambda c: c.get_review_cadence_display()),
        Column("SLAs and KPIs", lambda c: len(c.active_slas)),
        *(Column(Colour(colour).label, _count(colour)) for colour in Colour),
        Column("Worst status", lambda c: Colour(selectors.worst_colour(c.worst_rank)).label),
    ],
    related=("vendor", "owner", "organization"),
)

# Rows: `selectors.vendors_with_counts()`.
VENDORS = Export(
    name="vendors",
    columns=[
        Column("Vendor", lambda v: v.name),
        Column("Website", lambda v: v.website),
        Column("Contracts", lambda v: v.contract_count),
        *(
            Column(Colour(colour).label, lambda v, c=colour: getattr(v, f"n_{c}"))
            for colour in Colour
        ),
    ],
)
