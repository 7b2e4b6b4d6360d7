"""Action items and vendor warnings where people look: the contract and SLA pages."""

from __future__ import annotations

from django import template

from reviews import actions, vendor_warnings

register = template.Library()


def _base(context, contract, sla=None) -> dict:
    tenant = context.get("tenant")
    return {"org": context.get("org"), "tenant": tenant, "contract": contract, "sla": sla}


def _actions(context, contract, sla, items) -> dict:
    tenant = context.get("tenant")
    return {
        **_base(context, contract, sla),
        "items": items,
        "overdue": sum(1 for item in items if item.overdue),
        "can_create": tenant is not None and actions.may_edit(tenant),
    }


def _warnings(context, contract, sla, warnings) -> dict:
    tenant = context.get("tenant")
    return {
        **_base(context, contract, sla),
        "warnings": warnings,
        "can_raise": sla is not None
        and tenant is not None
        and vendor_warnings.may_raise(tenant, sla),
    }


@register.inclusion_tag("reviews/actions/_panel.html", takes_context=True)
def contract_actions(context, contract) -> dict:
    """The contract's open action items, the overdue flagged (one query)."""
    return _actions(context, contract, None, actions.open_action_items(contract=contract))


@register.inclusion_tag("reviews/warnings/_panel.html", takes_context=True)
def contract_warnings(context, contract) -> dict:
    """The contract's open and acknowledged vendor warnings (one query)."""
    return _warnings(context, contract, None, vendor_warnings.open_warnings(contract=contract))


@register.inclusion_tag("reviews/actions/_panel.html", takes_context=True)
def sla_actions(context, sla) -> dict:
    """The SLA's open action items (one query)."""
    items = actions.open_action_items(service_level=sla)
    return _actions(context, sla.contract, sla, items)


@register.inclusion_tag("reviews/warnings/_panel.html", takes_context=True)
def sla_warnings(context, sla) -> dict:
    """The SLA's open and acknowledged vendor warnings, and a way to raise one (one query)."""
    return _warnings(context, sla.contract, sla, vendor_warnings.open_warnings(service_level=sla))
