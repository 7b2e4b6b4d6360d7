"""
Governance-mode recommendation (PRODUCT.md, "Governance mode"), as pure code.

Compliance mode for contracts under the tenant's value threshold, terms under
six months, commodity services, or a relationship flagged adversarial;
proactive otherwise. The recommendation always comes with its reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import models


class Mode(models.TextChoices):
    PROACTIVE = "proactive", "Proactive"
    COMPLIANCE = "compliance", "Compliance"


@dataclass(frozen=True)
class Recommendation:
    mode: Mode
    reasons: list[str] = field(default_factory=list)
    # Contract clauses missing for proactive governance to be a right, not a favour.
    missing_clauses: list[str] = field(default_factory=list)


def term_months(start: date, end: date) -> int:
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return max(months, 0)


def _money(amount: Decimal, currency: str) -> str:
    whole = amount == amount.to_integral_value()
    return f"{amount:,.0f} {currency}" if whole else f"{amount:,.2f} {currency}"


def recommend_mode(
    *,
    annual_value: Decimal,
    currency: str,
    threshold: Decimal,
    threshold_currency: str,
    start: date,
    end: date,
    is_commodity: bool,
    adversarial: bool,
    clauses: dict[str, bool] | None = None,
) -> Recommendation:
    reasons: list[str] = []
    # Amounts are compared as they are: there are no exchange rates here.
    as_is = " (other currency, compared as-is)" if currency != threshold_currency else ""
    if annual_value < threshold:
        reasons.append(
            f"annual value {_money(annual_value, currency)} is under the "
            f"{_money(threshold, threshold_currency)} threshold{as_is}"
        )
    months = term_months(start, end + timedelta(days=1))  # the end date is the last day
    if months < 6:
        reasons.append(f"the term of {months} months is under six months")
    if is_commodity:
        reasons.append("commodity service with low switching costs")
    if adversarial:
        reasons.append("the relationship is flagged as adversarial: enforce strictly")
    if reasons:
        return Recommendation(mode=Mode.COMPLIANCE, reasons=reasons)

    why = [
        f"annual value {_money(annual_value, currency)} is at or above the "
        f"{_money(threshold, threshold_currency)} threshold{as_is}",
        f"a {months}-month term leaves time for improvement to pay off",
        "a working relationship that supports joint reviews",
    ]
    missing = [name for name, present in (clauses or {}).items() if not present]
    return Recommendation(mode=Mode.PROACTIVE, reasons=why, missing_clauses=missing)
