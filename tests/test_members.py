"""
Organisation admins run their own people: invitations (signed, expiring,
single-use links through the outbox), roles, deactivation that bites at once,
hand-over, vendor leads, and the audit log with its CSV export.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from slagov import members
from slagov.models import ApiToken, AuditEvent, Invitation, Membership
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db
User = get_user_model()


def _invite(client, world: World, email: str, role="vendor", vendor=None, capture=None):
    client.force_login(world.alice)
    data = {"email": email, "role": role}
    if vendor is not None:
        data["vendor"] = vendor.pk
    return client.post(reverse("members", args=[world.org.slug]), data)


def _link(mail) -> str:
    (url,) = set(re.findall(r"http://\S+/invite/[^/\s]+/", mail.body))
    return url.split("testserver", 1)[-1] if "testserver" in url else "/" + url.split("/", 3)[3]


def _deliver() -> None:
    """What the worker does after the request's commit: empty the outbox."""
    from escalations.tasks import send_notifications

    send_notifications()


def _sent_invite(client, world, mailoutbox, django_capture_on_commit_callbacks, email, **kw):
    response = _invite(client, world, email, vendor=kw.pop("vendor", world.mine.vendor), **kw)
    assert response.status_code == 302, response.content.decode()[:2000]
    _deliver()
    mail = [m for m in mailoutbox if m.to == [email]][-1]
    return mail, _link(mail)


