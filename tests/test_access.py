"""
Every URL pattern of the project, requested as every role with ids of objects
the requester must not see: always 404 (302 to the login page, or 401/403 on
the API, for anonymous users). A new URL pattern that this test can't fill in
fails it, so nothing is added unchecked.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.conftest import Side, World

# Patterns outside any organisation. Each must be harmless without a tenant.
NON_TENANT = {
    "home",
    "organizations",
    "healthz",
    "login",
    "logout",
    "api-schema",
    "api-docs",
    "api-redoc",
    "escalation_ack",  # the token decides: see tests/test_escalations.py
    "invitation",  # the signed token decides: see tests/test_members.py
    "account",  # a person's own name: tests/test_accounts.py
}

# URL kwarg (or API basename for `pk`) → the object of a Side it names.
KWARG_OBJECTS = {
    "vendor_id": "vendor",
    "contract_id": "contract",
    "sla_id": "sla",
    "reading_id": "reading",
    "contact_id": "contact",
    "token_id": "token",
    "submission_id": "submission",
    "escalation_id": "escalation",
    "review_id": "review",
    "item_id": "action_item",
    "warning_id": "warning",
    "membership_id": "membership",
    "invitation_id": "invitation",
    "notification_id": "notification",
    "entry_id": "credit_entry",
}
# URL kwargs that name no object (a month's report): one value for every side.
KWARG_VALUES = {"month": "2026-01"}
API_PK_OBJECTS = {
    "api:vendor": "vendor",
    "api:contract": "contract",
    "api:sla": "sla",
    "api:reading": "reading",
    "api:submission": "submission",
    "api:trend": "sla",
    "api:escalation": "escalation",
    "api:policy": "policy",
    "api:review": "review",
    "api:action-item": "action_item",
    "api:vendor-warning": "warning",
    "api:member": "membership",
    "api:invitation": "invitation",
    "api:credit-ledger": "credit_entry",
    "api:governance-health": "contract",
}


@dataclass(frozen=True)
class Route:
    name: str
    kwargs: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        return self.name.startswith("api:")

    @property
    def names_objects(self) -> bool:
        """Does the URL name an object (another tenant's or vendor's ids can be put in)?"""
        return any(k != "org_slug" and k not in KWARG_VALUES for k in self.kwargs)

    def object_for(self, kwarg: str) -> str:
        if kwarg == "pk":
            base = self.name.rsplit("-", 1)[0]
            if base not in API_PK_OBJECTS:
                raise AssertionError(f"{self.name}: add its `pk` object to API_PK_OBJECTS")
            return API_PK_OBJECTS[base]
        if kwarg not in KWARG_OBJECTS:
            raise AssertionError(f"{self.name}: add the URL kwarg {kwarg!r} to KWARG_OBJECTS")
        return KWARG_OBJECTS[kwarg]

    def url(self, org_slug: str, side: Side) -> str:
        kwargs = {"org_slug": org_slug}
        for kwarg in self.kwargs:
            if kwarg in KWARG_VALUES:
                kwargs[kwarg] = KWARG_VALUES[kwarg]
            elif kwarg != "org_slug":
                kwargs[kwarg] = getattr(side, self.object_for(kwarg)).pk
        return reverse(self.name, kwargs=kwargs)


def _walk(patterns, namespace: str = "", kwargs: tuple[str, ...] = ()):
    for entry in patterns:
        converters = tuple(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, ns, kwargs + converters)
        elif isinstance(entry, URLPattern) and entry.name:
            yield Route(f"{namespace}{entry.name}", kwargs + converters)


ROUTES = sorted(set(_walk(get_resolver().url_patterns)), key=lambda r: r.name)
# django-allauth's pages (sign-in, reset, e-mail, password, two-factor, sessions): each
# concerns only the person signed in, or the holder of a link sent to them.
ALLAUTH = {r.name for r in _walk(get_resolver("allauth.urls").url_patterns)}
TENANT_ROUTES = [r for r in ROUTES if "org_slug" in r.kwargs]


def test_every_pattern_is_either_tenant_scoped_or_known():
    unscoped = {r.name for r in ROUTES if "org_slug" not in r.kwargs} - ALLAUTH
    assert unscoped == NON_TENANT, (
        "A URL pattern outside /o/<org_slug>/ must be added to NON_TENANT deliberately"
    )
    for route in TENANT_ROUTES:
        for kwarg in route.kwargs:
            if kwarg != "org_slug" and kwarg not in KWARG_VALUES:
                route.object_for(kwarg)  # raises for an unknown kwarg


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.name in ALLAUTH and not r.kwargs], ids=lambda r: r.name
)
def test_account_pages_answer_an_outsider_without_an_error_or_anyone_elses_data(
    client, world: World, route: Route
):
    """Signed out: a form, a redirect to sign in, or a refusal; never a 500, never data."""
    response = client.get(reverse(route.name))
    assert response.status_code in {200, 302, 400, 403, 404, 405}, response.status_code
    text = response.content.decode()
    for user in world.members().values():
        assert user.email not in text


def _login(client, user):
    client.force_login(user)
    return client


def _assert_404(client, url: str, who: str) -> None:
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        assert response.status_code == 404, f"{who} {method.upper()} {url} → {response.status_code}"


@pytest.mark.parametrize("route", TENANT_ROUTES, ids=lambda r: r.name)
def test_other_organisation_is_404_for_every_role(client, world: World, route: Route):
    # A member of another organisation, with ids of this organisation's objects.
    _login(client, world.charlie)
    _assert_404(client, route.url(world.org.slug, world.mine), "charlie (other tenant)")
    # ...and with his own organisation's slug but our ids.
    if route.names_objects:
        _assert_404(client, route.url(world.other_org.slug, world.mine), "charlie (own slug)")
    # Every role of this organisation, with ids of the other organisation's objects.
    if route.names_objects:
        for name, user in world.members().items():
            _login(client, user)
            _assert_404(client, route.url(world.org.slug, world.foreign), name)


@pytest.mark.parametrize(
    "route", [r for r in TENANT_ROUTES if r.names_objects], ids=lambda r: r.name
)
def test_other_vendor_in_same_organisation_is_404(client, world: World, route: Route):
    _login(client, world.vic)
    _assert_404(client, route.url(world.org.slug, world.theirs), "vic (other vendor)")


@pytest.mark.parametrize("route", TENANT_ROUTES, ids=lambda r: r.name)
def test_own_objects_are_reachable(client, world: World, route: Route):
    """The control: the same URLs with visible objects are not 404."""
    _login(client, world.alice)
    response = client.get(route.url(world.org.slug, world.mine))
    assert response.status_code in {200, 302, 405}, f"{route.name} → {response.status_code}"


@pytest.mark.parametrize("route", TENANT_ROUTES, ids=lambda r: r.name)
def test_anonymous_is_sent_to_login(client, world: World, route: Route):
    url = route.url(world.org.slug, world.mine)
    response = client.get(url)
    if route.is_api:
        assert response.status_code == 401
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_inactive_membership_is_404(client, world: World):
    membership = world.bob.memberships.get()
    membership.is_active = False
    membership.save()
    _login(client, world.bob)
    assert client.get(reverse("contracts:portfolio", args=[world.org.slug])).status_code == 404


def test_vendor_user_cannot_edit_own_contract(client, world: World):
    """Visible but read-only: an honest 403, since the contract is theirs to see."""
    _login(client, world.vic)
    url = reverse("contracts:contract_edit", args=[world.org.slug, world.mine.contract.pk])
    assert client.get(url).status_code == 403
    assert (
        client.get(
            reverse("contracts:contract", args=[world.org.slug, world.mine.contract.pk])
        ).status_code
        == 200
    )


LIST_ROUTES = [r for r in TENANT_ROUTES if r.is_api and r.name.endswith("-list")]


@pytest.mark.parametrize("route", LIST_ROUTES, ids=lambda r: r.name)
def test_api_lists_show_a_vendor_token_nothing_of_other_vendors(world: World, route: Route):
    from rest_framework.test import APIClient

    from slagov.services import api_token_create

    _, key = api_token_create(
        organization=world.org,
        actor=world.vic,
        membership=world.vic.memberships.get(),
        name="lists",
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = api.get(route.url(world.org.slug, world.mine))
    assert response.status_code == 200
    text = response.content.decode()
    for side in (world.theirs, world.foreign):
        assert side.contract.reference not in text
        assert side.vendor.name not in text
