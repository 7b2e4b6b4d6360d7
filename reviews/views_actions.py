"""
Action-item pages: "my action items" (and, for anyone, everyone's they may
see), one item with its timeline, creating and editing. State changes work
inline with htmx and as plain forms without JavaScript.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from contracts import selectors as contract_selectors
from contracts.models import Contract
from reviews import actions, exports
from reviews.filters import ActionListFilter
from reviews.forms import ActionItemForm, CommentForm
from reviews.models import ActionItem, VendorWarning
from slagov import exports as table_exports
from slagov.filters import ASCII_DIGITS, parse_digits
from slagov.web import errors_to_forms, post_only, render_page

DEFAULT_DUE_DAYS = 14
LIST_LIMIT = 300


def _with_moves(tenant, item: ActionItem) -> ActionItem:
    """What the member may do with the item, for its buttons (no query)."""
    item.can_update = actions.may_update(tenant, item)
    item.moves = actions.next_states(item) if item.can_update else []
    return item


def _next(request: HttpRequest) -> str | None:
    """Where a plain form goes back to: a page of this site only."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def my_actions(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The items the member owns, open ones first and the overdue at the top; or everyone's."""
    data = request.GET.copy()
    data.setdefault("show", "mine")
    data.setdefault("state", "open")
    filterset = ActionListFilter(
        data, queryset=actions.action_items_listed(state="all"), request=request
    )
    if fmt := table_exports.requested_format(request):
        return table_exports.refused_filter(filterset) or exports.ACTION_ITEMS.response(
            fmt, filterset.qs
        )
    items = [_with_moves(request.tenant, item) for item in filterset.qs[:LIST_LIMIT]]
    context = {
        "filter": filterset,
        "items": items,
        "overdue": sum(1 for item in items if item.overdue),
        "limit": LIST_LIMIT,
        "back": request.get_full_path(),
    }
    return render_page(request, "reviews/actions/list.html", context, partial="table")


def _detail_context(request: HttpRequest, item: ActionItem, **forms_given) -> dict:
    tenant = request.tenant
    return {
        "item": _with_moves(tenant, item),
        "events": actions.item_events(item),
        "comment_form": forms_given.get("comment_form") or CommentForm(),
        "can_edit": actions.may_edit(tenant) and item.is_open,
        "back": request.get_full_path(),
    }


def action_detail(request: HttpRequest, org_slug: str, item_id: int) -> HttpResponse:
    item = actions.action_item_get(request.tenant, item_id)
    return render(request, "reviews/actions/detail.html", _detail_context(request, item))


def action_transition(request: HttpRequest, org_slug: str, item_id: int) -> HttpResponse:
    """
    A state button: inline for htmx (the row again, with a message if it was
    refused), else back to the page it was pressed on.
    """
    tenant = request.tenant
    item = actions.action_item_get(tenant, item_id)
    if refused := post_only(request):
        return refused
    to = request.POST.get("to", "")
    error, changed = "", False
    try:
        changed = actions.action_item_transition(
            item=item, actor=request.user, tenant=tenant, to=to
        )
    except actions.ActionStateError as exc:
        error = str(exc)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if request.htmx:
        item = _with_moves(tenant, actions.action_item_get(tenant, item_id))
        context = {"item": item, "error": error, "back": _next(request) or ""}
        return render(request, "reviews/actions/list.html#row", context)
    if error:
        messages.error(request, error)
    elif changed:
        messages.success(request, f"“{item.title}” is now {item.get_state_display().lower()}.")
    else:
        messages.info(request, f"“{item.title}” was already {item.get_state_display().lower()}.")
    return redirect(_next(request) or _item_url(org_slug, item))


def _item_url(org_slug: str, item: ActionItem) -> str:
    return reverse("reviews:action", kwargs={"org_slug": org_slug, "item_id": item.pk})


def action_comment(request: HttpRequest, org_slug: str, item_id: int) -> HttpResponse:
    tenant = request.tenant
    item = actions.action_item_get(tenant, item_id)
    if refused := post_only(request):
        return refused
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            actions.action_item_comment(
                item=item, actor=request.user, tenant=tenant, text=form.cleaned_data["text"]
            )
        except ValidationError as exc:
            errors_to_forms(exc, form)
        else:
            messages.success(request, "Comment added.")
            return redirect(_item_url(org_slug, item) + "#events")
    context = _detail_context(request, item, comment_form=form)
    return render(request, "reviews/actions/detail.html", context, status=400)


# --- Creating and editing (admins and account managers) -----------------------------------


def _prefill(request: HttpRequest, contract: Contract) -> dict:
    """A new item's first values: from a vendor warning it follows up, or links given."""
    initial: dict = {"due_date": timezone.localdate() + timedelta(days=DEFAULT_DUE_DAYS)}
    ids = {}
    for name in ActionItemForm.LINKS:
        text = request.GET.get(name, "")
        if ASCII_DIGITS.fullmatch(text) and len(text) <= 18:
            ids[name] = parse_digits(text)
    if "warning" in ids:
        warning = VendorWarning.objects.filter(pk=ids["warning"], contract=contract).first()
        if warning is not None:
            initial.update(
                title=f"Follow up: {warning.title}"[: actions.TITLE_MAX],
                description=warning.mitigation or warning.impact,
                service_level=warning.service_level_id,
                warning=warning.pk,
            )
    for name in ("service_level", "review", "escalation"):
        if name in ids:
            initial[name] = ids[name]  # a value not of this contract is simply not a choice
    return initial


def action_create(request: HttpRequest, org_slug: str, contract_id: int) -> HttpResponse:
    tenant = request.tenant
    contract = contract_selectors.contract_get(tenant, contract_id)
    tenant.require_manage()
    form = ActionItemForm(
        request.POST or None, organization=tenant.organization, contract=contract,
        initial=_prefill(request, contract) if request.method != "POST" else None,
    )  # fmt: skip
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            item = actions.action_item_create(
                organization=tenant.organization, actor=request.user, tenant=tenant,
                contract=contract, title=data["title"], description=data["description"],
                owner=data["owner"], due_date=data["due_date"],
                **{name: data.get(name) for name in ActionItemForm.LINKS},
            )  # fmt: skip
        except ValidationError as exc:
            errors_to_forms(exc, form)
        else:
            owner = item.owner.get_full_name() or item.owner.username
            messages.success(request, f"Action item created for {owner}.")
            return redirect(_item_url(org_slug, item))
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "contract": contract, "item": None}
    return render(request, "reviews/actions/form.html", context, status=status)


def action_edit(request: HttpRequest, org_slug: str, item_id: int) -> HttpResponse:
    tenant = request.tenant
    item = actions.action_item_get(tenant, item_id)
    tenant.require_manage()
    initial = {
        "title": item.title, "description": item.description, "owner": str(item.owner_id or ""),
        "due_date": item.due_date,
    }  # fmt: skip
    form = ActionItemForm(
        request.POST or None, organization=tenant.organization, contract=item.contract,
        links=False, initial=initial,
    )  # fmt: skip
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            changed = actions.action_item_update(
                item=item, actor=request.user, tenant=tenant, title=data["title"],
                description=data["description"], owner=data["owner"], due_date=data["due_date"],
            )  # fmt: skip
        except actions.ActionStateError as exc:
            messages.error(request, str(exc))
            return redirect(_item_url(org_slug, item))
        except ValidationError as exc:
            errors_to_forms(exc, form)
        else:
            messages.success(request, "Saved." if changed else "Nothing changed.")
            return redirect(_item_url(org_slug, item))
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "contract": item.contract, "item": item}
    return render(request, "reviews/actions/form.html", context, status=status)
