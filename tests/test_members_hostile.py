"""
Hostile and clumsy use of members, invitations, accounts, two-factor and the audit
log: other tenants' and vendors' ids, replayed and tampered links, address tricks,
last-admin games, filters that should never answer 500.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from slagov import members
from slagov.models import AuditEvent, Invitation, Membership, Organization
from tests import factories
from tests.conftest import World, token_client

pytestmark = pytest.mark.django_db
User = get_user_model()
PHRASE = "a long pass phrase 91"


def _base(world: World) -> str:
    return f"/api/v1/o/{world.org.slug}"


def _membership(user, org) -> Membership:
    return Membership.objects.get(user=user, organization=org)


def _lead(world: World) -> Membership:
    vic = _membership(world.vic, world.org)
    vic.vendor_lead = True
    vic.save()
    return vic


def _invite(world: World, email: str, role="leadership", vendor=None, inviter=None):
    inviter = inviter or _membership(world.alice, world.org)
    with scopes_disabled():
        return members.invitation_create(
            organization=world.org, inviter=inviter, email=email, role=role, vendor=vendor
        )


def _link(invitation) -> str:
    invitation.refresh_from_db()
    return reverse("invitation", args=[members.invitation_token(invitation)])


def _join(client, link: str, first="New", last="Person"):
    return client.post(
        link, {"first_name": first, "last_name": last, "password1": PHRASE, "password2": PHRASE}
    )


def _sign_in(client, login: str, password: str = factories.PASSWORD):
    return client.post(reverse("login"), {"login": login, "password": password})


def _quiet(client):
    """A test client that answers 500 instead of raising (to assert on the status)."""
    client.raise_request_exception = False
    return client


# --- Other tenants' and other vendors' ids ---------------------------------------------------


def test_another_organisations_member_and_invitation_ids_are_404_on_every_page(client, world):
    charlie = _membership(world.charlie, world.other_org)
    foreign_invitation = world.foreign.invitation
    client.force_login(world.alice)
    slug = world.org.slug
    assert client.get(reverse("member", args=[slug, charlie.pk])).status_code == 404
    assert (
        client.post(reverse("member", args=[slug, charlie.pk]), {"role": "leadership"}).status_code
        == 404
    )
    assert client.post(reverse("member_deactivate", args=[slug, charlie.pk])).status_code == 404
    assert (
        client.post(
            reverse("member_handover", args=[slug, charlie.pk]),
            {"to": _membership(world.bob, world.org).pk},
        ).status_code
        == 404
    )
    for action in ("resend", "revoke"):
        response = client.post(
            reverse("invitation_action", args=[slug, foreign_invitation.pk]), {"action": action}
        )
        assert response.status_code == 404
    charlie.refresh_from_db()
    foreign_invitation.refresh_from_db()
    assert charlie.is_active
    assert charlie.role == "admin"
    assert (foreign_invitation.state, foreign_invitation.sends) == ("pending", 1)
    # Handing over to another organisation's member is refused too.
    bob = _membership(world.bob, world.org)
    client.post(reverse("member_handover", args=[slug, bob.pk]), {"to": charlie.pk})
    with scopes_disabled():
        world.mine.contract.refresh_from_db()
    assert world.mine.contract.owner_id != world.charlie.pk


def test_another_organisations_admin_gets_404_on_every_members_page(client, world):
    client.force_login(world.charlie)
    slug = world.org.slug
    alice = _membership(world.alice, world.org)
    for url in (
        reverse("members", args=[slug]),
        reverse("member", args=[slug, alice.pk]),
        reverse("audit", args=[slug]),
        reverse("audit_csv", args=[slug]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("member_deactivate", args=[slug, alice.pk])).status_code == 404
    assert (
        client.post(
            reverse("organization_security", args=[slug]), {"mfa_required": "nobody"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            reverse("invitation_action", args=[slug, world.mine.invitation.pk]),
            {"action": "revoke"},
        ).status_code
        == 404
    )
    alice.refresh_from_db()
    assert alice.is_active


def test_the_api_answers_404_for_another_organisations_members_and_invitations(world):
    api = token_client(world.org, world.alice)
    base = _base(world)
    charlie = _membership(world.charlie, world.other_org)
    foreign = world.foreign.invitation
    assert api.get(f"{base}/members/{charlie.pk}/").status_code == 404
    assert (
        api.patch(f"{base}/members/{charlie.pk}/", {"is_active": False}, format="json").status_code
        == 404
    )
    assert api.get(f"{base}/invitations/{foreign.pk}/").status_code == 404
    assert api.delete(f"{base}/invitations/{foreign.pk}/").status_code == 404
    assert api.post(f"{base}/invitations/{foreign.pk}/resend/").status_code == 404
    # Another organisation's vendor for an invitation: refused, never stored.
    made = api.post(
        f"{base}/invitations/",
        {"email": "x@f.example", "role": "vendor", "vendor": world.foreign.vendor.pk},
        format="json",
    )
    assert made.status_code == 400
    # A token of acme used on the other organisation's URL: 404.
    assert api.get(f"/api/v1/o/{world.other_org.slug}/members/").status_code == 404
    charlie.refresh_from_db()
    foreign.refresh_from_db()
    assert charlie.is_active
    assert (foreign.state, foreign.sends) == ("pending", 1)
    with scopes_disabled():
        assert not Invitation.objects.filter(email="x@f.example").exists()


def test_a_vendor_lead_sees_and_touches_only_their_vendors_people(client, world):
    _lead(world)
    olly = _membership(world.olly, world.org)
    theirs_invitation = world.theirs.invitation
    api = token_client(world.org, world.vic)
    base = _base(world)
    assert api.get(f"{base}/members/{olly.pk}/").status_code == 404
    assert api.get(f"{base}/invitations/{theirs_invitation.pk}/").status_code == 404
    assert api.delete(f"{base}/invitations/{theirs_invitation.pk}/").status_code == 404
    assert api.post(f"{base}/invitations/{theirs_invitation.pk}/resend/").status_code == 404
    client.force_login(world.vic)
    slug = world.org.slug
    assert client.get(reverse("member", args=[slug, olly.pk])).status_code == 404
    assert (
        client.post(
            reverse("invitation_action", args=[slug, theirs_invitation.pk]), {"action": "revoke"}
        ).status_code
        == 404
    )
    theirs_invitation.refresh_from_db()
    assert theirs_invitation.state == "pending"


def test_a_vendor_lead_can_not_invite_outside_their_vendor_nor_promote_anyone(world):
    vic = _lead(world)
    api = token_client(world.org, world.vic)
    base = _base(world)
    for body in (
        {"email": "boss@x.example", "role": "admin"},
        {"email": "am@x.example", "role": "account_manager"},
        {"email": "o@x.example", "role": "vendor", "vendor": world.theirs.vendor.pk},
        {"email": "f@x.example", "role": "vendor", "vendor": world.foreign.vendor.pk},
    ):
        response = api.post(f"{base}/invitations/", body, format="json")
        assert response.status_code in {400, 403}, (body, response.status_code)
    with scopes_disabled():
        assert not Invitation.objects.filter(
            email__in=["boss@x.example", "am@x.example", "o@x.example", "f@x.example"]
        ).exists()
    colleague = factories.MembershipFactory(
        organization=world.org,
        user=factories.UserFactory(username="col"),
        role="vendor",
        vendor=world.mine.vendor,
    )
    for body in ({"role": "admin", "vendor": None}, {"vendor_lead": True}, {"is_active": False}):
        response = api.patch(f"{base}/members/{colleague.pk}/", body, format="json")
        assert response.status_code == 403, (body, response.status_code)
    assert (
        api.patch(
            f"{base}/members/{vic.pk}/", {"role": "admin", "vendor": None}, format="json"
        ).status_code
        == 403
    )
    colleague.refresh_from_db()
    vic.refresh_from_db()
    assert (colleague.role, colleague.vendor_lead, colleague.is_active) == ("vendor", False, True)
    assert vic.role == "vendor"


# --- Invitation links -----------------------------------------------------------------------


def test_a_link_works_once_even_posted_twice_and_never_after_revoke_or_resend(client, world):
    invitation = _invite(world, "twice@x.example")
    link = _link(invitation)
    first = _join(client, link)
    assert first.status_code == 302
    client.logout()
    second = _join(client, link, first="Mallory")
    assert second.status_code == 410
    assert User.objects.filter(email__iexact="twice@x.example").count() == 1
    # Revoking an accepted invitation afterwards changes nothing and does not reopen it.
    invitation.refresh_from_db()
    assert invitation.state == "accepted"
    # Resend, then revoke: neither link works.
    other = _invite(world, "later@x.example")
    old = _link(other)
    with scopes_disabled():
        members.invitation_resend(
            organization=world.org, actor=_membership(world.alice, world.org), invitation=other
        )
    new = _link(other)
    assert _join(client, old).status_code == 410
    with scopes_disabled():
        members.invitation_revoke(
            organization=world.org, actor=_membership(world.alice, world.org), invitation=other
        )
    assert _join(client, new).status_code == 410
    assert not User.objects.filter(email__iexact="later@x.example").exists()


def test_an_expired_link_creates_nothing_even_by_post(client, world):
    invitation = _invite(world, "late@x.example")
    link = _link(invitation)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert _join(client, link).status_code == 410
    assert not User.objects.filter(email__iexact="late@x.example").exists()


def test_a_tampered_or_foreign_salted_token_is_refused(client, world):
    from django.core import signing

    invitation = _invite(world, "tamper@x.example")
    forged = signing.dumps([invitation.pk, invitation.nonce], compress=True)  # wrong salt
    assert _join(client, reverse("invitation", args=[forged])).status_code == 410
    assert client.get(reverse("invitation", args=["x" * 5000])).status_code == 410
    assert not User.objects.filter(email__iexact="tamper@x.example").exists()


def test_someone_signed_in_as_another_person_can_not_take_the_invitation(client, world):
    invitation = _invite(world, "target@x.example", role="admin")
    link = _link(invitation)
    client.force_login(world.olly)  # a vendor user of acme, hoping to become admin
    client.post(link)
    client.force_login(world.charlie)
    client.post(link)
    invitation.refresh_from_db()
    assert invitation.state == "pending"
    assert _membership(world.olly, world.org).role == "vendor"
    assert not Membership.objects.filter(user=world.charlie, organization=world.org).exists()


def test_an_unconfirmed_new_address_does_not_let_someone_take_its_invitation(client, world):
    invitation = _invite(world, "boss@x.example", role="admin")
    _sign_in(client, "bob")
    client.post(reverse("account_email"), {"action_add": "", "email": "boss@x.example"})
    client.post(_link(invitation))
    invitation.refresh_from_db()
    assert invitation.state == "pending"
    assert _membership(world.bob, world.org).role == "account_manager"


# --- Addresses ------------------------------------------------------------------------------


def test_case_and_spaces_do_not_make_a_second_invitation_or_invite_a_member(world):
    api = token_client(world.org, world.alice)
    base = _base(world)
    member = api.post(
        f"{base}/invitations/",
        {"email": f"  {world.bob.email.upper()} ", "role": "leadership"},
        format="json",
    )
    assert member.status_code == 400
    assert (
        api.post(
            f"{base}/invitations/",
            {"email": " Pat@X.example ", "role": "leadership"},
            format="json",
        ).status_code
        == 201
    )
    again = api.post(
        f"{base}/invitations/", {"email": "pat@x.EXAMPLE", "role": "admin"}, format="json"
    )
    assert again.status_code == 400
    with scopes_disabled():
        (pat,) = Invitation.objects.filter(organization=world.org, email__iexact="pat@x.example")
    assert pat.email == "Pat@X.example"  # stored without the spaces


def test_the_longest_valid_address_is_invited_and_joins(client, world):
    local = "a" * 64
    domain = ".".join(["b" * 63, "c" * 63, "d" * 53, "example"])
    email = f"{local}@{domain}"
    assert len(email) == 254
    client.force_login(world.alice)
    response = client.post(
        reverse("members", args=[world.org.slug]), {"email": email, "role": "leadership"}
    )
    assert response.status_code == 302, response.content.decode()[:1000]
    with scopes_disabled():
        invitation = Invitation.objects.get(email=email)
    client.logout()
    joined = _join(client, _link(invitation))
    assert joined.status_code == 302
    user = User.objects.get(email=email)
    assert len(user.username) <= 150
    assert _membership(user, world.org).role == "leadership"
    # The audit row says who joined, cut to size rather than failing.
    assert AuditEvent.objects.filter(organization=world.org, action="invitation accepted").exists()


def test_an_international_domain_address_is_invited_and_joins(client, world):
    email = "jürgen@bücher.example"
    invitation = _invite(world, "jurgen@xn--bcher-kva.example")
    joined = _join(client, _link(invitation))
    assert joined.status_code == 302
    client.logout()
    client.force_login(world.alice)
    response = client.post(
        reverse("members", args=[world.org.slug]), {"email": email, "role": "leadership"}
    )
    assert response.status_code in {200, 302}  # a clear answer either way, never a 500


def test_an_address_that_is_another_persons_username_can_not_sign_in_as_them(client, world):
    # The invitee's sign-in name is taken (someone's username is this address).
    factories.UserFactory(username="same@x.example", email="other@elsewhere.example")
    invitation = _invite(world, "same@x.example")
    _join(client, _link(invitation))
    client.logout()
    newcomer = User.objects.get(email="same@x.example")
    assert _sign_in(client, "same@x.example", PHRASE).status_code == 302
    assert int(client.session["_auth_user_id"]) == newcomer.pk
    client.logout()
    # The other person still signs in with their own password, as themselves.
    assert _sign_in(client, "same@x.example", factories.PASSWORD).status_code == 302
    assert int(client.session["_auth_user_id"]) != newcomer.pk


# --- Enumeration ---------------------------------------------------------------------------


def test_the_invitation_page_says_nothing_about_an_address_it_does_not_name(client, world):
    invitation = _invite(world, "who@x.example")
    page = client.get(_link(invitation)).content.decode()
    assert world.bob.email not in page
    assert "bob" not in page.lower()


def test_a_locked_out_known_and_unknown_login_read_the_same(client, world, settings):
    settings.AXES_FAILURE_LIMIT = 2
    said = []
    for login in ("bob", "nobody-here"):
        for _ in range(3):
            response = _sign_in(client, login, "wrong password here")
        said.append((response.status_code, response.content.decode().replace(login, "<x>")))
    assert said[0][0] == said[1][0]


# --- Last admin -----------------------------------------------------------------------------


def test_the_last_admin_survives_every_api_path(world):
    api = token_client(world.org, world.alice)
    base = _base(world)
    alice = _membership(world.alice, world.org)
    for body in (
        {"is_active": False},
        {"role": "leadership"},
        {"role": "vendor", "vendor": world.mine.vendor.pk},
        {"role": "admin", "is_active": False},
    ):
        response = api.patch(f"{base}/members/{alice.pk}/", body, format="json")
        assert response.status_code == 400, (body, response.status_code)
    alice.refresh_from_db()
    assert (alice.role, alice.is_active) == ("admin", True)


def test_two_admins_deactivating_each_other_leave_one_admin(client, world):
    dana = factories.UserFactory(username="dana")
    dana_m = factories.MembershipFactory(organization=world.org, user=dana, role="admin")
    alice = _membership(world.alice, world.org)
    with scopes_disabled():
        members.member_deactivate(organization=world.org, actor=alice, membership=dana_m)
    dana_m.refresh_from_db()
    dana_client = type(client)()
    dana_client.force_login(dana)
    assert dana_client.post(
        reverse("member_deactivate", args=[world.org.slug, alice.pk])
    ).status_code in {302, 404}
    alice.refresh_from_db()
    assert alice.is_active
    # Dana's (stale) membership object can't be used to act either.
    with pytest.raises((PermissionDenied, ValidationError)), scopes_disabled():
        members.member_deactivate(organization=world.org, actor=dana_m, membership=alice)
    alice.refresh_from_db()
    assert alice.is_active


def test_a_deactivated_admins_stale_membership_can_not_act_through_services(world):
    """A service given an inactive actor (e.g. a long request) refuses, like the pages do."""
    dana = factories.UserFactory(username="dana")
    dana_m = factories.MembershipFactory(organization=world.org, user=dana, role="admin")
    alice = _membership(world.alice, world.org)
    with scopes_disabled():
        members.member_deactivate(organization=world.org, actor=alice, membership=dana_m)
    dana_m.refresh_from_db()
    bob = _membership(world.bob, world.org)
    with pytest.raises((PermissionDenied, ValidationError)), scopes_disabled():
        members.member_change(organization=world.org, actor=dana_m, membership=bob, role="admin")
    bob.refresh_from_db()
    assert bob.role == "account_manager"


# --- Deactivated people ---------------------------------------------------------------------


def test_a_person_deactivated_elsewhere_can_still_join_by_invitation(client, world):
    """
    Dave's only membership (other_org) was deactivated, which disabled his login.
    Acme invites his address: the link must lead somewhere that works, not a dead end
    ("sign in" with a login that is switched off).
    """
    dave = factories.UserFactory(username="dave", email="dave@x.example")
    dave_other = factories.MembershipFactory(
        organization=world.other_org, user=dave, role="leadership"
    )
    with scopes_disabled():
        members.member_deactivate(
            organization=world.other_org,
            actor=_membership(world.charlie, world.other_org),
            membership=dave_other,
        )
    dave.refresh_from_db()
    assert dave.is_active is False
    invitation = _invite(world, "dave@x.example")
    link = _link(invitation)
    page = client.get(link).content.decode()
    if "Choose the password" in page:
        _join(client, link)
    else:  # told to sign in with the login the address has: try it
        _sign_in(client, "dave@x.example")
        client.post(link)
    assert Membership.objects.filter(
        user__email="dave@x.example", organization=world.org, is_active=True
    ).exists()


def test_a_deactivated_vendor_leads_pending_invitations_no_longer_let_people_in(client, world):
    vic = _lead(world)
    invitation = _invite(
        world, "friend@x.example", role="vendor", vendor=world.mine.vendor, inviter=vic
    )
    link = _link(invitation)
    with scopes_disabled():
        members.member_deactivate(
            organization=world.org, actor=_membership(world.alice, world.org), membership=vic
        )
    _join(client, link)
    assert not Membership.objects.filter(user__email="friend@x.example").exists()


def test_a_deactivated_persons_session_and_token_stop_at_once_on_the_api(client, world):
    api = token_client(world.org, world.bob)
    session = type(client)()
    session.force_login(world.bob)
    base = _base(world)
    assert session.get(f"{base}/members/").status_code == 200
    admin = token_client(world.org, world.alice)
    bob = _membership(world.bob, world.org)
    assert (
        admin.patch(f"{base}/members/{bob.pk}/", {"is_active": False}, format="json").status_code
        == 200
    )
    assert api.get(f"{base}/members/").status_code == 401
    assert session.get(f"{base}/members/").status_code in {401, 403}


# --- Withdrawing and resending what is already over -----------------------------------------


def test_withdrawing_an_accepted_invitation_does_not_claim_it_was_withdrawn(client, world):
    invitation = _invite(world, "quick@x.example", role="admin")
    _join(type(client)(), _link(invitation))  # the invitee accepts first
    api = token_client(world.org, world.alice)
    response = api.delete(f"{_base(world)}/invitations/{invitation.pk}/")
    invitation.refresh_from_db()
    assert invitation.state == "accepted"
    assert response.status_code == 400, "204 tells the admin the invitation was withdrawn"
    client.force_login(world.alice)
    page = client.post(
        reverse("invitation_action", args=[world.org.slug, invitation.pk]),
        {"action": "revoke"},
        follow=True,
    )
    said = " ".join(str(m) for m in page.context["messages"])
    assert "was withdrawn" not in said


def test_resending_an_accepted_or_withdrawn_invitation_is_refused(world):
    api = token_client(world.org, world.alice)
    base = _base(world)
    invitation = _invite(world, "r@x.example")
    _join(type(api)(), _link(invitation))
    assert api.post(f"{base}/invitations/{invitation.pk}/resend/").status_code == 400
    other = _invite(world, "w@x.example")
    assert api.delete(f"{base}/invitations/{other.pk}/").status_code == 204
    assert api.post(f"{base}/invitations/{other.pk}/resend/").status_code == 400


# --- Two-factor -----------------------------------------------------------------------------


def _require(world, who="admins"):
    Organization.objects.filter(pk=world.org.pk).update(mfa_required=who)


def test_a_person_who_must_enrol_can_not_use_the_api_with_the_session(client, world):
    _require(world)
    _sign_in(client, "alice")
    base = _base(world)
    assert client.get(f"{base}/members/").status_code != 200
    response = client.patch(
        f"{base}/members/{_membership(world.bob, world.org).pk}/",
        {"role": "admin"},
        content_type="application/json",
    )
    assert response.status_code != 200
    assert _membership(world.bob, world.org).role == "account_manager"
    for path in (
        "/admin/",
        reverse("account"),
        reverse("organizations"),
        reverse("members", args=[world.org.slug]),
    ):
        assert client.get(path).status_code in {302, 404}, path


def test_joining_an_organisation_that_requires_two_factor_asks_for_it_at_once(client, world):
    """Zoe, signed in (for another organisation), accepts acme's invitation: acme wants 2FA."""
    _require(world, "all")
    zoe = factories.UserFactory(username="zoe", email="zoe@x.example")
    factories.MembershipFactory(organization=world.other_org, user=zoe, role="leadership")
    invitation = _invite(world, "zoe@x.example", role="leadership")
    _sign_in(client, "zoe")
    assert client.post(_link(invitation)).status_code == 302
    assert _membership(zoe, world.org).is_active
    page = client.get(reverse("escalations:leadership", args=[world.org.slug]))
    assert page.status_code == 302
    assert page["Location"] == reverse("mfa_activate_totp")


