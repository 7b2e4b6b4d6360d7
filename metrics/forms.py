"""Forms of the metrics pages: a reading entered by hand."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django_scopes.forms import SafeModelChoiceField

from contracts import periods
from contracts.models import ServiceLevel, Vendor
from metrics.ingest import files
from metrics.services import reading_period_validate, reading_value_validate
from slagov.numbers import NumberField


class ReadingForm(forms.Form):
    period = forms.CharField(
        max_length=20, help_text="2026-10 for a month, 2026-W42 for a week, or any date inside it."
    )
    value = NumberField(max_digits=18, decimal_places=6)
    note = forms.CharField(
        max_length=500, required=False, help_text="Required when you correct an existing value."
    )

    def __init__(self, *args, service_level: ServiceLevel, **kwargs):
        super().__init__(*args, **kwargs)
        self.service_level = service_level

    def clean_period(self):
        try:
            start = periods.parse_period(self.cleaned_data["period"], self.service_level.period)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        try:
            reading_period_validate(service_level=self.service_level, period_start=start)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["period"]) from None
        return start

    def clean_value(self):
        value = self.cleaned_data["value"]
        try:
            reading_value_validate(service_level=self.service_level, value=value)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["value"]) from None
        return value


class UploadForm(forms.Form):
    vendor = SafeModelChoiceField(queryset=Vendor.objects.none(), empty_label=None)
    file = forms.FileField(help_text="CSV or Excel (.xlsx), at most 10 MB and 100,000 rows.")

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vendor"].queryset = Vendor.objects.order_by("name")
        if tenant.is_vendor:
            self.fields["vendor"].widget = forms.HiddenInput()
            self.fields["vendor"].initial = tenant.vendor_id

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > files.MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:.1f} MB; the limit is "
                f"{files.MAX_BYTES // 1024 // 1024} MB."
            )
        ext = files.extension_of(upload.name)
        if ext not in files.CSV_EXTENSIONS | files.XLSX_EXTENSIONS:
            raise forms.ValidationError(
                f"{upload.name}: upload a .csv or .xlsx file (this is {ext or 'no extension'})."
            )
        return upload
