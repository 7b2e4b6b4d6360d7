"""
The one place that decides visibility.

Every organisation URL carries the tenant (`/o/<org_slug>/…`,
`/api/v1/o/<org_slug>/…`). The tenant is resolved once per request from the
user's active membership; a non-member gets a 404. The view then runs inside a
django-scopes scope with two dimensions:

- `organization`: always the request's organisation;
- `vendor`: the vendor of a vendor user, or None (no vendor filter) for
  customer-side roles.

Tenant-owned models use `ScopedManager(organization=…, vendor=…)`, so a query
made outside a scope raises ScopeError instead of leaking, and a query made
inside one only ever sees rows the member may see. A row the member can't see
is therefore indistinguishable from a row that doesn't exist: a 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest
from django_scopes import scope, scopes_disabled
from django_scopes.manager import ScopedManager

from slagov.models import Membership, Organization

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def TenantManager(  # noqa: N802 (factory, like ScopedManager)
    vendor: str | None = None, manager_class: type[models.Manager] = models.Manager
) -> models.Manager:
    """
    Manager for a tenant-owned model. `vendor` is the lookup path from the model
    to its Vendor's primary key (e.g. "contract__vendor"); omit it for rows that
    are not vendor-specific (they are still filtered by organisation, and views
    decide whether a vendor user may see them at all). `manager_class`: a
    model's own manager methods, scoped the same way.
    """
    if vendor is None:
        return ScopedManager(manager_class, organization="organization")
    return ScopedManager(manager_class, organization="organization", vendor=vendor)


@dataclass(frozen=True)
class Tenant:
    """What the current request may see: one organisation, one membership."""

    organization: Organization
    membership: Membership

    @property
    def slug(self) -> str:
        return self.organization.slug

    @property
    def role(self) -> str:
        return self.membership.role

    @property
    def vendor_id(self) -> int | None:
        return self.membership.vendor_id

    @property
    def is_vendor(self) -> bool:
        return self.membership.is_vendor

    @property
    def can_manage(self) -> bool:
        return self.membership.can_manage

    @property
    def is_admin(self) -> bool:
        return self.membership.is_admin

    @property
    def can_upload(self) -> bool:
        """Vendor users upload data for their vendor; admins and account managers for any."""
        return self.is_vendor or self.can_manage

    @property
    def user(self):
        return self.membership.user

    def require_manage(self) -> None:
        """For write actions on objects the member can already see: 403 is honest here."""
        if not self.can_manage:
            raise PermissionDenied("Only admins and account managers can change this.")

    def require_uploader(
        self, *, message: str = "Only vendor users and account managers upload data."
    ) -> None:
        if not self.can_upload:
            raise PermissionDenied(message)

    def require_admin(self) -> None:
        if not self.is_admin:
            raise PermissionDenied("Only organisation admins can change this.")

    def require_customer_side(self) -> None:
        if self.is_vendor:
            raise PermissionDenied("Vendor users can't do this.")

    @contextmanager
    def activate(self) -> Iterator[None]:
        with scope(organization=self.organization.pk, vendor=self.vendor_id):
            yield


def resolve_tenant(user: AbstractBaseUser, org_slug: str) -> Tenant:
    """The user's active membership in the organisation, or 404 (one query)."""
    if not user.is_authenticated:
        raise Http404("No such organisation.")
    membership = (
        Membership.objects.select_related("organization", "vendor", "user")
        .filter(user=user, organization__slug=org_slug, is_active=True)
        .first()
    )
    if membership is None:
        raise Http404("No such organisation.")
    return Tenant(organization=membership.organization, membership=membership)


@contextmanager
def tenant_scope(organization: Organization | int) -> Iterator[None]:
    """Customer-side scope for one organisation (workers, commands, services)."""
    org_id = organization if isinstance(organization, int) else organization.pk
    with scope(organization=org_id, vendor=None):
        yield


# Keywords a per-tenant entry point may name its organisation by: the id, the
# organisation, or any row of it.
_TENANT_KEYWORDS = ("organization_id", "organization", "vendor", "contract", "service_level",
                    "submission", "review", "escalation")  # fmt: skip


def _organization_of(kwargs: dict) -> int:
    for name in _TENANT_KEYWORDS:
        if name in kwargs and kwargs[name] is not None:
            value = kwargs[name]
            if name == "organization_id":
                return int(value)
            return value.pk if name == "organization" else value.organization_id
    raise TypeError(f"a tenant's entry point names its organisation: one of {_TENANT_KEYWORDS}")


def in_tenant_scope(function):
    """
    Run a per-tenant service or worker entry point inside its organisation's
    scope (customer side: every vendor of it), the organisation taken from its
    keyword arguments. Called from a page, the scope is the page's organisation
    (and a vendor user's pages stay limited by the page's own lookups); called
    from a cross-tenant sweep, it narrows the sweep to this tenant.
    """

    @wraps(function)
    def scoped(*args, **kwargs):
        with tenant_scope(_organization_of(kwargs)):
            return function(*args, **kwargs)

    return scoped


def tenant_of(model: type[models.Model], pk) -> int | None:
    """
    The organisation a row belongs to, by its id alone (a task given an id, a
    signed link): read without a scope so that its tenant's scope can be
    entered. Nothing else of the row is read here.
    """
    return model._base_manager.filter(pk=pk).values_list("organization_id", flat=True).first()


def in_scope_of_row(model: type[models.Model], keyword: str):
    """
    Run an entry point that is given a row's id (`keyword`) inside the scope
    of the row's organisation; with no such row, outside any tenant (the
    function finds nothing, as with any other id that isn't there).
    """

    def decorate(function):
        @wraps(function)
        def scoped(*args, **kwargs):
            organization_id = tenant_of(model, kwargs[keyword])
            with tenant_scope(organization_id if organization_id is not None else 0):
                return function(*args, **kwargs)

        return scoped

    return decorate


LAST_ORG_COOKIE = "slagov_org"
LAST_ORG_MAX_AGE = 365 * 24 * 3600


def _is_api_view(view_func) -> bool:
    from rest_framework.views import APIView

    cls = getattr(view_func, "cls", None)
    return isinstance(cls, type) and issubclass(cls, APIView)


class TenantMiddleware:
    """
    Resolves `org_slug` for page views and runs the view inside the tenant's
    scope. API views resolve the tenant themselves, after DRF authentication
    (see slagov.api.TenantAPIView), because a token user is only known then.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        org_slug = view_kwargs.get("org_slug")
        if org_slug is None or _is_api_view(view_func):
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        tenant = resolve_tenant(request.user, org_slug)
        request.tenant = tenant
        with tenant.activate():
            # Views render eagerly (render(), not TemplateResponse), so every
            # query happens inside the scope.
            response = view_func(request, *view_args, **view_kwargs)
        if request.COOKIES.get(LAST_ORG_COOKIE) != tenant.slug:
            # Where `home` takes a member of several organisations next time.
            response.set_cookie(LAST_ORG_COOKIE, tenant.slug, max_age=LAST_ORG_MAX_AGE,
                                httponly=True, samesite="Lax",
                                secure=settings.SESSION_COOKIE_SECURE)  # fmt: skip
        return response


class AdminScopeMiddleware:
    """The Django admin is an operator's tool: it filters by tenant itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.path.startswith("/admin/"):
            with scopes_disabled():
                return self.get_response(request)
        return self.get_response(request)


def memberships_for(user) -> list[Membership]:
    """The organisations a user can switch between."""
    if not user.is_authenticated:
        return []
    return list(
        Membership.objects.select_related("organization", "vendor")
        .filter(user=user, is_active=True)
        .order_by("organization__name")
    )
