"""The escalation list as it leaves slagov (slagov.exports): the page's export and the API's."""

from __future__ import annotations

from slagov.exports import Column, Export, person


def _acknowledged_by(escalation) -> str:
    # An acknowledge link followed without signing in credits the address it was sent to.
    return person(escalation.acknowledged_by) or escalation.acknowledged_by_email


ESCALATIONS = Export(
    name="escalations",
    columns=[
        Column("Escalation", lambda e: e.pk),
        Column("Kind", lambda e: e.get_kind_display()),
        Column("Level", lambda e: e.level),
        Column("State", lambda e: e.get_state_display()),
        Column("Contract", lambda e: e.contract.reference),
        Column("Vendor", lambda e: e.contract.vendor.name),
        Column("SLA", lambda e: e.service_level.code),
        Column("SLA name", lambda e: e.service_level.name),
        Column("Reason", lambda e: e.reason),
        Column("Action", lambda e: e.action),
        Column("Opened at", lambda e: e.opened_at),
        Column("Due by", lambda e: e.due_by),
        Column("Due met at", lambda e: e.due_met_at),
        Column("Overdue", lambda e: e.overdue),
        Column("Acknowledged at", lambda e: e.acknowledged_at),
        Column("Acknowledged by", _acknowledged_by),
        Column("Resolved at", lambda e: e.resolved_at),
        Column("Resolution", lambda e: e.get_resolution_display()),
    ],
    related=("contract__vendor", "service_level", "acknowledged_by"),
)
