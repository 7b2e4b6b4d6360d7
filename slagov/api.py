"""API plumbing shared by every app: token authentication and tenant-scoped views."""

from __future__ import annotations

from django_scopes.state import get_scope
from django_scopes.state import state as scope_state
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, viewsets
from rest_framework.views import APIView

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
            return super().dispatch(request, *args, **kwargs)
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


@extend_schema_field(OpenApiTypes.INT)
class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A choice among the rows visible in the request's scope, resolved when validating."""

    def __init__(self, model, **kwargs):
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.model.objects.all()


class TenantViewSet(TenantAPIView, viewsets.GenericViewSet):
    """A generic viewset whose queryset comes from the scoped managers."""

    def http_method_not_allowed(self, request, *args, **kwargs):
        # An object the member can't see is a 404 whatever the method: look it
        # up before saying the method isn't allowed.
        if (self.lookup_url_kwarg or self.lookup_field) in kwargs:
            self.get_object()
        return super().http_method_not_allowed(request, *args, **kwargs)
