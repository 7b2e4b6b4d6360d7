"""
Writes for vendors, contracts, SLAs and their terms.

Keyword-only, atomic, with the organisation and the actor passed explicitly.
History rows (django-simple-history) are written in the same transaction;
status recomputation is enqueued on commit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from contracts import bounds, periods, rules
from contracts.models import (
    Contract,
    CreditTier,
    ServiceLevel,
    ServiceLevelTerms,
    Vendor,
    VendorContact,
)
from slagov import formatting, work
from slagov.audit import record as audit
from slagov.models import Organization


def _save(instance, actor, reason: str) -> None:
    instance._history_user = actor
    instance._change_reason = reason
    instance.full_clean(exclude=["organization"])
    try:
        # A savepoint: a double submit that loses the race on a unique constraint
        # (vendor name, contract reference, SLA code) becomes a field error, not a 500.
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        instance.validate_constraints()
        raise


def _assign(instance, data: dict[str, Any]) -> None:
    for key, value in data.items():
        setattr(instance, key, value)


def _raise(problems: dict[str, str | None]) -> None:
    found = {field: message for field, message in problems.items() if message}
    if found:
        raise ValidationError(found)


def contract_dates_validate(*, start_date: date, end_date: date, today: date | None = None) -> None:
    """The contract term lies in the span the product takes (`periods.contract_dates_problems`)."""
    today = today or timezone.localdate()
    _raise(periods.contract_dates_problems(start_date, end_date, today))


def terms_date_validate(*, contract: Contract, effective_from: date) -> None:
    """Terms take effect inside the contract term."""
    _raise(
        {
            "effective_from": periods.terms_effective_problem(
                effective_from, contract.start_date, contract.end_date
            )
        }
    )


def service_level_dates_validate(*, relevance_reviewed_at: date | None, today=None) -> None:
    if relevance_reviewed_at is not None:
        today = today or timezone.localdate()
        _raise({"relevance_reviewed_at": periods.review_date_problem(relevance_reviewed_at, today)})


def contract_numbers_validate(
    *,
    annual_value: Decimal | None = None,
    at_risk_percent: Decimal | None = None,
    submission_deadline_days: int | None = None,
    credit_claim_days: int | None = None,
) -> None:
    """
    A contract's value, amount at risk, data deadline and credit claim window in
    range (`bounds`); None: not given.
    """
    _raise(
        bounds.contract_numbers_problems(
            annual_value=annual_value,
            at_risk_percent=at_risk_percent,
            deadline_days=submission_deadline_days,
            claim_days=credit_claim_days,
        )
    )


def contract_reference_clean(*, reference: str, contract: Contract | None = None) -> str:
    """A contract's reference, unique in its organisation whatever its case (the caller's scope)."""
    reference = (reference or "").strip()
    clash = Contract.objects.filter(reference__iexact=reference)
    if contract is not None and contract.pk is not None:
        clash = clash.exclude(pk=contract.pk)
    if clash.exists():
        raise ValidationError({"reference": "Another contract already has this reference."})
    return reference


def contract_currency_clean(*, currency: str) -> str:
    """A contract's currency: three ASCII letters (ISO 4217 style), stored in capitals."""
    code = (currency or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValidationError({"currency": "Use a three-letter currency code, e.g. EUR."})
    return code


def service_level_data_start_validate(*, contract: Contract, period: str, data_start: date) -> None:
    """A period start inside the contract term, in the years the product knows (`periods`)."""
    _raise(
        {
            "data_start": periods.data_start_problem(
                data_start, period, contract_start=contract.start_date,
                contract_end=contract.end_date,
            )
        }
    )  # fmt: skip


def service_level_numbers_validate(*, weight: int | None) -> None:
    if weight is not None:
        _raise({"weight": bounds.weight_problem(weight)})


COUNTS_WORDS = re.compile(r"[^\W\d_]+(?:[ '-][^\W\d_]+)*")


def service_level_counts_clean(counts: str | None, unit: str | None) -> str:
    """What a count counts (`tickets`): words only, and only for a count."""
    counts = " ".join((counts or "").split())
    if not counts:
        return ""
    if unit != ServiceLevel.Unit.COUNT:
        _raise({"counts": "Only an SLA measured as a count names what it counts."})
    if len(counts) > 40 or not COUNTS_WORDS.fullmatch(counts):
        _raise({"counts": "Name what is counted in words, at most 40 letters (e.g. tickets)."})
    return counts


@transaction.atomic
def vendor_save(
    *, organization: Organization, actor, data: dict[str, Any], vendor: Vendor | None = None
) -> Vendor:
    vendor = vendor or Vendor(organization=organization)
    if vendor.organization_id != organization.pk:
        raise ValueError("vendor of another organisation")
    _assign(vendor, data)
    _save(vendor, actor, "created" if vendor.pk is None else "edited")
    return vendor


DUPLICATE_CONTACT_EMAIL = "This vendor already has a contact with this e-mail address."


def vendor_contact_validate_email(
    *, vendor: Vendor, email: str, contact: VendorContact | None = None
) -> None:
    """One contact per e-mail address and vendor, whatever its case: a field error."""
    clash = VendorContact.objects.filter(vendor=vendor, email__iexact=email.strip())
    if contact is not None and contact.pk is not None:
        clash = clash.exclude(pk=contact.pk)
    if clash.exists():
        raise ValidationError({"email": DUPLICATE_CONTACT_EMAIL})


@transaction.atomic
def vendor_contact_save(
    *,
    organization: Organization,
    actor,
    vendor: Vendor,
    data: dict[str, Any],
    contact: VendorContact | None = None,
) -> VendorContact:
    contact = contact or VendorContact(organization=organization, vendor=vendor)
    if contact.organization_id != organization.pk or contact.vendor_id != vendor.pk:
        raise ValueError("contact of another vendor")
    before = {f: getattr(contact, f) for f in CONTACT_FIELDS} if contact.pk else None
    _assign(contact, data)
    contact.full_clean(exclude=["organization", "vendor"])
    vendor_contact_validate_email(vendor=vendor, email=contact.email, contact=contact)
    try:
        # A savepoint: a concurrent save of the same address loses the race on the
        # unique constraint and becomes the same field error, not a 500.
        with transaction.atomic():
            contact.save()
    except IntegrityError:
        raise ValidationError({"email": DUPLICATE_CONTACT_EMAIL}) from None
    if before is None:
        audit(organization, actor, "contact added", contact, f"at {vendor.name}")
    elif changed := [f for f in CONTACT_FIELDS if before[f] != getattr(contact, f)]:
        said = "; ".join(f"{f}: {before[f] or '—'} → {getattr(contact, f) or '—'}" for f in changed)
        audit(organization, actor, "contact edited", contact, said)
    return contact


CONTACT_FIELDS = ("name", "email", "phone", "role")


@transaction.atomic
def contract_save(
    *,
    organization: Organization,
    actor,
    data: dict[str, Any],
    contacts: Iterable[VendorContact] = (),
    contract: Contract | None = None,
) -> Contract:
    """Create or edit a contract; a change of dates, value or deadline refreshes its statuses."""
    creating = contract is None
    contract = contract or Contract(organization=organization)
    if contract.organization_id != organization.pk:
        raise ValueError("contract of another organisation")
    contacts = list(contacts)
    vendor = data.get("vendor", getattr(contract, "vendor", None))
    if any(c.vendor_id != vendor.pk for c in contacts):
        raise ValidationError({"vendor_contacts": "Contacts must belong to the contract's vendor."})
    _assign(contract, data)
    if contract.start_date and contract.end_date:
        contract_dates_validate(start_date=contract.start_date, end_date=contract.end_date)
    contract_numbers_validate(
        annual_value=contract.annual_value,
        at_risk_percent=contract.at_risk_percent,
        submission_deadline_days=contract.submission_deadline_days,
        credit_claim_days=contract.credit_claim_days,
    )
    _save(contract, actor, "created" if creating else "edited")
    before = set() if creating else set(contract.vendor_contacts.values_list("pk", flat=True))
    contract.vendor_contacts.set(contacts, through_defaults={"organization": organization})
    if before != {c.pk for c in contacts}:
        named = ", ".join(sorted(c.name for c in contacts)) or "none"
        audit(organization, actor, "contract contacts changed", contract, f"now: {named}")
    if not creating:
        work.recompute_later(
            organization_id=organization.pk,
            service_level_ids=list(contract.service_levels.values_list("pk", flat=True)),
        )
    return contract


def terms_validate(
    *,
    unit: str | None,
    direction: str | None,
    target: Decimal | None,
    minimum: Decimal | None,
    improvement: str = rules.Improvement.NONE,
    improvement_rate: Decimal | None = None,
    improvement_bound: Decimal | None = None,
    tiers: Iterable[tuple[Decimal, Decimal]] = (),
) -> None:
    """
    What terms may say (the terms form and `terms_agree` both ask): each
    number in the range of the SLA's unit (`bounds`), the minimum not better
    than the target, a rate an improvement clause can have, credit tiers
    ordered. None: not given (the form already said why).
    """
    errors: dict[str, str | None] = {}
    for field, value, what in (
        ("target", target, "The target"),
        ("minimum", minimum, "The minimum"),
        ("improvement_bound", improvement_bound, "The bound"),
    ):
        if value is not None:
            errors[field] = bounds.value_problem(value, unit, what)
    in_range = not any(errors.values())
    comparable = in_range and target is not None and minimum is not None and direction
    if comparable and not rules.is_ordered(target, minimum, direction):
        word = "at or below" if direction == rules.Direction.HIGHER else "at or above"
        errors["minimum"] = (
            f"The minimum (red boundary) must be {word} the target ({target}) "
            f"because {rules.Direction(direction).label.lower()}."
        )
    if improvement != rules.Improvement.NONE:
        if not improvement_rate or improvement_rate <= 0:
            errors["improvement_rate"] = "An improvement clause needs a rate above zero."
        else:
            errors["improvement_rate"] = bounds.improvement_rate_problem(
                improvement, improvement_rate, unit
            )
        if (
            in_range
            and direction
            and target is not None
            and improvement_bound is not None
            and rules.is_better(target, improvement_bound, direction)
        ):
            errors["improvement_bound"] = "The bound must be at or beyond the starting target."
    tiers = list(tiers)
    for level, pct in tiers:
        problem = bounds.value_problem(level, unit, "A credit tier's level")
        problem = problem or bounds.credit_percent_problem(pct)
        if problem:
            errors["credit_tiers"] = problem
            break
    levels = [level for level, _ in tiers]
    if len(set(levels)) != len(levels):
        errors["credit_tiers"] = "Two credit tiers have the same level."
    ordered = sorted(tiers, key=lambda t: t[0], reverse=direction == rules.Direction.HIGHER)
    percents = [pct for _, pct in ordered]
    if percents != sorted(percents):
        errors["credit_tiers"] = "A worse level must carry at least the credit of a milder one."
    _raise(errors)


@transaction.atomic
def terms_agree(
    *,
    organization: Organization,
    actor,
    service_level: ServiceLevel,
    effective_from: date,
    target: Decimal,
    minimum: Decimal,
    improvement: str = rules.Improvement.NONE,
    improvement_rate: Decimal = Decimal(0),
    improvement_bound: Decimal | None = None,
    tiers: Iterable[tuple[Decimal, Decimal]] = (),
    note: str = "",
) -> ServiceLevelTerms:
    """
    Record the terms in force from `effective_from`. Terms already agreed for
    that exact date are replaced (a correction); any other date adds a row, so
    periods before it keep their old thresholds.
    """
    if service_level.organization_id != organization.pk:
        raise ValueError("service level of another organisation")
    tiers = [(Decimal(level), Decimal(pct)) for level, pct in tiers]
    if service_level.is_kpi:
        tiers = []  # KPIs are leading indicators: they never carry credits.
    rate = Decimal(improvement_rate or 0)
    if improvement == rules.Improvement.NONE:
        rate, improvement_bound = Decimal(0), None
    terms_date_validate(contract=service_level.contract, effective_from=effective_from)
    terms_validate(
        unit=service_level.unit, direction=service_level.direction, target=target,
        minimum=minimum, improvement=improvement, improvement_rate=rate,
        improvement_bound=improvement_bound, tiers=tiers,
    )  # fmt: skip
    terms = ServiceLevelTerms.objects.filter(
        organization=organization, service_level=service_level, effective_from=effective_from
    ).first() or ServiceLevelTerms(
        organization=organization, service_level=service_level, effective_from=effective_from
    )
    terms.direction = service_level.direction
    terms.target = target
    terms.minimum = minimum
    terms.improvement = improvement
    terms.improvement_rate = rate
    terms.improvement_bound = improvement_bound
    terms.note = note
    terms.created_by = actor
    terms._history_user = actor
    before = sorted(terms.credit_tiers.values_list("worse_than", "percent")) if terms.pk else []
    terms.save()
    terms.credit_tiers.all().delete()
    CreditTier.objects.bulk_create(
        CreditTier(organization=organization, terms=terms, worse_than=level, percent=pct)
        for level, pct in tiers
    )
    if sorted(tiers) != before:
        audit(organization, actor, "credit tiers changed", terms, _tiers_said(tiers, service_level))
    # Periods before the effective date keep the terms that were in force for
    # them, unless these are the earliest terms: those also cover the periods
    # before them.
    earlier = ServiceLevelTerms.objects.filter(
        service_level=service_level, effective_from__lt=effective_from
    ).exists()
    work.recompute_later(
        organization_id=organization.pk,
        service_level_ids=[service_level.pk],
        since=periods.period_start(effective_from, service_level.period) if earlier else None,
    )
    return terms


def _tiers_said(tiers: list[tuple[Decimal, Decimal]], service_level: ServiceLevel) -> str:
    """`worse than 99.5 % → 5 %; worse than 99 % → 10 %` (or `none`): what the audit log keeps."""
    unit = service_level.display_unit
    return (
        "; ".join(
            f"worse than {formatting.with_unit(level, unit)} → {formatting.number(pct)} %"
            for level, pct in sorted(tiers, key=lambda t: t[1])
        )
        or "none"
    )


def _data_start_settle(service_level: ServiceLevel, data: dict[str, Any], stored: dict) -> None:
    """The data start to save: given (and valid), the default, or the stored one normalised."""
    given = data.get("data_start")
    kind_changed = bool(stored) and service_level.period != stored["period"]
    if given is not None and stored and given == stored["data_start"]:
        given = None  # unchanged: kept as stored (and normalised if the kind changed)
    if given is not None:
        service_level_data_start_validate(
            contract=service_level.contract, period=service_level.period, data_start=given
        )
    elif not stored or ("data_start" in data and data["data_start"] is None):
        service_level.data_start = service_level.default_data_start()
    else:
        service_level.data_start = stored["data_start"]
        if kind_changed:
            service_level.data_start = periods.data_start_in_kind(
                stored["data_start"], service_level.period, service_level.contract.start_date
            )


@transaction.atomic
def service_level_save(
    *,
    organization: Organization,
    actor,
    contract: Contract,
    data: dict[str, Any],
    service_level: ServiceLevel | None = None,
) -> ServiceLevel:
    """
    Create or edit an SLA/KPI. Direction and period can't change once the SLA
    has terms or readings: history would no longer mean what it meant.

    `data["data_start"]`: the first period for which data is owed; None (or
    absent when creating) is the default, the first period that ends after
    the SLA was added. A new period kind moves the stored data start to the
    period of that kind containing it. Any change recomputes the statuses.
    """
    creating = service_level is None
    service_level = service_level or ServiceLevel(organization=organization, contract=contract)
    if service_level.organization_id != organization.pk or service_level.contract_id != contract.pk:
        raise ValueError("service level of another contract")
    stored = {}
    if not creating:
        # As stored: a form may already have changed the instance it was given.
        stored = (
            ServiceLevel.objects.filter(organization=organization, pk=service_level.pk)
            .values("direction", "period", "data_start")
            .get()
        )
        locked = service_level.terms.exists() or service_level.readings.exists()
        for field in ("direction", "period"):
            if field in data and data[field] != stored[field] and locked:
                raise ValidationError(
                    {field: f"The {field} can't change once the SLA has terms or readings."}
                )
    _assign(service_level, data)
    _data_start_settle(service_level, data, stored)
    service_level.counts = service_level_counts_clean(service_level.counts, service_level.unit)
    service_level_dates_validate(relevance_reviewed_at=service_level.relevance_reviewed_at)
    service_level_numbers_validate(weight=service_level.weight)
    _save(service_level, actor, "created" if creating else "edited")
    if service_level.is_kpi:
        dropped, _ = CreditTier.objects.filter(
            organization=organization, terms__service_level=service_level
        ).delete()
        if dropped:
            audit(organization, actor, "credit tiers removed", service_level,
                  "a KPI carries no service credits")  # fmt: skip
    if not creating:
        work.recompute_later(organization_id=organization.pk, service_level_ids=[service_level.pk])
    return service_level
