"""Joint reviews where people look: the contract page."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string

from reviews.models import Review

register = template.Library()


@register.simple_tag(takes_context=True)
def contract_reviews(context, contract) -> str:
    """The contract's next review and its latest ones (one query)."""
    reviews = list(Review.objects.filter(contract=contract).order_by("-scheduled_at")[:6])
    planned = sorted(
        (r for r in reviews if r.state == Review.State.PLANNED), key=lambda r: r.scheduled_at
    )
    held = [r for r in reviews if r.held_at is not None][:3]
    return render_to_string(
        "reviews/_contract.html",
        {
            "contract": contract, "planned": planned, "held": held, "org": context.get("org"),
            "tenant": context.get("tenant"),
        },
    )  # fmt: skip