def test_an_invited_vendor_user_sets_a_password_and_sees_only_their_vendor(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    mail, link = _sent_invite(client, world, mailoutbox, django_capture_on_commit_callbacks,
                              "Nora@Mine.example")  # fmt: skip
    assert "invites you to Acme Corp" in mail.body
    assert "vendor user of Vendor Mine" in mail.body
    client.logout()
    page = client.get(link)
    assert page.status_code == 200
    assert "Choose the password and join" in page.content.decode()
    weak = client.post(link, {"first_name": "Nora", "last_name": "N", "password1": "abc",
                              "password2": "abc"})  # fmt: skip
    assert weak.status_code == 200
    assert "too short" in weak.content.decode()
    assert not User.objects.filter(email__iexact="nora@mine.example").exists()  # nothing half-made
    phrase = "a long pass phrase 42"
    joined = client.post(link, {"first_name": "Nora", "last_name": "Nguyen",
                                "password1": phrase, "password2": phrase})  # fmt: skip
    assert joined.status_code == 302
    assert joined["Location"] == reverse("metrics:submissions", args=[world.org.slug])
    nora = User.objects.get(email="Nora@Mine.example")
    assert nora.check_password(phrase)
    membership = Membership.objects.get(user=nora, organization=world.org)
    assert (membership.role, membership.vendor_id) == ("vendor", world.mine.vendor.pk)
    portfolio = client.get(reverse("contracts:portfolio", args=[world.org.slug])).content.decode()
    assert world.mine.contract.reference in portfolio
    assert world.theirs.contract.reference not in portfolio
    # Single use: the same link again says so and creates nothing.
    client.logout()
    again = client.get(link)
    assert again.status_code == 410
    assert "already accepted" in again.content.decode()


def test_a_resent_invitation_voids_the_old_link_and_a_withdrawn_or_expired_one_works_no_more(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    _, first = _sent_invite(client, world, mailoutbox, django_capture_on_commit_callbacks,
                            "pat@mine.example")  # fmt: skip
    invitation = Invitation.objects.get(email="pat@mine.example")
    action = reverse("invitation_action", args=[world.org.slug, invitation.pk])
    client.post(action, {"action": "resend"})
    _deliver()
    second = _link([m for m in mailoutbox if m.to == ["pat@mine.example"]][-1])
    assert second != first
    client.logout()
    assert client.get(first).status_code == 410
    assert "newer one was sent" in client.get(first).content.decode()
    assert client.get(second).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        expired = client.get(second)
    assert expired.status_code == 410
    assert "expired" in expired.content.decode()
    client.force_login(world.alice)
    client.post(action, {"action": "revoke"})
    client.logout()
    assert "withdrawn" in client.get(second).content.decode()
    assert client.get("/invite/not-a-token/").status_code == 410
    assert client.get(second[:-5] + "xxxx/").status_code == 410  # tampered


def test_someone_with_a_login_elsewhere_signs_in_and_accepts_one_person_two_organisations(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    elsewhere = factories.UserFactory(username="zoe", email="zoe@mine.example")
    factories.MembershipFactory(organization=world.other_org, user=elsewhere, role="leadership")
    _, link = _sent_invite(client, world, mailoutbox, django_capture_on_commit_callbacks,
                           "ZOE@mine.example")  # fmt: skip
    client.logout()
    page = client.get(link).content.decode()
    assert "has a slagov login already" in page
    assert "Choose the password" not in page
    client.force_login(world.bob)  # someone else: refused, nothing joined
    assert "not as ZOE@mine.example" in client.get(link).content.decode()
    client.post(link)
    assert not Membership.objects.filter(user=elsewhere, organization=world.org).exists()
    client.force_login(elsewhere)
    accepted = client.post(link)
    assert accepted.status_code == 302
    assert set(elsewhere.memberships.values_list("organization__slug", flat=True)) == {
        world.org.slug, world.other_org.slug,
    }  # fmt: skip


def test_an_invitation_is_refused_for_a_member_a_pending_address_and_an_impossible_role(
    client, world
):
    member = _invite(client, world, world.bob.email, role="leadership")
    assert "belongs to a member already" in member.content.decode()
    assert _invite(client, world, "new@x.example", role="leadership").status_code == 302
    twice = _invite(client, world, "NEW@x.example", role="leadership")  # a double click
    assert "is pending" in twice.content.decode()
    no_vendor = _invite(client, world, "v@x.example", role="vendor")
    assert "belongs to a vendor" in no_vendor.content.decode()
    foreign = _invite(client, world, "f@x.example", vendor=world.foreign.vendor)
    assert "Select a valid choice" in foreign.content.decode()  # another tenant's vendor
    with scopes_disabled():
        assert (
            Invitation.objects.filter(organization=world.org, email__iexact="new@x.example").count()
            == 1
        )


def test_only_admins_and_vendor_leads_invite_and_a_lead_only_colleagues(client, world):
    for user in (world.bob, world.lena, world.vic):
        client.force_login(user)
        assert client.get(reverse("members", args=[world.org.slug])).status_code == 403
    vic = world.vic.memberships.get()
    vic.vendor_lead = True
    vic.save()
    client.force_login(world.vic)
    page = client.get(reverse("members", args=[world.org.slug])).content.decode()
    assert "olly" not in page  # another vendor's user is not listed
    admin_try = client.post(reverse("members", args=[world.org.slug]),
                            {"email": "boss@x.example", "role": "admin"})  # fmt: skip
    assert "Select a valid choice" in admin_try.content.decode()
    with pytest.raises(PermissionDenied):
        members.invitation_create(organization=world.org, inviter=vic, email="o@x.example",
                                  role="vendor", vendor=world.theirs.vendor)  # fmt: skip
    ok = client.post(reverse("members", args=[world.org.slug]),
                     {"email": "colleague@mine.example", "role": "vendor",
                      "vendor": world.mine.vendor.pk})  # fmt: skip
    assert ok.status_code == 302


def test_deactivation_ends_pages_tokens_and_mail_at_once_and_reactivation_restores(client, world):
    from escalations.notify import Recipients

    vic_client = type(client)()
    vic_client.force_login(world.vic)
    portfolio = reverse("contracts:portfolio", args=[world.org.slug])
    assert vic_client.get(portfolio).status_code == 200
    api = factories_token(world)
    assert api.get(f"/api/v1/o/{world.org.slug}/contracts/").status_code == 200
    membership = world.vic.memberships.get()
    client.force_login(world.alice)
    client.post(reverse("member_deactivate", args=[world.org.slug, membership.pk]))
    membership.refresh_from_db()
    assert membership.is_active is False
    # The open session: vic has no other organisation, so the login itself is off.
    assert vic_client.get(portfolio).status_code == 302
    assert api.get(f"/api/v1/o/{world.org.slug}/contracts/").status_code == 401
    assert not ApiToken.objects.filter(membership=membership, revoked_at__isnull=True).exists()
    with scopes_disabled():
        vendor_side = Recipients(world.org.pk).vendor_side(world.mine.contract)
    assert world.vic.email.lower() not in vendor_side
    client.post(reverse("member_deactivate", args=[world.org.slug, membership.pk]),
                {"reactivate": "1"})  # fmt: skip
    vic_client.force_login(world.vic)
    assert vic_client.get(portfolio).status_code == 200
    assert api.get(f"/api/v1/o/{world.org.slug}/contracts/").status_code == 401  # stays revoked
    actions = list(
        AuditEvent.objects.filter(organization=world.org).values_list("action", flat=True)
    )
    assert "member deactivated" in actions
    assert "member reactivated" in actions


def factories_token(world):
    from tests.conftest import token_client

    return token_client(world.org, world.vic)


def test_a_member_of_two_organisations_deactivated_in_one_keeps_the_other(client, world):
    factories.MembershipFactory(organization=world.other_org, user=world.bob, role="leadership")
    client.force_login(world.alice)
    client.post(
        reverse(
            "member_deactivate",
            args=[world.org.slug, world.bob.memberships.get(organization=world.org).pk],
        )
    )
    bob = type(client)()
    bob.force_login(world.bob)
    assert bob.get(reverse("contracts:portfolio", args=[world.org.slug])).status_code == 404
    assert bob.get(reverse("contracts:portfolio", args=[world.other_org.slug])).status_code == 200


def test_the_last_admin_stays_an_admin(client, world):
    alice = world.alice.memberships.get()
    client.force_login(world.alice)
    response = client.post(
        reverse("member_deactivate", args=[world.org.slug, alice.pk]), follow=True
    )
    assert "last admin" in response.content.decode()
    changed = client.post(
        reverse("member", args=[world.org.slug, alice.pk]), {"role": "leadership"}
    )
    assert "last admin stays an admin" in changed.content.decode()
    alice.refresh_from_db()
    assert (alice.is_active, alice.role) == (True, "admin")


def test_role_changes_apply_at_the_next_click_and_a_vendor_role_needs_its_vendor(client, world):
    lena = world.lena.memberships.get()
    client.force_login(world.alice)
    url = reverse("member", args=[world.org.slug, lena.pk])
    refused = client.post(url, {"role": "vendor"})
    assert "belongs to a vendor" in refused.content.decode()
    client.post(url, {"role": "vendor", "vendor": world.theirs.vendor.pk})
    lena_client = type(client)()
    lena_client.force_login(world.lena)
    page = lena_client.get(reverse("contracts:portfolio", args=[world.org.slug])).content.decode()
    assert world.theirs.contract.reference in page
    assert world.mine.contract.reference not in page


def test_what_a_departing_member_owns_is_listed_and_handed_over(client, world):
    with scopes_disabled():
        contract = world.mine.contract
        contract.owner = world.bob
        contract.save()
        item = world.mine.action_item
        item.owner, item.owner_side = world.bob, "customer"
        item.save()
    bob = world.bob.memberships.get()
    client.force_login(world.alice)
    page = client.get(reverse("member", args=[world.org.slug, bob.pk])).content.decode()
    assert contract.reference in page
    assert item.title in page
    to = world.alice.memberships.get()
    client.post(reverse("member_handover", args=[world.org.slug, bob.pk]), {"to": to.pk})
    with scopes_disabled():
        contract.refresh_from_db()
        item.refresh_from_db()
    assert contract.owner_id == item.owner_id == world.alice.pk
    with scopes_disabled():
        assert item.events.filter(message__icontains="owner").exists()  # its own history says so


def test_the_audit_log_shows_who_changed_what_filters_and_exports_formula_safe(client, world):
    with scopes_disabled():
        vendor = world.mine.vendor
        vendor.name = '=HYPERLINK("http://evil.example")'
        vendor._history_user = world.bob
        vendor.save()
    lena = world.lena.memberships.get()
    client.force_login(world.alice)
    client.post(reverse("member_deactivate", args=[world.org.slug, lena.pk]))
    page = client.get(reverse("audit", args=[world.org.slug])).content.decode()
    assert "member deactivated" in page
    assert "HYPERLINK" in page
    only_vendors = client.get(reverse("audit", args=[world.org.slug]), {"object_type": "vendor"})
    text = only_vendors.content.decode()
    assert "HYPERLINK" in text
    assert "member deactivated" not in text
    by_name = client.get(reverse("audit", args=[world.org.slug]), {"q": "hyperlink"})
    assert "HYPERLINK" in by_name.content.decode()
    assert "member deactivated" not in by_name.content.decode()
    by_member = client.get(reverse("audit", args=[world.org.slug]), {"q": "lena"})
    assert "member deactivated" in by_member.content.decode()
    by_name = client.get(reverse("audit", args=[world.org.slug]), {"q": "hyperlink"})
    assert "HYPERLINK" in by_name.content.decode()
    assert "member deactivated" not in by_name.content.decode()
    by_member = client.get(reverse("audit", args=[world.org.slug]), {"q": "lena"})
    assert "member deactivated" in by_member.content.decode()
    by_bob = client.get(reverse("audit", args=[world.org.slug]), {"person": world.bob.pk})
    assert "member deactivated" not in by_bob.content.decode()
    export = client.get(reverse("audit_csv", args=[world.org.slug]), {"object_type": "vendor"})
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0] == ["when", "person", "action", "what", "object", "detail"]
    changed = [r for r in rows[1:] if r[2] == "changed"]
    assert changed[0][4].startswith("'=HYPERLINK")  # shown as text in a spreadsheet
    assert changed[0][1] == "bob"
    for user in (world.bob, world.lena, world.vic):
        client.force_login(user)
        # lena, deactivated above, has no login any more: sent to sign in
        assert client.get(reverse("audit", args=[world.org.slug])).status_code in {302, 403}
    client.force_login(world.charlie)  # another organisation's admin
    assert client.get(reverse("audit", args=[world.org.slug])).status_code == 404


def test_the_audit_log_of_one_organisation_shows_nothing_of_another(client, world):
    with scopes_disabled():
        foreign = world.foreign.vendor
        foreign.name = "Foreign Renamed"
        foreign.save()
    client.force_login(world.alice)
    page = client.get(reverse("audit", args=[world.org.slug])).content.decode()
    assert "Foreign Renamed" not in page
    assert "Vendor Foreign" not in page


def test_invitation_tokens_are_signed_and_name_their_nonce(world):
    invitation = world.mine.invitation
    token = members.invitation_token(invitation)
    assert members.invitation_for_token(token).invitation == invitation
    forged = members.invitation_token(Invitation(pk=invitation.pk, nonce="0" * 32))
    assert members.invitation_for_token(forged).invitation is None
    with pytest.raises(ValidationError):
        members.invitation_accept(token=token[:-2] + "xx", new_user={})


# --- Over the API ---------------------------------------------------------------------------


def _api(world, user):
    from tests.conftest import token_client

    return token_client(world.org, user)


def test_admins_invite_and_deactivate_over_the_api_and_others_see_only_themselves(world):
    api = _api(world, world.alice)
    base = f"/api/v1/o/{world.org.slug}"
    listed = api.get(f"{base}/members/").json()["results"]
    assert {m["username"] for m in listed} == {"alice", "bob", "lena", "vic", "olly"}
    invite = {"email": "api@mine.example", "role": "vendor", "vendor": world.mine.vendor.pk}
    created = api.post(f"{base}/invitations/", invite, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["state"] == "pending"
    again = api.post(f"{base}/invitations/", invite, format="json")  # a retry
    assert again.status_code == 400
    assert "pending" in again.json()["email"][0]
    resent = api.post(f"{base}/invitations/{created.json()['id']}/resend/")
    assert resent.json()["sends"] == 2
    assert api.delete(f"{base}/invitations/{created.json()['id']}/").status_code == 204
    with scopes_disabled():
        assert Invitation.objects.get(email="api@mine.example").state == "revoked"
    vic = world.vic.memberships.get()
    vic_api = _api(world, world.vic)
    assert vic_api.get(f"{base}/contracts/").status_code == 200
    off = api.patch(f"{base}/members/{vic.pk}/", {"is_active": False}, format="json")
    assert off.status_code == 200
    assert off.json()["is_active"] is False
    assert vic_api.get(f"{base}/contracts/").status_code == 401  # at once
    lena = world.lena.memberships.get()
    last_admin = api.patch(f"{base}/members/{world.alice.memberships.get().pk}/",
                           {"role": "leadership"}, format="json")  # fmt: skip
    assert last_admin.status_code == 400
    lena_api = _api(world, world.lena)
    mine = lena_api.get(f"{base}/members/").json()["results"]
    assert [m["username"] for m in mine] == ["lena"]
    assert lena_api.get(f"{base}/invitations/").json()["results"] == []
    refused = lena_api.patch(f"{base}/members/{lena.pk}/", {"role": "admin"}, format="json")
    assert refused.status_code == 403
    assert lena_api.get(f"{base}/members/{vic.pk}/").status_code == 404


def test_inviting_an_address_with_a_login_elsewhere_reads_like_any_other_address(client, world):
    elsewhere = factories.UserFactory(username="known", email="known@x.example")
    factories.MembershipFactory(organization=world.other_org, user=elsewhere, role="admin")
    client.force_login(world.alice)
    url = reverse("members", args=[world.org.slug])
    said = []
    for email in ("known@x.example", "unknown@x.example"):
        response = client.post(url, {"email": email, "role": "leadership"}, follow=True)
        (message,) = [str(m) for m in response.context["messages"]]
        said.append(message.replace(email, "<address>"))
    assert said[0] == said[1]


def test_an_invitee_whose_address_is_someone_elses_sign_in_name_still_joins(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    factories.UserFactory(username="taken@mine.example", email="other@elsewhere.example")
    _, link = _sent_invite(client, world, mailoutbox, django_capture_on_commit_callbacks,
                           "taken@mine.example")  # fmt: skip
    client.logout()
    phrase = "a long pass phrase 43"
    joined = client.post(link, {"first_name": "T", "last_name": "K", "password1": phrase,
                                "password2": phrase})  # fmt: skip
    assert joined.status_code == 302
    user = User.objects.get(email="taken@mine.example")
    assert user.username == "taken@mine.example-2"
