"""
Pages of every API list: `limit` and `offset` in ASCII digits or a 400 naming
the parameter; at most MAX_PAGE rows a page. (Kept apart from slagov.api:
DRF's generic views import the pagination class while slagov.api loads.)
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.pagination import LimitOffsetPagination

from slagov.filters import BIGINT_MAX, DIGITS_MESSAGE, parse_digits

MAX_PAGE = 1000  # rows per page at most, whatever `limit` asks for


class CappedPagination(LimitOffsetPagination):
    """
    `limit` (default PAGE_SIZE, at most MAX_PAGE: a larger one is read as MAX_PAGE)
    and `offset`, both ASCII digits or a 400 naming the parameter.
    """

    max_limit = MAX_PAGE

    def _read(self, request, name: str) -> int | None:
        text = request.query_params.get(name)
        if text is None or text == "":
            return None
        try:
            return parse_digits(text)
        except ValueError:
            raise exceptions.ValidationError({name: [DIGITS_MESSAGE]}) from None

    def get_limit(self, request):
        limit = self._read(request, self.limit_query_param)
        if limit is None:
            return self.default_limit
        if limit < 1:
            raise exceptions.ValidationError({self.limit_query_param: ["At least 1."]})
        return min(limit, self.max_limit)

    def get_offset(self, request):
        # Past the last row the page is empty, and no query is made.
        return min(self._read(request, self.offset_query_param) or 0, BIGINT_MAX)

    def paginate_queryset(self, queryset, request, view=None):
        # A view with `page_slice(queryset, offset, limit)` reads its page its own way
        # (in the same order, without sorting every row); the rest is DRF's.
        page_slice = getattr(view, "page_slice", None)
        if page_slice is None:
            return super().paginate_queryset(queryset, request, view)
        self.request = request
        self.limit = self.get_limit(request)
        self.count = self.get_count(queryset)
        self.offset = self.get_offset(request)
        if self.count > self.limit and self.template is not None:
            self.display_page_controls = True
        if self.count == 0 or self.offset > self.count:
            return []
        return page_slice(queryset, self.offset, self.limit)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": self.max_limit},
            self.offset_query_param: {"minimum": 0},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
            if parameter["name"] == self.limit_query_param:
                parameter["description"] = (
                    f"Rows per page (default {self.default_limit}, at most {self.max_limit})."
                )
        return parameters
