from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.http import QueryDict

from contracts.periods import count_label, unit_name
from contracts.rules import Colour
from slagov import formatting

register = template.Library()


@register.filter
def url_of(pk, route) -> str:
    """`{{ row.pk|url_of:contract_url }}`: a row's link from a route reversed once (IdUrl)."""
    return route(pk)


@register.filter
def num(value, places: int | None = None) -> str:
    """A decimal without trailing zeros: 99.900000 → 99.9; None → —."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    if places is not None:
        number = round(number, int(places))
    text = f"{number.normalize():f}"
    return text


@register.filter
def person(user) -> str:
    """A user's full name, else username; a dash for nobody."""
    if user is None:
        return "—"
    return user.get_full_name() or user.username


@register.filter
def money(value) -> str:
    if value is None:
        return "—"
    return f"{Decimal(value):,.0f}"


@register.filter
def cents(value) -> str:
    """An amount to the cent, with thousands separated (ledgers and invoices)."""
    if value is None or value == "":
        return "—"
    return f"{Decimal(value):,.2f}"


@register.filter
def colour_label(value) -> str:
    try:
        return Colour(value).label
    except ValueError:
        return str(value)


@register.simple_tag
def period(start, kind) -> str:
    return formatting.period(start, kind) if start else "—"


@register.filter
def period_unit(kind) -> str:
    """`week` or `month`."""
    return unit_name(kind)


@register.filter
def periods_of(count, kind) -> str:
    """`{{ 3|periods_of:sla.period }}` → `3 months`."""
    return count_label(count, kind)


@register.filter
def unit_suffix(sla) -> str:
    return "%" if sla.unit == "percent" else f" {sla.unit_label}"


@register.filter
def in_unit(value, sla_or_unit) -> str:
    """`{{ value|in_unit:sla }}` → `99.2 %`, `9.1 h`, `5,700`: the SLA's unit, grouped digits."""
    unit = getattr(sla_or_unit, "display_unit", None) or getattr(sla_or_unit, "unit", sla_or_unit)
    return formatting.with_unit(value, unit)


@register.filter
def counted(count, words: str) -> str:
    """`{{ n|counted:"open escalation" }}` → `1 open escalation`, `3 open escalations`."""
    singular, _, plural_form = str(words).partition(",")
    return formatting.plural(int(count or 0), singular, plural_form or None)


@register.simple_tag
def improvement_text(terms, sla) -> str:
    """`{% improvement_text terms sla %}` → `-5 % a year`, `+0.1 points a year, up to 99.95 %`."""
    return formatting.improvement(
        terms.improvement,
        terms.improvement_rate,
        terms.improvement_bound,
        sla.display_unit,
        sla.direction,
    )


@register.simple_tag(takes_context=True)
def export_href(context, fmt: str, url: str = "", query: str = "") -> str:
    """
    The download of a list as `fmt`: this page's address with its filters
    (without its page number), or `url` with `query` (another view's export).
    """
    request = context["request"]
    params = QueryDict(query, mutable=True) if url or query else request.GET.copy()
    for name in ("format", "page"):
        params.pop(name, None)
    params["format"] = fmt
    return f"{url or request.path}?{params.urlencode()}"
