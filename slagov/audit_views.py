"""The audit log page and its CSV export (admins)."""

from __future__ import annotations

import csv
import io

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from metrics.ingest.blank import safe_text
from slagov import audit, formatting
from slagov.models import Membership


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
        if start and end and start > end:
            self.add_error("day_to", "The end is before the start.")
        return data

    def query(self, before=None) -> audit.Query:
        data = self.cleaned_data if self.is_valid() else {}
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
    before = parse_datetime(request.GET.get("before", "") or "") if request.GET else None
    if before is not None and timezone.is_naive(before):
        before = timezone.make_aware(before)
    rows = audit.entries(tenant.organization, form.query(before), limit=audit.PAGE + 1)
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
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["when", "person", "action", "what", "object", "detail"])
    for entry in audit.entries(tenant.organization, form.query(), limit=audit.EXPORT_MAX,
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
