"""
Action items: follow-ups owned by one person of either side, with a due date.

Writes are keyword-only, take the actor and the tenant (their membership:
what they may do) explicitly, run in one transaction and write an
ActionItemEvent for every change. Reads go through the scoped managers: an
item of another organisation or another vendor doesn't exist here (404).

Who may do what:
- admins and account managers create items and edit them (title,
  description, owner, due date), and change any item's state;
- the owner changes the state of their item and comments on it;
- a vendor user changes the state of, and comments on, any item of their
  vendor's contracts (the scope shows them no other);
- leadership reads.

The daily job reminds each owner three days before the due date and tells
them once the item is overdue, each once per item and due date, through the
outbox (`Notification` rows written in a transaction, sent after commit).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts import periods
from contracts.models import Contract
from escalations import notify
from escalations.models import Notification
from reviews.models import ActionItem, ActionItemEvent, Side
from slagov import formatting
from slagov.jobs import JobReport
from slagov.models import Membership, Organization
from slagov.tenancy import Tenant, tenant_scope

State = ActionItem.State
Kind = ActionItemEvent.Kind

OPEN_STATES = (State.OPEN, State.IN_PROGRESS)
CLOSED_STATES = (State.DONE, State.CANCELLED)
# The transitions of the model's docstring; done and cancelled are final.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    State.OPEN: (State.IN_PROGRESS, State.DONE, State.CANCELLED),
    State.IN_PROGRESS: (State.OPEN, State.DONE, State.CANCELLED),
    State.DONE: (),
    State.CANCELLED: (),
}
# What a button that moves an item to a state says.
VERBS = {
    State.OPEN: "Put back",
    State.IN_PROGRESS: "Start",
    State.DONE: "Done",
    State.CANCELLED: "Cancel",
}

TITLE_MAX = 200
TEXT_MAX = 5000
DUE_YEARS_AHEAD = 2  # a follow-up due later than this is a plan, not an action
REMIND_DAYS_BEFORE = 3
OVERDUE_LOOKBACK_DAYS = 31  # an overdue notice is news for a month, not forever


class ActionStateError(Exception):
    """A change the item's state doesn't allow (a closed item): said plainly, changes nothing."""


# --- Rules -------------------------------------------------------------------------------


def due_date_problem(day: date, today: date) -> str | None:
    """A due date is today or later, and at most DUE_YEARS_AHEAD years ahead."""
    latest = periods.add_years(today, DUE_YEARS_AHEAD)
    if day < today:
        return f"A due date from today ({formatting.day(today)}) on."
    if day > latest:
        return f"A due date at most {DUE_YEARS_AHEAD} years ahead: by {formatting.day(latest)}."
    return None


def next_states(item: ActionItem) -> list[tuple[str, str]]:
    """(state, button label) for each state the item may move to now."""
    return [(state, VERBS[state]) for state in TRANSITIONS[item.state]]


def may_edit(tenant: Tenant) -> bool:
    """Title, description, owner and due date: the customer side's managers."""
    return tenant.can_manage


def may_update(tenant: Tenant, item: ActionItem) -> bool:
    """State and comments: managers, the owner, and the users of the contract's vendor."""
    if tenant.can_manage or item.owner_id == tenant.user.pk:
        return True
    return tenant.is_vendor and item.contract.vendor_id == tenant.vendor_id


def side_of(tenant: Tenant) -> str:
    return Side.VENDOR if tenant.is_vendor else Side.CUSTOMER


def _name(user) -> str:
    if user is None:
        return "nobody"
    return user.get_full_name() or user.username


# --- Who may own an item ------------------------------------------------------------------


def owner_memberships(*, organization_id: int, contract: Contract) -> QuerySet[Membership]:
    """
    The people who may own an item of `contract`: the organisation's active
    customer-side members and the active users of the contract's vendor.
    """
    return (
        Membership.objects.filter(
            organization_id=organization_id, is_active=True, user__is_active=True
        )
        .filter(Q(vendor__isnull=True) | Q(vendor_id=contract.vendor_id))
        .select_related("user", "vendor", "organization")
        .order_by("vendor_id", "user__first_name", "user__username")
    )


def _owner_membership(*, organization_id: int, contract: Contract, owner) -> Membership | None:
    """`owner` (a user, or a username) as one of the item's possible owners, else None."""
    if owner is None or owner == "":
        return None
    memberships = owner_memberships(organization_id=organization_id, contract=contract)
    if isinstance(owner, str):
        return memberships.filter(user__username=owner).first()
    return memberships.filter(user_id=owner.pk).first()


def owner_label(membership: Membership) -> str:
    """`Vic Vendor (Vendor Mine)` or `Bob Brennan (Acme Corp)`: who, and for which side."""
    side = membership.vendor.name if membership.vendor_id else membership.organization.name
    return f"{_name(membership.user)} ({side})"


