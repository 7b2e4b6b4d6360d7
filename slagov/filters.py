"""
Numbers in query strings, read one way everywhere: ASCII digits 0-9, or the
parameter is refused (a 400 naming it on the API, a form error on a page).

`str.isdigit()`, `int()` and `Decimal()` all accept other scripts' digits:
`int("٣")` is 3 and `"²".isdigit()` is true, so a client's typo could select
another row, or reach the database as something it can't compare. Every
filterset of the project derives from `FilterSet` below (the API's filter
backend refuses any other), and the API's pagination parses `limit` and
`offset` with `parse_digits`. Dates are read one way too: YYYY-MM-DD, inside
the years the product knows (`contracts.periods.query_day_problem`).
"""

from __future__ import annotations

import re
from datetime import date

import django_filters
from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.forms.models import ModelChoiceIterator, ModelChoiceIteratorValue
from django.forms.utils import flatatt
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django_filters.rest_framework import DjangoFilterBackend

from contracts import periods

ASCII_DIGITS = re.compile(r"[0-9]+")  # not \d: that matches every script's digits
BIGINT_MAX = 2**63 - 1  # the largest id (and LIMIT/OFFSET) PostgreSQL takes
DIGITS_MESSAGE = "A whole number written with the digits 0-9."


def parse_digits(text: str) -> int:
    """
    A non-negative whole number in ASCII digits; ValueError otherwise. A number
    past BIGINT_MAX comes back as BIGINT_MAX + 1 without converting every digit
    (callers cap it or refuse it).
    """
    if not ASCII_DIGITS.fullmatch(text):
        raise ValueError(DIGITS_MESSAGE)
    digits = text.lstrip("0") or "0"
    return int(digits) if len(digits) <= 19 else BIGINT_MAX + 1


class IdField(forms.IntegerField):
    """An id or count in a query string: ASCII digits, within the database's range."""

    default_error_messages = {
        "invalid": DIGITS_MESSAGE,
        "too_large": f"At most {BIGINT_MAX}.",
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            number = parse_digits(str(value))
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if number > BIGINT_MAX:
            raise ValidationError(self.error_messages["too_large"], code="too_large")
        return number


class _ByIdMixin:
    """A model choice named by its integer primary key: ASCII digits, or not a choice."""

    def _check_key(self, value):
        if value in self.empty_values or self.to_field_name:
            return
        if getattr(self, "null_label", None) is not None and value == self.null_value:
            return
        text = str(value.pk if hasattr(value, "pk") else value)
        if not ASCII_DIGITS.fullmatch(text) or len(text.lstrip("0")) > 19:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")


class _LabelColumns(ModelChoiceIterator):
    """
    The choices of a model that names the columns its label is made of
    (`LABEL_COLUMNS`, `label_of`): read as values, without building a model per
    row (a filter offering thousands of contracts). The same (id, label) pairs as
    Django's iterator; any other model or label is Django's.
    """

    def __iter__(self):
        model = self.queryset.model
        columns = getattr(model, "LABEL_COLUMNS", None)
        plain_label = (
            getattr(self.field.label_from_instance, "__func__", None)
            is forms.ModelChoiceField.label_from_instance
        )
        if columns is None or not plain_label or self.queryset._prefetch_related_lookups:
            yield from super().__iter__()
            return
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for pk, *values in self.queryset.values_list("pk", *columns):
            yield ModelChoiceIteratorValue(pk, None), model.label_of(*values)


class LabelColumnsIterator(django_filters.fields.ModelChoiceIterator, _LabelColumns):
    """django-filter's iterator (its null choice) over `_LabelColumns`."""


class ModelChoiceByIdField(_ByIdMixin, django_filters.fields.ModelChoiceField):
    iterator = LabelColumnsIterator

    def to_python(self, value):
        self._check_key(value)
        return super().to_python(value)


class ModelMultipleChoiceByIdField(_ByIdMixin, django_filters.fields.ModelMultipleChoiceField):
    def _check_values(self, value):
        for item in value:
            self._check_key(item)
        return super()._check_values(value)


ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DAY_MESSAGE = "A date written YYYY-MM-DD with the digits 0-9, e.g. 2026-10-01."


class DayField(forms.DateField):
    """A date in a query string: YYYY-MM-DD in ASCII digits, in the years the product knows."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not ISO_DAY.fullmatch(text):
            raise ValidationError(DAY_MESSAGE, code="invalid")
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValidationError(DAY_MESSAGE, code="invalid") from None
        if problem := periods.query_day_problem(day):
            raise ValidationError(problem, code="invalid")
        return day


# Filter class → the field that reads its value strictly. A subclass of one of
# these filters gets the same field.
STRICT_FIELDS = {
    django_filters.NumberFilter: IdField,
    django_filters.DateFilter: DayField,
    django_filters.ModelChoiceFilter: ModelChoiceByIdField,
    django_filters.ModelMultipleChoiceFilter: ModelMultipleChoiceByIdField,
}


class QuickSelect(forms.Select):
    """
    A select that writes its options itself instead of rendering a template per
    option: a filter offering every contract (thousands) renders in a fraction of
    the time. The same HTML as `forms.Select` for a single choice without groups.
    """

    def render(self, name, value, attrs=None, renderer=None):
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        chosen = {str(v) for v in self.format_value(value)}
        options = []
        for v, label in self.choices:
            text = str(v)
            selected = " selected" if text in chosen else ""
            options.append(
                f'<option value="{conditional_escape(text)}"{selected}>'
                f"{conditional_escape(label)}</option>"
            )
        return format_html("<select{}>{}</select>", flatatt(final), mark_safe("".join(options)))  # noqa: S308


class FilterSet(django_filters.FilterSet):
    """
    The base of every filterset: a number filter takes ASCII digits only (the
    project's number filters all name ids or levels), a model choice only its
    id in ASCII digits.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for filter_ in self.filters.values():
            for filter_class, field_class in STRICT_FIELDS.items():
                if isinstance(filter_, filter_class):
                    filter_.field_class = field_class
                    break


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter for the API, refusing a filterset that reads numbers loosely."""

    filterset_base = FilterSet

    def get_filterset_class(self, view, queryset=None):
        filterset_class = super().get_filterset_class(view, queryset)
        if filterset_class is not None and not issubclass(filterset_class, FilterSet):
            raise ImproperlyConfigured(
                f"{filterset_class.__name__} must derive from slagov.filters.FilterSet."
            )
        return filterset_class
