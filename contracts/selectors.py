"""
Reads for contracts. Visibility comes from the scoped managers (the tenant's
scope is active in every organisation view), so a row the member may not see
raises 404 exactly like a row that doesn't exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db.models import (
    Case,
    Count,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.shortcuts import get_object_or_404

from contracts import rules
from contracts.models import Contract, ServiceLevel, ServiceLevelTerms, Vendor
from contracts.rules import SEVERITY, Colour
from slagov.models import Membership
from slagov.tenancy import Tenant

# Contract colour = its worst SLA colour. Inactive SLAs don't count.
_SLA_SEVERITY = Case(
    *[When(health__colour=colour, then=Value(rank)) for colour, rank in SEVERITY.items()],
    default=None,
    output_field=IntegerField(),
)
SEVERITY_TO_COLOUR = {rank: colour for colour, rank in SEVERITY.items()}


def contracts_with_worst_colour() -> QuerySet[Contract]:
    # A correlated subquery, not a join grouped by contract: PostgreSQL computes it for
    # the rows a page returns only, and a count ignores it.
    worst = (
        ServiceLevel.objects.filter(contract=OuterRef("pk"), is_active=True)
        .order_by()
        .values("contract")
        .annotate(rank=Max(_SLA_SEVERITY))
        .values("rank")
    )
    return Contract.objects.annotate(worst_rank=Subquery(worst, output_field=IntegerField()))


def portfolio_contracts(*, forecasts: bool = True) -> QuerySet[Contract]:
    """
    Contracts with vendor, owner and each SLA's latest health, in constant queries;
    without `forecasts`, the health leaves out its forecast and risk (the page's
    cells show the colour and value only).
    """
    slas = (
        ServiceLevel.objects.filter(is_active=True)
        .select_related("health")
        .order_by("-kind", "code")
    )
    if not forecasts:
        slas = slas.defer("health__forecast", "health__risk")
    return (
        contracts_with_worst_colour()
        .select_related("vendor", "owner", "organization")
        .prefetch_related(Prefetch("service_levels", queryset=slas, to_attr="active_slas"))
        .order_by("reference")
    )


def vendors_with_counts() -> QuerySet[Vendor]:
    """Vendors with their active SLAs counted by latest colour (one query)."""
    base = "contracts__service_levels"
    active = Q(**{f"{base}__is_active": True})
    return Vendor.objects.annotate(
        contract_count=Count("contracts", distinct=True),
        **{
            f"n_{colour}": Count(base, filter=active & Q(**{f"{base}__health__colour": colour}))
            for colour in Colour.values
        },
    ).order_by("name")


def active_service_level_ids(organization_id: int) -> list[int]:
    """Every active SLA of an organisation, in id order (what scheduled jobs go over)."""
    return list(
        ServiceLevel.objects.filter(organization_id=organization_id, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def contract_get(tenant: Tenant, contract_id: int) -> Contract:
    return get_object_or_404(
        Contract.objects.select_related("vendor", "owner", "organization"), pk=contract_id
    )


def mailbox(address: str) -> str:
    """
    An address as slagov compares and sends to it: one person with a login and a
    contact entry that differ only in case or spaces gets one copy.
    """
    return address.strip().lower()


def vendor_recipients(
    contract: Contract, *, all_contacts_if_none: bool,
    vendor_members: Iterable[Membership] | None = None,
) -> dict[str, object]:  # fmt: skip
    """
    Who hears from slagov on the vendor's side, e-mail → user (None: a contact
    without a login): the contacts named on the contract (or, when none are and
    `all_contacts_if_none`, all the vendor's), and the vendor's active users.
    `vendor_members`: the organisation's active vendor memberships, if loaded.
    """
    found: dict[str, object] = {mailbox(c.email): None for c in contract.vendor_contacts.all()}
    if not found and all_contacts_if_none:
        found = {mailbox(c.email): None for c in contract.vendor.contacts.all()}
    if vendor_members is None:
        vendor_members = Membership.objects.filter(
            organization_id=contract.organization_id, vendor_id=contract.vendor_id,
            is_active=True, user__is_active=True,
        ).select_related("user")  # fmt: skip
    for membership in vendor_members:
        if membership.vendor_id == contract.vendor_id and membership.user.email:
            found[mailbox(membership.user.email)] = membership.user  # one copy per person
    return found


def vendor_get(tenant: Tenant, vendor_id: int) -> Vendor:
    return get_object_or_404(Vendor.objects.all(), pk=vendor_id)


def service_level_get(tenant: Tenant, sla_id: int) -> ServiceLevel:
    return get_object_or_404(
        ServiceLevel.objects.select_related(
            "contract", "contract__vendor", "contract__organization", "health"
        ),
        pk=sla_id,
    )


def terms_timeline(service_level: ServiceLevel) -> list[ServiceLevelTerms]:
    return list(
        ServiceLevelTerms.objects.filter(service_level=service_level)
        .select_related("created_by")
        .prefetch_related("credit_tiers")
        .order_by("effective_from")
    )


def contract_slas(contract: Contract, *, annotations: dict | None = None) -> list[ServiceLevel]:
    """
    The SLAs of a contract, each with its health and all its terms (two queries; the
    contract page shows no credit tiers), and `annotations` (name → expression) if given.
    """
    terms = ServiceLevelTerms.objects.order_by("effective_from")
    return list(
        ServiceLevel.objects.filter(contract=contract)
        .select_related("health")
        .prefetch_related(Prefetch("terms", queryset=terms, to_attr="all_terms"))
        .annotate(**(annotations or {}))
        .order_by("-is_active", "-kind", "code")
    )


def worst_colour(rank: int | None) -> str:
    return SEVERITY_TO_COLOUR.get(rank, Colour.NO_DATA) if rank is not None else Colour.NO_DATA


def terms_in_force(all_terms: list[ServiceLevelTerms], day: date) -> ServiceLevelTerms | None:
    """Of an SLA's terms, the ones in force on `day` (`rules.terms_index`)."""
    ordered = sorted(all_terms, key=lambda t: t.effective_from)
    index = rules.terms_index([t.effective_from for t in ordered], day)
    return None if index is None else ordered[index]