OWNER_PROBLEM = (
    "The owner is someone of this organisation or a user of the contract's vendor "
    "({vendor}), with an active account."
)


# --- Writes -------------------------------------------------------------------------------


def _event(item: ActionItem, kind: str, message: str, *, actor, side: str, now) -> ActionItemEvent:
    return ActionItemEvent.objects.create(
        organization_id=item.organization_id, item=item, kind=kind, at=now, actor=actor,
        side=side, message=message,
    )  # fmt: skip


def _links_problems(contract: Contract, links: dict) -> dict[str, str]:
    """Each linked review, SLA, escalation or warning belongs to the same contract."""
    problems = {}
    words = {
        "review": "a review", "service_level": "an SLA", "escalation": "an escalation",
        "warning": "a vendor warning",
    }  # fmt: skip
    for field, linked in links.items():
        if linked is not None and linked.contract_id != contract.pk:
            problems[field] = f"Link {words[field]} of this contract ({contract.reference})."
    return problems


def _text_problems(title: str | None, description: str | None) -> dict[str, str]:
    problems = {}
    if title is not None:
        if not title:
            problems["title"] = "Say what has to be done, in a line."
        elif len(title) > TITLE_MAX:
            problems["title"] = f"At most {TITLE_MAX} characters."
    if description is not None and len(description) > TEXT_MAX:
        problems["description"] = f"At most {TEXT_MAX} characters."
    return problems


@transaction.atomic
def action_item_create(
    *, organization: Organization, actor, tenant: Tenant, contract: Contract, title: str,
    owner, due_date: date, description: str = "", review=None, service_level=None,
    escalation=None, warning=None, today: date | None = None,
) -> ActionItem:  # fmt: skip
    """
    A new item on `contract` (admins and account managers). `owner`: a user
    or a username; the side they are on is taken from their membership.
    """
    if not may_edit(tenant):
        raise PermissionDenied("Only admins and account managers create action items.")
    if contract.organization_id != organization.pk:
        raise ValidationError({"contract": "A contract of this organisation."})
    today = today or timezone.localdate()
    title, description = (title or "").strip(), (description or "").strip()
    problems = _text_problems(title, description)
    membership = _owner_membership(organization_id=organization.pk, contract=contract, owner=owner)
    if membership is None:
        problems["owner"] = OWNER_PROBLEM.format(vendor=contract.vendor.name)
    if due_date is None:
        problems["due_date"] = "Give a due date."
    elif problem := due_date_problem(due_date, today):
        problems["due_date"] = problem
    links = {"review": review, "service_level": service_level, "escalation": escalation,
             "warning": warning}  # fmt: skip
    problems.update(_links_problems(contract, links))
    if problems:
        raise ValidationError(problems)
    now = timezone.now()
    side = Side.VENDOR if membership.vendor_id else Side.CUSTOMER
    item = ActionItem.objects.create(
        organization=organization, contract=contract, title=title, description=description,
        owner=membership.user, owner_side=side, due_date=due_date, created_by=actor,
        created_at=now, **links,
    )  # fmt: skip
    _event(
        item, Kind.CREATED,
        f"Created for {_name(membership.user)} ({Side(side).label.lower()} side), "
        f"due {formatting.day(due_date)}.",
        actor=actor, side=side_of(tenant), now=now,
    )  # fmt: skip
    return item


def _locked(item: ActionItem) -> ActionItem:
    """The item's row, locked until the transaction ends: two submits are applied one by one."""
    return ActionItem.objects.select_for_update().get(pk=item.pk)


@transaction.atomic
def action_item_update(
    *, item: ActionItem, actor, tenant: Tenant, title: str | None = None,
    description: str | None = None, owner=None, due_date: date | None = None,
    today: date | None = None,
) -> bool:  # fmt: skip
    """
    Edit an open item (admins and account managers); None leaves a field as it
    is. A new due date is checked like a new item's, and gets its own reminder.
    Returns whether anything changed.
    """
    if not may_edit(tenant):
        raise PermissionDenied("Only admins and account managers edit action items.")
    today = today or timezone.localdate()
    current = _locked(item)
    if current.state in CLOSED_STATES:
        raise ActionStateError(
            f"This item is {current.get_state_display().lower()}: it can't be edited any more."
        )
    title = title.strip() if title is not None else None
    description = description.strip() if description is not None else None
    problems = _text_problems(title, description)
    membership = None
    if owner is not None and owner != "":
        membership = _owner_membership(
            organization_id=item.organization_id, contract=item.contract, owner=owner
        )
        if membership is None:
            problems["owner"] = OWNER_PROBLEM.format(vendor=item.contract.vendor.name)
    moved = due_date is not None and due_date != current.due_date
    if moved and (problem := due_date_problem(due_date, today)):
        problems["due_date"] = problem
    if problems:
        raise ValidationError(problems)
    changes: dict = {}
    said: list[str] = []
    if membership is not None and membership.user_id != current.owner_id:
        side = Side.VENDOR if membership.vendor_id else Side.CUSTOMER
        changes.update(owner=membership.user, owner_side=side)
        said.append(f"owner {_name(current.owner)} → {_name(membership.user)}")
    if due_date is not None and due_date != current.due_date:
        changes["due_date"] = due_date
        said.append(f"due {formatting.day(current.due_date)} → {formatting.day(due_date)}")
    if title is not None and title != current.title:
        changes["title"] = title
        said.append("title changed")
    if description is not None and description != current.description:
        changes["description"] = description
        said.append("description changed")
    if not changes:
        return False
    for field, value in changes.items():
        setattr(item, field, value)
    item.save(update_fields=list(changes))
    message = "; ".join(said)
    _event(item, Kind.CHANGED, message[0].upper() + message[1:] + ".", actor=actor,
           side=side_of(tenant), now=timezone.now())  # fmt: skip
    return True


