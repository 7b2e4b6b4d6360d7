from __future__ import annotations

from django import forms
from django.utils import timezone

from escalations.models import EscalationStep, Recipient
from escalations.policy_services import step_errors
from slagov.numbers import WholeNumberField


class MeetingForm(forms.Form):
    held_at = forms.DateTimeField(
        label="Held at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )
    attendees = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Both sides, one person per line (e.g. “Bob Brennan (Northwind)”).",
    )
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="What was agreed."
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault(
            "held_at", timezone.localtime().replace(second=0, microsecond=0)
        )
        super().__init__(*args, **kwargs)


class ResolveForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why resolve it?",
        help_text="What was done, or why the risk is accepted for now.",
    )
    quiet_until = forms.DateField(
        required=False,
        label="Quiet until",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        help_text="The rules keep quiet while it is no worse than now: until this day, or "
        "(left empty) until it gets worse or is back to green.",
    )


class StepForm(forms.ModelForm):
    recipients = forms.MultipleChoiceField(
        choices=Recipient.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = EscalationStep
        fields = ["condition", "state", "threshold", "level", "recipients", "due_hours", "action"]
        widgets = {"action": forms.TextInput()}
        field_classes = {
            "threshold": WholeNumberField, "level": WholeNumberField, "due_hours": WholeNumberField,
        }  # fmt: skip

    def clean(self):
        data = super().clean()
        for field, message in step_errors(data).items():
            self.add_error(field, message)
        return data


StepFormSet = forms.modelformset_factory(
    EscalationStep, form=StepForm, extra=1, can_delete=True, max_num=12
)
