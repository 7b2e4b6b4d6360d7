"""
The credit ledger page: every month's credit and what became of it, with
filters, totals per state and currency, the history of each entry, exports
of exactly the filtered rows, and the claim, apply and waive forms (inline
with htmx, plain forms without JavaScript). Vendor users read their own
vendor's entries; the scope shows them no other.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from metrics import exports as metrics_exports
from metrics import ledger_rules, ledger_selectors, ledger_services
from metrics.filters import CreditEntryFilter
from metrics.models import CreditEntry
from slagov import exports
from slagov.web import post_only, render_page

LIST_LIMIT = 300
ACTIONS = {
    "claim": ledger_services.credit_claim,
    "apply": ledger_services.credit_apply,
    "waive": ledger_services.credit_waive,
}
DONE = {"claim": "claimed", "apply": "applied", "waive": "waived"}


class ApplyForm(forms.Form):
    # The length and blank rules are the service's (`ledger_rules`): its message names them.
    invoice_reference = forms.CharField(label="Invoice reference", required=False)


class WaiveForm(forms.Form):
    reason = forms.CharField(label="Reason", required=False)


def _decorate(entry: CreditEntry, today) -> CreditEntry:
    """What a row shows besides the entry: its claim deadline and the moves open to it."""
    entry.deadline = ledger_rules.claim_deadline(entry.month, entry.contract.credit_claim_days)
    entry.days_left = (entry.deadline - today).days
    entry.moves = ledger_rules.TRANSITIONS[entry.state]
    return entry


def credit_ledger(request: HttpRequest, org_slug: str) -> HttpResponse:
    filterset = CreditEntryFilter(
        request.GET, queryset=ledger_selectors.credit_entries(), request=request
    )
    if not filterset.is_valid():
        context = {"filter": filterset, "entries": [], "totals": [], "invalid": True}
        return render(request, "metrics/credit_ledger.html", context, status=400)
    if fmt := exports.requested_format(request):
        return metrics_exports.CREDIT_LEDGER.response(fmt, filterset.qs)
    today = timezone.localdate()
    entries = [_decorate(e, today) for e in filterset.qs[:LIST_LIMIT]]
    history = ledger_selectors.events_by_entry(entries)
    for entry in entries:
        entry.history = history.get(entry.pk, [])
    query = request.GET.copy()
    query.pop("format", None)
    context = {
        "filter": filterset,
        "entries": entries,
        "totals": ledger_selectors.ledger_totals(filterset.qs),
        "limit": LIST_LIMIT,
        "can_act": ledger_services.may_act(request.tenant.membership),
        "query": query.urlencode(),
        "back": request.get_full_path(),
    }
    return render_page(request, "metrics/credit_ledger.html", context, partial="table")


def _next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def credit_action(request: HttpRequest, org_slug: str, entry_id: int, action: str) -> HttpResponse:
    """
    Claim, apply or waive one entry. Refused (a state that doesn't allow it, a
    missing invoice reference or reason): a 400 with the error beside the
    form, and nothing changed. Inline for htmx (the row again); else back to
    the list it was sent from.
    """
    tenant = request.tenant
    entry = ledger_selectors.credit_entry_get(tenant, entry_id)
    if refused := post_only(request):
        return refused
    apply_form, waive_form = ApplyForm(request.POST), WaiveForm(request.POST)
    apply_form.is_valid(), waive_form.is_valid()
    arguments = {
        "apply": {"invoice_reference": apply_form.cleaned_data.get("invoice_reference", "")},
        "waive": {"reason": waive_form.cleaned_data.get("reason", "")},
    }.get(action, {})
    error = ""
    changed = False
    try:
        changed = ACTIONS[action](
            organization=tenant.organization, actor=request.user, entry=entry, **arguments
        )
    except ledger_services.LedgerStateError as exc:
        error = str(exc)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    entry = ledger_selectors.credit_entry_get(tenant, entry_id)
    status = 400 if error else 200
    if request.htmx or error:
        entry = _decorate(entry, timezone.localdate())
        entry.history = ledger_selectors.entry_events(entry)
        context = {
            "entry": entry, "error": error, "can_act": True, "back": _next(request) or "",
            "failed_action": action if error else "", "posted": request.POST,
        }  # fmt: skip
        template = "metrics/credit_ledger.html#row" if request.htmx else "metrics/credit_entry.html"
        return render(request, template, context, status=status)
    what = f"{entry.contract.reference} {entry.month:%b %Y}"
    if changed:
        messages.success(request, f"The credit of {what} is {DONE[action]}.")
    else:
        messages.info(request, f"The credit of {what} was already {DONE[action]}.")
    return redirect(_next(request) or reverse("metrics:credit_ledger", args=[org_slug]))