def test_a_new_member_who_joins_by_link_must_enrol_when_required(client, world):
    _require(world, "all")
    invitation = _invite(world, "fresh@x.example", role="leadership")
    assert _join(client, _link(invitation)).status_code == 302
    page = client.get(reverse("escalations:leadership", args=[world.org.slug]))
    assert page["Location"] == reverse("mfa_activate_totp")


def test_the_two_factor_rule_takes_only_its_own_choices_and_only_from_an_admin(client, world):
    _require(world, "admins")
    client.force_login(world.bob)
    assert (
        client.post(
            reverse("organization_security", args=[world.org.slug]), {"mfa_required": "nobody"}
        ).status_code
        == 403
    )
    from allauth.mfa.models import Authenticator

    Authenticator.objects.create(user=world.alice, type="totp", data={"secret": "x"})
    client.force_login(world.alice)  # enrolled: not sent to enrol
    response = client.post(
        reverse("organization_security", args=[world.org.slug]),
        {"mfa_required": "everyone-and-nobody"},
    )
    assert response.status_code == 302
    assert Organization.objects.get(pk=world.org.pk).mfa_required == "admins"
    assert client.get(reverse("organization_security", args=[world.org.slug])).status_code == 405


# --- Audit log ------------------------------------------------------------------------------


