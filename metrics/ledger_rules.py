"""
The credit ledger's rules, pure: which transitions exist, when a month's
claim window closes, how old an unclaimed credit is, and what a finance
user's text may be. No database, no clock: the callers pass today.
"""

from __future__ import annotations

from datetime import date, timedelta

ASSESSED, CLAIMED, APPLIED, WAIVED, EXPIRED = "assessed", "claimed", "applied", "waived", "expired"
# The transitions of CreditEntry's docstring; applied, waived and expired are final.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    ASSESSED: (CLAIMED, WAIVED, EXPIRED),
    CLAIMED: (APPLIED, WAIVED),
    APPLIED: (),
    WAIVED: (),
    EXPIRED: (),
}
FINAL = tuple(state for state, moves in TRANSITIONS.items() if not moves)

INVOICE_REFERENCE_MAX = 100
WAIVE_REASON_MAX = 500
# Unclaimed credits by days since their month ended: (label, first day, last day or None).
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30 days", 0, 30),
    ("31-60 days", 31, 60),
    ("61-90 days", 61, 90),
    ("over 90 days", 91, None),
)
EXPIRING_SOON_DAYS = 30


def may_move(state: str, to: str) -> bool:
    return to in TRANSITIONS.get(state, ())


def month_last_day(month: date) -> date:
    """The last day of the month `month` falls in."""
    first = month.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return following - timedelta(days=1)


def claim_deadline(month: date, claim_days: int) -> date:
    """The last day a month's credit can be claimed: `claim_days` days after the month ends."""
    return month_last_day(month) + timedelta(days=claim_days)


def is_past_window(month: date, claim_days: int, today: date) -> bool:
    """On the deadline itself a claim is still on time; the day after, the credit expires."""
    return today > claim_deadline(month, claim_days)


def days_since_month_end(month: date, today: date) -> int:
    """0 on the month's last day (and before it: a month still running is not aging)."""
    return max((today - month_last_day(month)).days, 0)


def age_bucket(days: int) -> str:
    """The label of the age bucket `days` falls in."""
    for label, low, high in AGE_BUCKETS:
        if days >= low and (high is None or days <= high):
            return label
    return AGE_BUCKETS[0][0]  # negative: not yet aging


def invoice_reference_problem(text: str) -> str | None:
    cleaned = (text or "").strip()
    if not cleaned:
        return "Give the invoice reference the credit was applied on."
    if len(cleaned) > INVOICE_REFERENCE_MAX:
        return f"An invoice reference has at most {INVOICE_REFERENCE_MAX} characters."
    if any(ord(ch) < 32 for ch in cleaned):
        return "An invoice reference is one line of text."
    return None


def waive_reason_problem(text: str) -> str | None:
    cleaned = (text or "").strip()
    if not cleaned:
        return "Say why the credit is waived: the reason is kept with the entry."
    if len(cleaned) > WAIVE_REASON_MAX:
        return f"A reason has at most {WAIVE_REASON_MAX} characters."
    return None
