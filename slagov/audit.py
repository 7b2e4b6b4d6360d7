"""
The organisation's audit log: who changed what and when.

Two kinds of source, merged newest first:
- the history kept for vendors, contracts, SLAs, terms (with their credit
  tiers and improvement clause) and memberships (simple-history: every save,
  with its user);
- `AuditEvent` rows for what has no history of its own (invitations, member
  deactivation and reactivation, hand-overs, API tokens, escalation policies),
  and the escalation events a person caused (acknowledged, resolved by hand,
  meetings, notes).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone

from slagov import formatting
from slagov.models import AuditEvent

PAGE = 50
EXPORT_MAX = 10_000


def record(organization, actor, action: str, obj, detail: str = "") -> AuditEvent:
    """One row of the audit log for what has no history of its own."""
    return AuditEvent.objects.create(
        organization=organization, actor=actor if getattr(actor, "pk", None) else None,
        action=action, object_type=_type_of(obj), object_id=str(obj.pk or ""),
        object_repr=str(obj)[:300], detail=detail[:500],
    )  # fmt: skip


def _type_of(obj) -> str:
    return {
        "membership": "member", "apitoken": "token", "escalationpolicy": "policy",
        "servicelevel": "sla", "servicelevelterms": "terms", "vendorcontact": "contact",
    }.get(type(obj).__name__.lower(), type(obj).__name__.lower())  # fmt: skip


# What the filter offers: object type → label.
TYPES = {
    "contract": "Contracts", "sla": "SLAs and KPIs", "terms": "Terms and credits",
    "vendor": "Vendors", "member": "Members", "invitation": "Invitations",
    "token": "API tokens", "policy": "Escalation policies", "escalation": "Escalation actions",
    "contact": "Vendor contacts", "organization": "Organisation settings",
}  # fmt: skip


@dataclass(frozen=True)
class Entry:
    at: datetime
    actor: object  # a user or None (the system)
    action: str
    object_type: str
    object_repr: str
    detail: str = ""
    row: object = field(default=None, compare=False, repr=False)  # a history row


@dataclass(frozen=True)
class Query:
    person: int | None = None
    object_type: str | None = None
    day_from: date | None = None
    day_to: date | None = None
    text: str | None = None  # in the object's name (or the change's detail)
    before: datetime | None = None  # the page: entries strictly older than this

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        tz = timezone.get_current_timezone()
        start = datetime.combine(self.day_from, time.min, tz) if self.day_from else None
        end = None
        if self.day_to and self.day_to < date.max:
            end = datetime.combine(self.day_to + timedelta(days=1), time.min, tz)
        if self.before is not None and (end is None or self.before < end):
            end = self.before
        return start, end


def _history_sources():
    from contracts.models import Contract, ServiceLevel, ServiceLevelTerms, Vendor
    from slagov.models import Membership

    # kind, history model, what to show of a row, what to load with it, what `q` searches
    return [
        ("vendor", Vendor.history.model, lambda r: r.name, [], ["name"]),
        ("contract", Contract.history.model, lambda r: f"{r.reference} {r.title}", [],
         ["reference", "title"]),
        ("sla", ServiceLevel.history.model, lambda r: f"{r.code} — {r.name}", [],
         ["code", "name"]),
        ("terms", ServiceLevelTerms.history.model, _terms_words, ["service_level__contract"],
         ["service_level__code", "service_level__name", "service_level__contract__reference"]),
        ("member", Membership.history.model,
         lambda r: f"{r.user} ({r.get_role_display()})", ["user"],
         ["user__username", "user__first_name", "user__last_name", "user__email"]),
    ]  # fmt: skip


def _terms_words(row) -> str:
    sla = row.service_level
    return f"terms from {formatting.day(row.effective_from)} of {sla.contract.reference} {sla.code}"


def _search(rows, fields: list[str], text: str | None):
    if not text:
        return rows
    found = Q()
    for name in fields:
        found |= Q(**{f"{name}__icontains": text})
    return rows.filter(found)


VERB = {"+": "created", "~": "changed", "-": "deleted"}
SKIP_FIELDS = {"created_at", "updated_at", "id"}


def _diff(row) -> str:
    """`role: account_manager → admin`: what a change changed (its fields)."""
    if row.history_type != "~":
        return row.history_change_reason or ""
    previous = row.prev_record
    if previous is None:
        return row.history_change_reason or ""
    said = []
    for change in row.diff_against(previous).changes:
        if change.field in SKIP_FIELDS:
            continue
        said.append(f"{change.field}: {_short(change.old)} → {_short(change.new)}")
    return "; ".join(said) or (row.history_change_reason or "")


def _short(value) -> str:
    text = "—" if value in (None, "") else str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _window(qs, field_name: str, query: Query, start, end):
    if start is not None:
        qs = qs.filter(**{f"{field_name}__gte": start})
    if end is not None:
        qs = qs.filter(**{f"{field_name}__lt": end})
    return qs


def entries(organization, query: Query, limit: int = PAGE, *, diffs: bool = True) -> list[Entry]:
    """The newest `limit` entries matching `query`, from every source."""
    from escalations.models import EscalationEvent

    start, end = query.bounds()
    streams = []
    for kind, model, describe, related, searched in _history_sources():
        if query.object_type not in (None, kind):
            continue
        rows = model.objects.filter(organization_id=organization.pk).select_related(
            "history_user", *related
        )
        rows = _search(rows, searched, query.text)
        if query.person is not None:
            rows = rows.filter(history_user_id=query.person)
        rows = _window(rows, "history_date", query, start, end).order_by("-history_date")[:limit]
        streams.append(
            [
                Entry(r.history_date, r.history_user, VERB[r.history_type], kind, describe(r),
                      r.history_change_reason or "", row=r)
                for r in rows
            ]
        )  # fmt: skip
    events = AuditEvent.objects.filter(organization=organization).select_related("actor")
    events = _search(events, ["object_repr", "detail"], query.text)
    if query.object_type is not None:
        events = events.filter(object_type=query.object_type)
    if query.person is not None:
        events = events.filter(actor_id=query.person)
    events = _window(events, "at", query, start, end).order_by("-at", "-pk")[:limit]
    streams.append(
        [Entry(e.at, e.actor, e.action, e.object_type, e.object_repr, e.detail) for e in events]
    )
    if query.object_type in (None, "escalation"):
        acts = EscalationEvent.objects.filter(
            organization=organization, actor__isnull=False
        ).select_related("actor", "escalation__contract")
        acts = _search(acts, ["escalation__contract__reference", "message"], query.text)
        if query.person is not None:
            acts = acts.filter(actor_id=query.person)
        acts = _window(acts, "at", query, start, end).order_by("-at", "-pk")[:limit]
        streams.append(
            [
                Entry(a.at, a.actor, a.get_kind_display().lower(), "escalation",
                      f"#{a.escalation_id} {a.escalation.contract.reference}", a.message)
                for a in acts
            ]
        )  # fmt: skip
    merged = heapq.merge(*streams, key=lambda e: e.at, reverse=True)
    page = [entry for _, entry in zip(range(limit), merged, strict=False)]
    if diffs:  # what each change changed: one query per change shown, never more
        page = [replace(e, detail=_diff(e.row)) if e.row is not None else e for e in page]
    return page
