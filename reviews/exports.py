"""
The lists of the governance loop as they leave slagov (slagov.exports): reviews,
action items, vendor warnings; the pages' exports and the API's.
"""

from __future__ import annotations

from slagov.exports import Column, Export, person

REVIEWS = Export(
    name="reviews",
    columns=[
        Column("Review", lambda r: r.pk),
        Column("Contract", lambda r: r.contract.reference),
        Column("Contract title", lambda r: r.contract.title),
        Column("Vendor", lambda r: r.contract.vendor.name),
        Column("Kind", lambda r: r.get_kind_display()),
        Column("State", lambda r: r.get_state_display()),
        Column("Scheduled at", lambda r: r.scheduled_at),
        Column("Minutes long", lambda r: r.duration_minutes),
        Column("Location", lambda r: r.location),
        Column("Covers from", lambda r: r.covers_from),
        Column("Held at", lambda r: r.held_at),
        Column("Called by escalation", lambda r: r.escalation_id),
    ],
    related=("contract__vendor",),
)

# Rows: `reviews.actions.action_items()` (it annotates `overdue`), filtered.
ACTION_ITEMS = Export(
    name="action-items",
    columns=[
        Column("Action item", lambda a: a.pk),
        Column("Title", lambda a: a.title),
        Column("Contract", lambda a: a.contract.reference),
        Column("Vendor", lambda a: a.contract.vendor.name),
        Column("SLA", lambda a: a.service_level.code if a.service_level_id else ""),
        Column("Owner", lambda a: person(a.owner)),
        Column("Owner's side", lambda a: a.get_owner_side_display()),
        Column("Due date", lambda a: a.due_date),
        Column("State", lambda a: a.get_state_display()),
        Column("Overdue", lambda a: a.overdue),
        Column("Review", lambda a: a.review_id),
        Column("Escalation", lambda a: a.escalation_id),
        Column("Created at", lambda a: a.created_at),
        Column("Closed at", lambda a: a.closed_at),
    ],
    related=("contract__vendor", "owner", "service_level"),
)

# Rows: `reviews.vendor_warnings.warnings_all()`, filtered.
VENDOR_WARNINGS = Export(
    name="vendor-warnings",
    columns=[
        Column("Warning", lambda w: w.pk),
        Column("Contract", lambda w: w.contract.reference),
        Column("Vendor", lambda w: w.contract.vendor.name),
        Column("SLA", lambda w: w.service_level.code),
        Column("Title", lambda w: w.title),
        Column("Impact", lambda w: w.impact),
        Column("First period", lambda w: w.period_from),
        Column("Last period", lambda w: w.period_to),
        Column("Mitigation", lambda w: w.mitigation),
        Column("State", lambda w: w.get_state_display()),
        Column("Raised by", lambda w: person(w.raised_by)),
        Column("Raised at", lambda w: w.raised_at),
        Column("Acknowledged by", lambda w: person(w.acknowledged_by)),
        Column("Acknowledged at", lambda w: w.acknowledged_at),
        Column("Answer", lambda w: w.answer),
        Column("Closed at", lambda w: w.closed_at),
        Column("First red period after", lambda w: w.breached_period),
        Column("Periods ahead", lambda w: w.periods_ahead),
    ],
    related=("contract__vendor", "service_level", "raised_by", "acknowledged_by"),
)