@transaction.atomic
def action_item_transition(*, item: ActionItem, actor, tenant: Tenant, to: str) -> bool:
    """
    Move the item to state `to`. The same state again (a double submit) is a
    no-op and returns False; a move its state doesn't allow raises
    ActionStateError with the reason.
    """
    if not may_update(tenant, item):
        raise PermissionDenied(
            "Only the owner, the vendor's users and account managers change an item's state."
        )
    if to not in State.values:
        raise ValidationError({"state": f"{to!r} is not a state of an action item."})
    current = _locked(item)
    if current.state == to:
        item.state, item.closed_at = current.state, current.closed_at
        return False
    if to not in TRANSITIONS[current.state]:
        raise ActionStateError(
            f"This item is {current.get_state_display().lower()}: a closed item can't be "
            "reopened or changed. Create a new one if there is more to do."
        )
    now = timezone.now()
    item.state = to
    item.closed_at = now if to in CLOSED_STATES else None
    item.save(update_fields=["state", "closed_at"])
    _event(item, Kind.STATE, f"{State(current.state).label} → {State(to).label}.", actor=actor,
           side=side_of(tenant), now=now)  # fmt: skip
    return True


@transaction.atomic
def action_item_comment(*, item: ActionItem, actor, tenant: Tenant, text: str) -> ActionItemEvent:
    """A comment from either side, on the item's timeline."""
    if not may_update(tenant, item):
        raise PermissionDenied(
            "Only the owner, the vendor's users and account managers comment on an item."
        )
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write something to comment."})
    if len(text) > TEXT_MAX:
        raise ValidationError({"text": f"At most {TEXT_MAX} characters."})
    return _event(item, Kind.COMMENT, text, actor=actor, side=side_of(tenant), now=timezone.now())


# --- Reads (in the request's scope) -------------------------------------------------------


