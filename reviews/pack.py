"""
The review pack: one PDF with what a joint review covered and decided. Both
sides sign the SHA-256 of the exact pack, so the same review content gives the
same bytes: no clock (the PDF's dates are the review's), a stable order for
everything, charts drawn with fixed decimals (`reviews.svgcharts`), the
system's fonts, and nothing fetched from anywhere (`slagov.pdf`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

from django.template.loader import render_to_string
from django.utils import timezone

from contracts.models import ServiceLevel
from contracts.rules import Colour, Direction
from reviews import svgcharts
from reviews.models import ActionItem, AgendaItem, Review, ReviewAttendee, Side
from slagov import formatting
from slagov.pdf import PdfUnavailable as PackUnavailable  # noqa: F401 (what its callers catch)
from slagov.pdf import html_to_pdf
from slagov.tenancy import tenant_scope

SIDES = dict(Side.choices)
STATES = dict(ActionItem.State.choices)
COLOURS = dict(Colour.choices)
DIRECTIONS = dict(Direction.choices)
UNITS = dict(ServiceLevel.Unit.choices)
RISK_KINDS = {
    "forecast": "Forecast to breach",
    "yellow": "Yellow (at risk)",
    "drifting": "Drifting",
    "anomaly": "Unusual value",
    "escalation": "Open escalation",
    "warning": "Vendor early warning",
}


# --- What the pack says ------------------------------------------------------------------


def _date(value) -> str:
    """`1 Dec 2026` (no locale: the same bytes everywhere); as given when not a date."""
    try:
        day = date.fromisoformat(str(value)[:10])
    except (TypeError, ValueError):
        return str(value) if value not in (None, "") else "—"
    return f"{day.day} {svgcharts.MONTHS[day.month - 1]} {day.year}"


def _rows(data: dict, key: str = "rows") -> list[dict]:
    rows = data.get(key) if isinstance(data, dict) else None
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


def _text(row: dict, key: str) -> str:
    value = row.get(key)
    return "" if value is None else str(value)


class _Slas:
    """code → (name, unit): from the figures the agenda was drafted with, else the contract."""

    def __init__(self, review: Review, items: list[AgendaItem]):
        self.known: dict[str, tuple[str, str]] = {
            sla.code: (sla.name, sla.display_unit)
            for sla in ServiceLevel.objects.filter(contract_id=review.contract_id)
        }
        for item in items:
            if item.section == AgendaItem.Section.PERFORMANCE:
                for sla in _rows(item.data, "slas"):
                    code = _text(sla, "code")
                    self.known[code] = (_text(sla, "name"), _text(sla, "unit"))

    def unit(self, code) -> str:
        return self.known.get(str(code), ("", ""))[1]

    def label(self, code) -> str:
        code = str(code or "")
        name = self.known.get(code, ("", ""))[0]
        return f"{code} — {name}" if name and code else (code or name or "—")


def _sla_chart(sla: dict) -> dict:
    unit, period = _text(sla, "unit"), _text(sla, "period") or "monthly"
    direction = _text(sla, "direction") or Direction.HIGHER
    name = f"{_text(sla, 'code')} — {_text(sla, 'name')}".strip(" —")
    about = (DIRECTIONS.get(direction, ""), UNITS.get(unit, unit), period)
    title = f"{name}: the last periods over the green, yellow and red bands"
    return {
        "name": name,
        "about": ", ".join(part for part in about if part),
        "svg": svgcharts.trend_svg(
            sla.get("trend") or [], unit=unit, direction=direction, period=period, title=title
        ),
        "rows": [
            {
                "period": _text(row, "period") or _date(row.get("start")),
                "value": formatting.with_unit(row.get("value"), unit),
                "colour": row.get("colour") if row.get("colour") in COLOURS else "",
                "status": COLOURS.get(row.get("colour"), "—"),
                "target": formatting.with_unit(row.get("target"), unit),
                "minimum": formatting.with_unit(row.get("minimum"), unit),
            }
            for row in _rows(sla)
        ],
    }


def _performance(data: dict, slas: _Slas) -> dict:
    return {"slas": [_sla_chart(sla) for sla in _rows(data, "slas")]}


def _risks(data: dict, slas: _Slas) -> dict:
    rows = [
        {
            "sla": slas.label(row.get("sla")),
            "kind": RISK_KINDS.get(_text(row, "kind"), _text(row, "kind")),
            "text": _text(row, "text"),
        }
        for row in _rows(data)
    ]
    return {"rows": rows}


def _actions(data: dict, slas: _Slas) -> dict:
    rows = [
        {
            "title": _text(row, "title"),
            "owner": _text(row, "owner") or "—",
            "side": SIDES.get(row.get("side"), _text(row, "side")),
            "due": _date(row.get("due")),
            "state": STATES.get(row.get("state"), _text(row, "state")),
            "overdue": row.get("overdue") is True,
        }
        for row in _rows(data)
    ]
    return {"rows": rows}


def _thresholds(row: dict, key: str, unit: str) -> tuple[str, str]:
    year = row.get(key) if isinstance(row.get(key), dict) else {}
    return (
        formatting.with_unit(year.get("target"), unit),
        formatting.with_unit(year.get("minimum"), unit),
    )


def _improvement(data: dict, slas: _Slas) -> dict:
    rows = []
    for row in _rows(data):
        unit = slas.unit(row.get("sla"))
        rows.append(
            {
                "sla": slas.label(row.get("sla")),
                "text": _text(row, "text"),
                "this_year": _thresholds(row, "this_year", unit),
                "next_year": _thresholds(row, "next_year", unit),
                "from": _text(row, "from") or "—",
            }
        )
    return {"rows": rows}


def _credits(data: dict, slas: _Slas) -> dict:
    currency = _text(data, "currency")

    def money(value) -> str:
        text = formatting.number(value, 2)
        return f"{text} {currency}".strip() if text != "—" else text

    rows = [
        {
            "sla": slas.label(row.get("sla")),
            "period": _text(row, "period") or "—",
            "percent": formatting.with_unit(row.get("percent"), "percent"),
            "amount": money(row.get("amount")),
        }
        for row in _rows(data)
    ]
    return {"rows": rows, "total": money(data.get("total"))}


def _count(data: dict, key: str) -> int | None:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _timeliness(data: dict, slas: _Slas) -> dict:
    on_time, late = _count(data, "on_time"), _count(data, "late")
    counts = []
    if on_time is not None:
        counts.append(formatting.plural(on_time, "period on time", "periods on time"))
    if late is not None:
        counts.append(formatting.plural(late, "late period"))
    rows = []
    for row in _rows(data):
        days = row.get("days_late")
        rows.append(
            {
                "sla": slas.label(row.get("sla")),
                "period": _text(row, "period") or "—",
                "deadline": _date(row.get("deadline")),
                "submitted": _date(row["submitted"]) if row.get("submitted") else "not yet",
                "days_late": formatting.with_unit(days, "days") if days else "—",
            }
        )
    return {"rows": rows, "counts": counts}


SECTIONS = {
    AgendaItem.Section.PERFORMANCE: _performance,
    AgendaItem.Section.RISKS: _risks,
    AgendaItem.Section.ACTIONS: _actions,
    AgendaItem.Section.IMPROVEMENT: _improvement,
    AgendaItem.Section.CREDITS: _credits,
    AgendaItem.Section.TIMELINESS: _timeliness,
}


def _attendance(review: Review) -> list[dict]:
    """Who came from each side, who sent apologies, and whose attendance is not recorded."""
    people = list(ReviewAttendee.objects.filter(review=review).order_by("side", "name", "pk"))
    return [
        {
            "label": label,
            "present": [p.name for p in people if p.side == side and p.attended is True],
            "absent": [p.name for p in people if p.side == side and p.attended is False],
            "unknown": [p.name for p in people if p.side == side and p.attended is None],
        }
        for side, label in Side.choices
    ]


def _agenda(items: list[AgendaItem], slas: _Slas) -> list[dict]:
    """The items in order, each with its section's heading where a section starts."""
    agenda, previous = [], None
    for number, item in enumerate(items, start=1):
        shape = SECTIONS.get(item.section)
        heading = item.get_section_display() if item.section != previous else ""
        data = item.data if isinstance(item.data, dict) else {}
        agenda.append(
            {
                "item": item,
                "number": number,
                "heading": heading,
                # A drafted item titled like its section is not named twice.
                "merged": bool(heading) and item.title.strip() == heading,
                "data": shape(data, slas) if shape else None,
            }
        )
        previous = item.section
    return agenda