def _audit(client, world, **params):
    client.force_login(world.alice)
    return _quiet(client).get(reverse("audit", args=[world.org.slug]), params)


def _audit_csv(client, world, **params):
    client.force_login(world.alice)
    return _quiet(client).get(reverse("audit_csv", args=[world.org.slug]), params)


@pytest.mark.parametrize(
    "before",
    [
        "garbage",
        "2025-02-30T10:00:00",
        "2025-01-01T00:00:00+99:00",
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+05:00",
        "2025-13-01",
        "9" * 500,
    ],
)
def test_the_audit_logs_page_cursor_never_answers_500(client, world, before):
    assert _audit(client, world, before=before).status_code in {200, 400}


@pytest.mark.parametrize(
    "params",
    [
        {"day_to": "9999-12-31"},
        {"day_from": "0001-01-01"},
        {"day_from": "9999-12-31", "day_to": "9999-12-31"},
        {"q": "x" * 10_000},
        {"q": "%_\\'\"\x00"},
        {"person": "abc"},
        {"person": "99999999999999999999999"},
        {"object_type": "<script>"},
    ],
)
def test_the_audit_log_and_its_export_never_answer_500_whatever_the_filter(client, world, params):
    assert _audit(client, world, **params).status_code in {200, 400}
    assert _audit_csv(client, world, **params).status_code in {200, 400}


