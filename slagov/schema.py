"""
The OpenAPI schema's shared parts: the error responses every operation can
give, added to what each operation declares. (Kept apart from slagov.api:
DRF imports the schema class while slagov.api loads.)
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from slagov import exports


class SometimesAbsent:
    """
    Serializer mixin: the fields named in SOMETIMES_ABSENT are left out of some
    responses (e.g. customer-only fields for a vendor's token), so the schema
    doesn't call them required.
    """

    SOMETIMES_ABSENT: tuple[str, ...] = ()


class SometimesAbsentExtension(OpenApiSerializerExtension):
    target_class = SometimesAbsent
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        absent = set(self.target.SOMETIMES_ABSENT)
        required = [name for name in schema.get("required", []) if name not in absent]
        if required:
            schema["required"] = required
        else:
            schema.pop("required", None)
        return schema


class ErrorSerializer(serializers.Serializer):
    """An error body: `{"detail": "…"}` (schema only)."""

    detail = serializers.CharField(help_text="What went wrong, in a sentence.")


FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "description": (
        "The request was refused: each key names the parameter or field at fault "
        "(`non_field_errors` for the whole body, `detail` for an unreadable body) "
        "with its messages."
    ),
    "additionalProperties": {},
}
ERROR_DESCRIPTIONS = {
    "400": "Invalid parameters or body.",
    "401": "No valid token or session.",
    "403": "The member's role may not do this.",
    "404": "No such organisation or object, or one the member may not see.",
    "429": "Too many requests for this token: retry after `Retry-After` seconds.",
}


EXPORT_FORMAT = OpenApiParameter(
    "format",
    str,
    OpenApiParameter.QUERY,
    enum=["json", *exports.FORMATS],
    description=(
        "`csv` or `xlsx`: every row the filters select (not one page; at most "
        f"{exports.EXPORT_MAX:,}, then a last row says the list was cut), as a file with "
        "the columns of the page's export. Numbers and dates are typed; text that a "
        "spreadsheet would run as a formula starts with an apostrophe."
    ),
)
EXPORT_CONTENT = {
    "text/csv": {"schema": {"type": "string", "description": "UTF-8 with a byte-order mark."}},
    exports.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
}


class ApiSchema(AutoSchema):
    """
    Adds the 400/401/403/404/429 responses an operation can give to what it
    declares, and to a list that exports (slagov.api.ExportableList) its
    `format` parameter and its files.
    """

    def _exports(self) -> bool:
        return getattr(self.view, "export", None) is not None and self._is_list_view()

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if self.method == "GET" and self._exports():
            parameters = [*parameters, EXPORT_FORMAT]
        return parameters

    def _error_ref(self, name: str, schema: dict) -> dict:
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
        )
        self.registry.register_on_missing(component)
        return component.ref

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = ["401", "404", "429"]
        writes = self.method not in {"GET", "HEAD", "OPTIONS"}
        if writes or self._is_list_view():
            codes.append("400")
        if writes:
            codes.append("403")
        if self.method == "GET" and self._exports() and "content" in responses.get("200", {}):
            responses["200"]["content"].update(EXPORT_CONTENT)
        for code in sorted(codes):
            if code in responses:
                continue
            ref = (
                self._error_ref("FieldErrors", FIELD_ERRORS_SCHEMA)
                if code == "400"
                else self.resolve_serializer(ErrorSerializer, "response").ref
            )
            responses[code] = {
                "content": {"application/json": {"schema": ref}},
                "description": ERROR_DESCRIPTIONS[code],
            }
        return dict(sorted(responses.items()))


def blank_or_format_as_any_of(result, generator, request, public):
    """
    A blank-able URL or e-mail is `oneOf: [{format: uri}, {maxLength: 0}]`: a
    validator that doesn't assert formats (most don't) finds "" matches both and
    refuses it. `anyOf` says the same and holds for every validator.
    """

    blank = {"type": "string", "maxLength": 0}

    def walk(node):
        if isinstance(node, dict):
            alternatives = node.get("oneOf")
            if isinstance(alternatives, list) and blank in alternatives:
                node["anyOf"] = node.pop("oneOf")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return result