def _overdue(today: date) -> Case:
    return Case(
        When(state__in=OPEN_STATES, due_date__lt=today, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )


def action_items(*, today: date | None = None) -> QuerySet[ActionItem]:
    """Items visible in the scope with what lists show, and `overdue` (open, due before today)."""
    today = today or timezone.localdate()
    return ActionItem.objects.select_related("contract__vendor", "owner", "service_level").annotate(
        overdue=_overdue(today)
    )


def action_item_get(tenant: Tenant, item_id: int, *, today: date | None = None) -> ActionItem:
    """One item the member may see, else 404."""
    return get_object_or_404(
        action_items(today=today).select_related("review", "escalation", "warning", "created_by"),
        pk=item_id,
    )


def action_items_listed(
    *, owner=None, state: str = "open", contract: Contract | None = None,
    today: date | None = None,
) -> QuerySet[ActionItem]:  # fmt: skip
    """
    "My action items" and the organisation's: open ones first (the overdue
    soonest), then by due date. `owner` None: everyone's the scope shows.
    `state`: "open", "closed" or "all".
    """
    rows = action_items(today=today)
    if owner is not None:
        rows = rows.filter(owner=owner)
    if contract is not None:
        rows = rows.filter(contract=contract)
    if state == "open":
        rows = rows.filter(state__in=OPEN_STATES)
    elif state == "closed":
        rows = rows.filter(state__in=CLOSED_STATES)
    open_first = Case(When(state__in=OPEN_STATES, then=Value(0)), default=Value(1))
    return rows.order_by(open_first, "due_date", "pk")


def open_action_items(*, contract=None, service_level=None, today: date | None = None) -> list:
    """A contract's or an SLA's open items, soonest due first (one query)."""
    rows = action_items(today=today).filter(state__in=OPEN_STATES)
    if contract is not None:
        rows = rows.filter(contract=contract)
    if service_level is not None:
        rows = rows.filter(service_level=service_level)
    return list(rows.order_by("due_date", "pk"))


def overdue_action_items(
    *, contract_ids: list[int] | None = None, today: date | None = None,
    limit: int | None = 20,
) -> list[ActionItem]:  # fmt: skip
    """Open items past their due date (of these contracts), longest overdue first; None: all."""
    today = today or timezone.localdate()
    rows = action_items(today=today).filter(state__in=OPEN_STATES, due_date__lt=today)
    if contract_ids is not None:
        rows = rows.filter(contract_id__in=contract_ids)
    return list(rows.order_by("due_date", "pk")[:limit])


def item_events(item: ActionItem) -> list[ActionItemEvent]:
    return list(
        ActionItemEvent.objects.filter(item=item).select_related("actor").order_by("at", "pk")
    )


# --- Reminders ----------------------------------------------------------------------------


def reminder_key(item: ActionItem, kind: str) -> str:
    """One message per item, kind and due date: a new due date is a new reminder."""
    what = "due" if kind == Notification.Kind.ACTION_DUE else "overdue"
    return f"action:{item.pk}:{what}:{item.due_date.isoformat()}"


def _reminder_kind(item: ActionItem, today: date) -> str | None:
    if today <= item.due_date <= today + timedelta(days=REMIND_DAYS_BEFORE):
        return Notification.Kind.ACTION_DUE
    if today - timedelta(days=OVERDUE_LOOKBACK_DAYS) <= item.due_date < today:
        return Notification.Kind.ACTION_OVERDUE
    return None


def _payload(item: ActionItem) -> dict:
    """What the message says, as it was when it was queued."""
    return {
        "title": item.title,
        "due_date": item.due_date.isoformat(),
        "contract": item.contract.reference,
        "contract_title": item.contract.title,
        "vendor": item.contract.vendor.name,
        "description": item.description[:1000],
    }


def _window(today: date) -> Q:
    return Q(
        state__in=OPEN_STATES,
        owner__isnull=False,
        due_date__gte=today - timedelta(days=OVERDUE_LOOKBACK_DAYS),
        due_date__lte=today + timedelta(days=REMIND_DAYS_BEFORE),
    )


@transaction.atomic
def action_reminders_queue(*, organization: Organization, today: date) -> int:
    """
    One organisation's reminders and overdue notices that are due and not yet
    queued, as outbox rows in this transaction; sent once it commits. Only to
    owners who still belong here (a vendor user: still of that vendor).
    Returns how many were queued: none on a re-run.
    """
    with tenant_scope(organization):
        items = list(
            ActionItem.objects.filter(_window(today), organization=organization)
            .select_related("owner", "contract__vendor")
            .order_by("pk")
        )
        members = {
            m.user_id: m
            for m in Membership.objects.filter(
                organization=organization,
                is_active=True,
                user__is_active=True,
                user_id__in={item.owner_id for item in items},
            )
        }
        wanted: dict[tuple[str, str], tuple[ActionItem, str]] = {}
        for item in items:
            kind = _reminder_kind(item, today)
            membership = members.get(item.owner_id)
            if kind is None or not item.owner.email or membership is None:
                continue
            if membership.vendor_id not in (None, item.contract.vendor_id):
                continue  # now a user of another vendor: not this item's owner any more
            wanted[(reminder_key(item, kind), item.owner.email)] = (item, kind)
        if not wanted:
            return 0
        queued = set(
            Notification.objects.filter(
                organization=organization, key__in={key for key, _ in wanted}
            ).values_list("key", "email")
        )
        now = timezone.now()
        rows = [
            Notification(
                organization=organization, kind=kind, key=key, action_item=item,
                payload=_payload(item), email=email, user=item.owner,
                delivery=Notification.Delivery.IMMEDIATE, next_attempt_at=now,
            )
            for (key, email), (item, kind) in wanted.items()
            if (key, email) not in queued
        ]  # fmt: skip
        # A run at the same moment may have queued some: the constraint keeps one of each.
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
    if rows:
        notify.send_after_commit()
    return len(rows)


@scopes_disabled()
def action_reminders_send(today: date | None = None) -> JobReport:
    """
    The daily job: every organisation's reminders and overdue notices, each
    organisation on its own (a failure is logged, counted, and the others still
    go out). `done`: the messages queued.
    """
    today = today or timezone.localdate()
    report = JobReport()
    organization_ids = (
        ActionItem.objects.filter(_window(today)).values("organization_id").distinct().order_by()
    )
    for organization in Organization.objects.filter(pk__in=organization_ids).order_by("pk"):
        with report.isolated(organization, "action-item reminders"):
            report.done += action_reminders_queue(organization=organization, today=today)
    return report
