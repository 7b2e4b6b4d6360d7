"""
Number fields for forms and the API that read only what `contracts.bounds`
calls a number: the digits 0-9 (never `NaN`, `Infinity`, full-width or
Arabic-Indic digits), finite, with at most the field's decimals; `-0` is 0.
The range of each field is the service's rule, checked after these.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import DecimalValidator
from django.db import models
from rest_framework import serializers

from contracts import bounds


def _text_check(value, *, integer: bool) -> None:
    if isinstance(value, str) and (problem := bounds.number_text_problem(value, integer=integer)):
        raise ValidationError(problem, code="invalid")


class NumberField(forms.DecimalField):
    """A decimal as a person types it (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The decimals are checked here with a plain message; the size is the service's rule.
        self.validators = [v for v in self.validators if not isinstance(v, DecimalValidator)]

    def prepare_value(self, value):
        # 10 is shown as 10, never 1E+1.
        return bounds.plain(value) if isinstance(value, Decimal) and value.is_finite() else value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        _text_check(str(value) if not isinstance(value, Decimal | int) else value, integer=False)
        return bounds.normalise(super().to_python(value))

    def validate(self, value):
        super().validate(value)
        if value is not None and (
            problem := bounds.decimals_problem(value, self.decimal_places or bounds.DECIMALS)
        ):
            raise ValidationError(problem, code="max_decimal_places")


class WholeNumberField(forms.IntegerField):
    """A whole number written with the digits 0-9."""

    def to_python(self, value):
        if value not in self.empty_values:
            _text_check(str(value), integer=True)
        return super().to_python(value)


class ApiDecimalField(serializers.DecimalField):
    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        try:
            _text_check(data, integer=False)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return bounds.normalise(super().to_internal_value(data))


class ApiIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or (isinstance(data, float) and not data.is_integer()):
            self.fail("invalid")
        try:
            _text_check(data, integer=True)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return super().to_internal_value(data)


# `serializer_field_mapping` for a ModelSerializer whose numbers come from people.
API_FIELD_MAPPING = {
    **serializers.ModelSerializer.serializer_field_mapping,
    models.DecimalField: ApiDecimalField,
    models.IntegerField: ApiIntegerField,
    models.SmallIntegerField: ApiIntegerField,
    models.PositiveIntegerField: ApiIntegerField,
    models.PositiveSmallIntegerField: ApiIntegerField,
    models.BigIntegerField: ApiIntegerField,
}
