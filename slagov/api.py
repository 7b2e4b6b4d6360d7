"""
API plumbing shared by every app: token authentication, tenant-scoped views,
and service errors as 400s.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from operator import attrgetter

from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models.manager import BaseManager
from django_scopes.state import get_scope
from django_scopes.state import state as scope_state
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, viewsets
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from slagov import exports
from slagov.filters import ASCII_DIGITS, BIGINT_MAX, parse_digits
from slagov.models import ApiToken
from slagov.tenancy import Tenant, resolve_tenant


class TokenAuthScheme(OpenApiAuthenticationExtension):
    target_class = "slagov.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token slg_…` — created by an organisation admin for one membership.",
        }


ORG_SLUG_PARAMETER = OpenApiParameter(
    "org_slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="Organisation slug."
)


@extend_schema(parameters=[ORG_SLUG_PARAMETER])
class TenantAPIView(APIView):
    """
    Base for every organisation API view. The tenant is resolved after DRF has
    authenticated the request; until then the request runs in an empty scope,
    so any tenant-owned query fails closed.
    """

    tenant: Tenant

    def dispatch(self, request, *args, **kwargs):
        token = scope_state.set({**get_scope(), "_enabled": True})
        try:
            response = super().dispatch(request, *args, **kwargs)
            # Render in the scope: the browsable API builds its forms (a vendor
            # choice, the filters) while rendering, after the view returned.
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            return response
        finally:
            scope_state.reset(token)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        tenant = resolve_tenant(request.user, kwargs["org_slug"])
        auth = request.auth
        if isinstance(auth, ApiToken) and auth.organization_id != tenant.organization.pk:
            # A token is good for its own organisation only.
            raise exceptions.NotFound("No such organisation.")
        self.tenant = tenant
        scope_state.set(
            {"_enabled": True, "organization": tenant.organization.pk, "vendor": tenant.vendor_id}
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["tenant"] = getattr(self, "tenant", None)
        return context


@contextmanager
def service_errors() -> Iterator[None]:
    """
    A service's ValidationError becomes a 400 with its messages, not a 500: per
    field where the service named fields, else under `non_field_errors` (a body
    is always an object, as the schema says).
    """
    try:
        yield
    except DjangoValidationError as exc:
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        raise serializers.ValidationError(detail) from None


@extend_schema_field(OpenApiTypes.INT)
class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A choice among the rows visible in the request's scope, resolved when validating."""

    def __init__(self, model, **kwargs):
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.model.objects.all()


# Fields that read their value themselves (DRF's rules for related and method fields).
FIELD_READS = (
    serializers.RelatedField,
    serializers.ManyRelatedField,
    serializers.SerializerMethodField,
)


def _pk_column(field, instance) -> str | None:
    """The column holding the id a PrimaryKeyRelatedField shows, when it reads one directly."""
    if len(field.source_attrs) != 1 or field.pk_field is not None:
        return None
    try:
        model_field = instance._meta.get_field(field.source_attrs[0])
    except (AttributeError, FieldDoesNotExist):
        return None
    return model_field.attname if model_field.many_to_one or model_field.one_to_one else None


class PreparedListSerializer(serializers.ListSerializer):
    """
    A page of rows serialised exactly as DRF's ListSerializer would, with each
    field's reader prepared once for the page instead of looked up per row and
    per field: a model field or a path through loaded relations is read with one
    `attrgetter`, a foreign key's id from its column. Anything else (a method
    field, a missing relation, a callable) is read by the field itself, as DRF
    does. A child with `finish_row(instance, data)` adjusts each row after.
    """

    def _plan(self, first) -> list[tuple]:
        """Per field: its name, the field, and a reader of the value (None: the field reads it)."""
        plan = []
        for field in self.child._readable_fields:
            read = None
            if isinstance(field, serializers.PrimaryKeyRelatedField):
                column = _pk_column(field, first)
                read = column and (True, attrgetter(column))
            elif field.source != "*" and not isinstance(field, FIELD_READS):
                read = (False, attrgetter(".".join(field.source_attrs)))
            plan.append((field.field_name, field, read))
        return plan

    def to_representation(self, data):
        rows = data.all() if isinstance(data, BaseManager) else data
        rows = rows if isinstance(rows, list) else list(rows)
        if not rows:
            return []
        plan = self._plan(rows[0])
        finish = getattr(self.child, "finish_row", None)
        result = []
        for row in rows:
            item = {}
            for name, field, read in plan:
                if read is not None:
                    is_id, reader = read
                    try:
                        value = reader(row)
                    except (AttributeError, ObjectDoesNotExist):
                        pass  # a missing link: the field decides (None, its default, absent)
                    else:
                        if not callable(value) and not isinstance(value, BaseManager):
                            # An id shows as it is (a PrimaryKeyRelatedField's representation).
                            as_is = is_id or value is None
                            item[name] = value if as_is else field.to_representation(value)
                            continue
                try:
                    value = field.get_attribute(row)
                except SkipField:
                    continue
                check = value.pk if isinstance(value, PKOnlyObject) else value
                item[name] = None if check is None else field.to_representation(value)
            result.append(finish(row, item) if finish is not None else item)
        return result


class TenantViewSet(TenantAPIView, viewsets.GenericViewSet):
    """A generic viewset whose queryset comes from the scoped managers."""

    def get_object(self):
        # An id is ASCII digits: int("٣") is 3, which would name another row.
        value = str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, ""))
        if not ASCII_DIGITS.fullmatch(value) or parse_digits(value) > BIGINT_MAX:
            raise exceptions.NotFound()
        return super().get_object()

    def _require_visible_object(self, kwargs) -> None:
        # An object the member can't see is a 404 whatever the method.
        if (self.lookup_url_kwarg or self.lookup_field) in kwargs:
            self.get_object()

    def http_method_not_allowed(self, request, *args, **kwargs):
        self._require_visible_object(kwargs)
        return super().http_method_not_allowed(request, *args, **kwargs)

    def options(self, request, *args, **kwargs):
        self._require_visible_object(kwargs)
        return super().options(request, *args, **kwargs)


class ExportableList:
    """
    A list endpoint that also answers `?format=csv|xlsx` with every row its
    filters select (not one page, up to `exports.EXPORT_MAX`), in the columns
    of `export`: the file its page exports. Put it before the list mixin.
    Another `format` is DRF's: `json`, `api`, else a 404.
    """

    export: exports.Export

    def perform_content_negotiation(self, request, force=False):
        if getattr(self, "action", None) == "list" and exports.requested_format(request):
            # DRF has no renderer for these (it would answer 404): what is negotiated
            # here renders only an error; the list itself answers with the file.
            renderer = JSONRenderer()
            return renderer, renderer.media_type
        return super().perform_content_negotiation(request, force)

    def export_queryset(self):
        """The rows to export, before the filters (by default, the list's)."""
        return self.get_queryset()

    def export_response(self, fmt: str):
        return self.export.response(fmt, self.filter_queryset(self.export_queryset()))

    def list(self, request, *args, **kwargs):
        if fmt := exports.requested_format(request):
            return self.export_response(fmt)
        return super().list(request, *args, **kwargs)