def _some_history(client, world):
    with scopes_disabled():
        vendor = world.mine.vendor
        vendor.name = "Renamed Vendor"
        vendor._history_user = world.bob
        vendor.save()
    lena = _membership(world.lena, world.org)
    client.force_login(world.alice)
    client.post(reverse("member_deactivate", args=[world.org.slug, lena.pk]))


def test_a_mistyped_date_range_does_not_drop_the_other_filters(client, world):
    _some_history(client, world)
    page = _audit(
        client, world, object_type="vendor", day_from="2030-01-02", day_to="2030-01-01"
    ).content.decode()
    assert "The end is before the start" in page
    assert "member deactivated" not in page  # only vendors were asked for
    export = _audit_csv(
        client, world, object_type="vendor", day_from="2030-01-02", day_to="2030-01-01"
    ).content.decode()
    rows = list(csv.reader(io.StringIO(export)))
    assert not [r for r in rows[1:] if r[3] != "vendor"], "the export ignored `What: vendors`"


def test_filtering_by_someone_of_another_organisation_shows_nobodys_entries(client, world):
    _some_history(client, world)
    page = _audit(client, world, person=str(world.charlie.pk)).content.decode()
    assert "member deactivated" not in page
    export = _audit_csv(client, world, person=str(world.charlie.pk)).content.decode()
    assert len(list(csv.reader(io.StringIO(export)))) == 1  # the header only


