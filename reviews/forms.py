"""Forms of the review pages: they take input; the rules are the services'."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from contracts import periods
from contracts.models import Contract, ServiceLevel
from escalations.models import Escalation
from reviews import actions, vendor_warnings
from reviews.models import Review, VendorWarning
from slagov import formatting
from slagov.filters import ModelChoiceByIdField
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


class CommentForm(forms.Form):
    text = forms.CharField(
        label="Comment", widget=forms.Textarea(attrs={"rows": 3}),
        max_length=actions.TEXT_MAX, help_text="Both sides see it.",
    )  # fmt: skip


class ActionItemForm(forms.Form):
    title = forms.CharField(max_length=actions.TITLE_MAX, help_text="What has to be done.")
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=actions.TEXT_MAX
    )
    owner = forms.ChoiceField(help_text="Someone of either side: they get the reminders.")
    due_date = forms.DateField(
        label="Due date",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        help_text="A reminder goes out three days before; a notice once it is overdue.",
    )
    service_level = ModelChoiceByIdField(
        queryset=ServiceLevel.objects.none(), required=False, label="SLA"
    )
    review = ModelChoiceByIdField(queryset=Review.objects.none(), required=False)
    escalation = ModelChoiceByIdField(queryset=Escalation.objects.none(), required=False)
    warning = ModelChoiceByIdField(
        queryset=VendorWarning.objects.none(), required=False, label="Vendor warning"
    )

    LINKS = ("service_level", "review", "escalation", "warning")

    def __init__(self, *args, organization, contract: Contract, links: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not links:  # editing: an owner left empty stays who it is
            self.fields["owner"].required = False
        self.owners = {
            str(m.user_id): m
            for m in actions.owner_memberships(organization_id=organization.pk, contract=contract)
        }
        self.fields["owner"].choices = [("", "—"), *(
            (key, actions.owner_label(m)) for key, m in self.owners.items()
        )]  # fmt: skip
        if not links:
            for name in self.LINKS:
                del self.fields[name]
            return
        self.fields["service_level"].queryset = ServiceLevel.objects.filter(
            contract=contract
        ).order_by("code")
        self.fields["service_level"].label_from_instance = lambda s: f"{s.code} · {s.name}"
        self.fields["review"].queryset = Review.objects.filter(contract=contract).order_by(
            "-scheduled_at"
        )
        self.fields["review"].label_from_instance = lambda r: (
            f"{r.get_kind_display()} on {formatting.day(r.scheduled_at)}"
        )
        self.fields["escalation"].queryset = (
            Escalation.objects.filter(contract=contract)
            .select_related("service_level")
            .order_by("-opened_at")
        )
        self.fields["escalation"].label_from_instance = lambda e: (
            f"#{e.pk} level {e.level} · {e.service_level.code} ({e.get_state_display()})"
        )
        self.fields["warning"].queryset = VendorWarning.objects.filter(contract=contract).order_by(
            "-raised_at"
        )
        self.fields["warning"].label_from_instance = lambda w: (
            f"{w.title} ({w.get_state_display()})"
        )

    def clean_owner(self):
        membership = self.owners.get(self.cleaned_data["owner"])
        return membership.user if membership else None


class WarningForm(forms.Form):
    title = forms.CharField(
        max_length=vendor_warnings.TITLE_MAX, help_text="What is at risk, in a line."
    )
    impact = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=vendor_warnings.TEXT_MAX,
        label="Expected impact", help_text="What it will do to the service, and how much.",
    )  # fmt: skip
    period_from = forms.CharField(max_length=40, label="From period")
    period_to = forms.CharField(
        max_length=40, required=False, label="To period", help_text="Empty: not known yet."
    )
    mitigation = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False,
        max_length=vendor_warnings.TEXT_MAX, help_text="What you are doing about it.",
    )  # fmt: skip
    attachment = forms.FileField(
        required=False,
        help_text=vendor_warnings.ATTACHMENT_HELP,
        widget=forms.ClearableFileInput(
            attrs={"accept": ",".join(vendor_warnings.ATTACHMENT_KINDS)}
        ),
    )

    def __init__(self, *args, sla, **kwargs):
        super().__init__(*args, **kwargs)
        current = periods.period_start(timezone.localdate(), sla.period)
        example = periods.period_label(current, sla.period)
        self.fields["period_from"].help_text = (
            f"This SLA is measured {sla.get_period_display().lower()}: write {example}, "
            "or a date inside the period."
        )
        self.fields["period_from"].widget.attrs["placeholder"] = example
        self.fields["period_to"].widget.attrs["placeholder"] = example


class AnswerForm(forms.Form):
    answer = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=vendor_warnings.TEXT_MAX,
        label="Your answer", help_text="The vendor sees it: what you will do with the warning.",
    )  # fmt: skip
