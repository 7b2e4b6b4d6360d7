"""Small helpers every app's page views share."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.urls import reverse


def post_only(request: HttpRequest) -> HttpResponse | None:
    """A 405 for anything but POST (the caller returns it), else None."""
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])


def errors_to_forms(exc: ValidationError, *forms) -> None:
    """
    A service's ValidationError on the forms: each field's errors on the form that has
    that field, the rest (and errors for no field) on the first form.
    """
    by_field = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, errors in by_field.items():
        target = next((f for f in forms if field in f.fields), None)
        for error in errors:
            if target is not None:
                target.add_error(field, error)
            else:
                forms[0].add_error(None, error)


def render_page(request: HttpRequest, template: str, context: dict, partial: str | None = None):
    """The whole page, or only its named partial for an htmx request."""
    if partial and request.htmx and not request.htmx.boosted:
        template = f"{template}#{partial}"
    return render(request, template, context)


class IdUrl:
    """
    The URL of one named route for many ids, reversed once: a long list builds
    each row's link by putting the id between the same head and tail instead of
    resolving the route again per row (`url_of` in the templates). Equal to
    `reverse(name, kwargs={**kwargs, id_kwarg: id})` for every id.
    """

    _MARK = 987654321987654321  # an id no route holds as a literal
    do_not_call_in_templates = True  # templates pass it to `url_of`

    def __init__(self, name: str, id_kwarg: str, **kwargs) -> None:
        url = reverse(name, kwargs={**kwargs, id_kwarg: self._MARK})
        self.head, _, self.tail = url.partition(str(self._MARK))

    def __call__(self, pk) -> str:
        return f"{self.head}{int(pk)}{self.tail}"