def test_the_audit_export_is_formula_safe_in_every_column(client, world):
    evil = "=1+2@x.example"
    invitation = _invite(world, evil)
    _join(type(client)(), _link(invitation), first="=cmd", last="-2")
    newcomer = User.objects.get(email=evil)
    with scopes_disabled():
        vendor = world.mine.vendor
        vendor.name = "@SUM(A1)"
        vendor._history_user = newcomer
        vendor.save()
    export = _audit_csv(client, world).content.decode()
    rows = list(csv.reader(io.StringIO(export)))[1:]
    assert rows
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row


def test_the_audit_log_names_no_one_of_another_organisation(client, world):
    with scopes_disabled():
        members.member_deactivate(
            organization=world.other_org,
            actor=_membership(world.charlie, world.other_org),
            membership=factories.MembershipFactory(
                organization=world.other_org,
                user=factories.UserFactory(username="secretsam"),
                role="leadership",
            ),
        )
    page = _audit(client, world).content.decode()
    export = _audit_csv(client, world).content.decode()
    for text in (page, export):
        assert "secretsam" not in text
        assert "charlie" not in text
    options = _audit(client, world).context["form"].fields["person"].choices
    assert str(world.charlie.pk) not in {value for value, _ in options}


def test_an_invitation_withdrawn_before_the_outbox_ran_is_not_mailed(world, mailoutbox):
    """A typo'd address withdrawn at once: the stranger must not get the org's invitation."""
    from escalations.tasks import send_notifications

    invitation = _invite(world, "typo@wrong.example", role="admin")
    with scopes_disabled():
        members.invitation_revoke(
            organization=world.org, actor=_membership(world.alice, world.org), invitation=invitation
        )
    send_notifications()
    assert not [m for m in mailoutbox if m.to == ["typo@wrong.example"]]
