from __future__ import annotations

from django import forms
from django.utils import timezone

from escalations.models import EscalationStep, Recipient


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
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="How was it resolved?")


class StepForm(forms.ModelForm):
    recipients = forms.MultipleChoiceField(
        choices=Recipient.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = EscalationStep
        fields = ["condition", "state", "threshold", "level", "recipients", "due_hours", "action"]
        widgets = {"action": forms.TextInput()}

    def clean(self):
        data = super().clean()
        condition = data.get("condition")
        if condition == EscalationStep.Condition.STATE and not data.get("state"):
            self.add_error("state", "Say which state: yellow or worse, or red.")
        if condition != EscalationStep.Condition.STATE:
            data["state"] = ""
        needs_threshold = {EscalationStep.Condition.STATE, EscalationStep.Condition.FORECAST,
                           EscalationStep.Condition.DATA_LATE}  # fmt: skip
        if condition in needs_threshold and not data.get("threshold"):
            unit = "periods" if condition == EscalationStep.Condition.FORECAST else "days"
            self.add_error("threshold", f"How many {unit}? It must be at least 1.")
        level = data.get("level")
        if level is not None and level > 5:
            self.add_error("level", "Levels go from 0 (early warning) to 5.")
        return data


StepFormSet = forms.modelformset_factory(
    EscalationStep, form=StepForm, extra=1, can_delete=True, max_num=12
)
