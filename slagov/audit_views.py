"""The audit log page and its CSV export (admins)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from slagov import audit, formatting
from slagov.exports import safe_text
from slagov.models import Membership

FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)


def _cursor(text: str):
    """The page's `before` (a moment, as the previous page gave it), or None if it isn't one."""
    try:
        moment = parse_datetime(text or "")
        if moment is not None and timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        if moment is not None:
            moment.astimezone(UTC)  # a moment at the edge of time overflows here, not later
    except (ValueError, OverflowError):
        return None
    return moment


class AuditFilter(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Object",
                        help_text="Part of its name, reference or code")  # fmt: skip
    person = forms.ChoiceField(required=False)
    object_type = forms.ChoiceField(
        required=False, label="What", choices=[("", "Everything"), *audit.TYPES.items()]
    )
    day_from = forms.DateField(required=False, label="From",
                               widget=forms.DateInput(attrs={"type": "date"}))  # fmt: skip
    day_to = forms.DateField(required=False, label="To",
                             widget=forms.DateInput(attrs={"type": "date"}))  # fmt: skip

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        people = (
            Membership.objects.filter(organization=organization)
            .select_related("user")
            .order_by("user__first_name", "user__username")
        )
        self.fields["person"].choices = [("", "Everyone")] + [
            (str(m.user_id), m.user.get_full_name() or m.user.username) for m in people
        ]

    def clean(self):
        data = super().clean()
        start, end = data.get("day_from"), data.get("day_to")
        for name, day in (("day_from", start), ("day_to", end)):
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                self.add_error(name, "Choose a day from the year 2000 to 2999.")
        if start and end and start > end:
            self.add_error("day_to", "The end is before the start.")
        return data

    def query(self, before=None) -> audit.Query | None:
        """The filter asked for; None when it is wrong (then nothing is shown, not everything)."""
        if self.is_bound and not self.is_valid():
            return None
        data = self.cleaned_data if self.is_bound else {}
        person = data.get("person")
        return audit.Query(
            person=int(person) if person else None,
            object_type=data.get("object_type") or None,
            day_from=data.get("day_from"),
            day_to=data.get("day_to"),
            text=(data.get("q") or "").strip() or None,
            before=before,
        )


def audit_log(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant
    tenant.require_admin()
    form = AuditFilter(request.GET or None, organization=tenant.organization)
    query = form.query(_cursor(request.GET.get("before", "")))
    rows = [] if query is None else audit.entries(tenant.organization, query, limit=audit.PAGE + 1)
    more = len(rows) > audit.PAGE
    rows = rows[: audit.PAGE]
    params = request.GET.copy()
    params.pop("before", None)
    if more:
        params["before"] = rows[-1].at.isoformat()
    context = {
        "form": form,
        "rows": rows,
        "older": params.urlencode() if more else "",
        "export": request.GET.copy().urlencode(),
    }
    return render(request, "audit.html", context)


def audit_csv(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The filtered log (at most 10,000 rows), every text cell safe from formulas."""
    tenant = request.tenant
    tenant.require_admin()
    form = AuditFilter(request.GET or None, organization=tenant.organization)
    query = form.query()
    if query is None:
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        return HttpResponse(f"The filter is not valid ({problems}).", status=400,
                            content_type="text/plain; charset=utf-8")  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["when", "person", "action", "what", "object", "detail"])
    for entry in audit.entries(tenant.organization, query, limit=audit.EXPORT_MAX,
                               diffs=False):  # fmt: skip
        person = entry.actor.get_username() if entry.actor else "slagov"
        writer.writerow(
            [timezone.localtime(entry.at).isoformat(timespec="seconds"), safe_text(person),
             entry.action, entry.object_type, safe_text(entry.object_repr),
             safe_text(entry.detail)]
        )  # fmt: skip
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    stamp = formatting.day(timezone.localdate()).replace(" ", "-")
    response["Content-Disposition"] = f'attachment; filename="audit-{tenant.slug}-{stamp}.csv"'
    return response
