"""Forms of the review pages: they take input; the rules are the services'."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from reviews.models import Review
from slagov.models import Membership
from slagov.numbers import WholeNumberField

DATETIME = {
    "widget": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    "input_formats": ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
}


class ScheduleForm(forms.Form):
    scheduled_at = forms.DateTimeField(label="Starts at", **DATETIME)
    duration_minutes = WholeNumberField(label="Minutes", initial=60)
    location = forms.CharField(
        required=False, max_length=300, label="Where",
        help_text="A room, or a link to the call.",
    )  # fmt: skip


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=300, label="Why is it cancelled?")


class TopicForm(forms.Form):
    title = forms.CharField(max_length=200, label="Topic")
    details = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Details"
    )


def owner_choices(review: Review) -> list[tuple[str, str]]:
    """Who can own an action item: the organisation's people and the contract's vendor users."""
    members = Membership.objects.filter(
        organization_id=review.organization_id, is_active=True, user__is_active=True
    ).select_related("user", "vendor")
    choices = [("", "—")]
    for membership in members.order_by("role", "user__first_name", "user__username"):
        if membership.is_vendor and membership.vendor_id != review.contract.vendor_id:
            continue
        user = membership.user
        side = membership.vendor.name if membership.is_vendor else "customer"
        choices.append((str(user.pk), f"{user.get_full_name() or user.username} ({side})"))
    return choices


class ActionRowForm(forms.Form):
    title = forms.CharField(max_length=200, required=False, label="Action")
    owner = forms.ChoiceField(required=False, label="Owner")
    due_date = forms.DateField(
        required=False,
        label="Due",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = choices

    def clean(self):
        data = super().clean()
        if data.get("title") and not (data.get("owner") and data.get("due_date")):
            raise forms.ValidationError("An action needs an owner and a due date.")
        if not data.get("title") and (data.get("owner") or data.get("due_date")):
            raise forms.ValidationError("Say what the action is.")
        return data


ActionRows = forms.formset_factory(ActionRowForm, extra=3, max_num=20)


class HoldForm(forms.Form):
    held_at = forms.DateTimeField(label="Held at", **DATETIME)
    attended = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Who came"
    )
    guests = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Other people",
        help_text="One per line: “Name (vendor)” or “Name (customer)”.",
    )  # fmt: skip
    decisions = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Decisions"
    )

    def __init__(self, *args, review: Review, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault(
            "held_at", timezone.localtime().replace(second=0, microsecond=0)
        )
        super().__init__(*args, **kwargs)
        people = list(review.people.all())
        self.fields["attended"].choices = [
            (str(p.pk), f"{p.name} ({p.get_side_display().lower()})") for p in people
        ]
        self.fields["attended"].initial = [str(p.pk) for p in people]
        self.items = list(review.items.all())
        for item in self.items:
            self.fields[f"minutes_{item.pk}"] = forms.CharField(
                required=False, label=item.title, widget=forms.Textarea(attrs={"rows": 2})
            )

    def minutes(self) -> dict[int, str]:
        return {item.pk: self.cleaned_data.get(f"minutes_{item.pk}", "") for item in self.items}

    def minute_fields(self):
        return [(item, self[f"minutes_{item.pk}"]) for item in self.items]