def _actions_at(review: Review) -> list[dict]:
    """The action items created at the review, by due date."""
    items = (
        ActionItem.objects.filter(review=review)
        .select_related("owner", "service_level")
        .order_by("due_date", "pk")
    )
    return [
        {
            "title": a.title,
            "owner": _person(a.owner),
            "side": SIDES.get(a.owner_side, ""),
            "due": _date(a.due_date),
            "state": STATES.get(a.state, a.state),
            "sla": a.service_level.code if a.service_level else "",
        }
        for a in items
    ]


def review_pack_context(review: Review) -> dict:
    """Everything the pack shows, read by the review itself."""
    # The pack is the same whoever asks for it (both sides sign its hash): the caller
    # has found the review through its scope; what belongs to the review is read here.
    with tenant_scope(review.organization_id):
        review = Review.objects.select_related(
            "contract__vendor", "contract__owner", "contract__organization", "service_level"
        ).get(pk=review.pk)
        items = list(AgendaItem.objects.filter(review=review).order_by("position", "pk"))
        agenda = _agenda(items, _Slas(review, items))
        actions = _actions_at(review)
        attendance = _attendance(review)
    start = timezone.localtime(review.scheduled_at)
    # The document's dates are the review's: a pack made later is the same pack.
    stamp = (review.held_at or review.scheduled_at).astimezone(UTC)
    return {
        "review": review,
        "contract": review.contract,
        "start": start,
        "end": start + timedelta(minutes=review.duration_minutes),
        "time_zone": timezone.get_current_timezone_name(),
        "held": _stamp_text(review.held_at) if review.held_at else "",
        "covers_from": _date(review.covers_from) if review.covers_from else "",
        "attendance": attendance,
        "other_attendees": review.attendee_list,
        "agenda": agenda,
        "actions": actions,
        "created": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "date": _date(start.date()),
    }


def _person(user) -> str:
    if user is None:
        return "—"
    return user.get_full_name() or user.username


def _stamp_text(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{_date(local.date())} {local:%H:%M}"


def review_pack_html(review: Review) -> str:
    """The HTML that becomes the PDF."""
    return render_to_string("reviews/pack.html", review_pack_context(review))


# --- The PDF -----------------------------------------------------------------------------


def pdf_from_html(html: str) -> bytes:
    """The PDF of pack HTML, with no resource fetched (every URL is refused)."""
    return html_to_pdf(html, what="The review pack")


def review_pack_pdf(review: Review) -> bytes:
    """The review pack as PDF bytes: the same review content gives the same bytes."""
    return pdf_from_html(review_pack_html(review))


def pack_sha256(pdf: bytes) -> str:
    """What each side signs: the hex SHA-256 of the exact pack."""
    return hashlib.sha256(pdf).hexdigest()
