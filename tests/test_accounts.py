"""
Accounts on django-allauth as a person meets them: sign in with a username or
an address, password reset and change, e-mail change verified, two-factor
sign-in (an authenticator app and recovery codes) that an organisation can
require, own sessions, landing by role; and nothing that tells an outsider
which addresses or usernames exist.
"""

from __future__ import annotations

import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
)
from django.contrib.auth import get_user_model
from django.urls import reverse
from django_scopes import scopes_disabled

from escalations import notify
from escalations.models import Notification
from slagov.accounts import current_counter
from slagov.models import Organization
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db
User = get_user_model()


def _sign_in(client, login: str, password: str = factories.PASSWORD):
    return client.post(reverse("login"), {"login": login, "password": password})


def _code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, current_counter()))


def _link(mail) -> str:
    (url,) = re.findall(r"https?://testserver(/\S+)", mail.body)
    return url


def _enrol(client, password: str = factories.PASSWORD) -> str:
    """
    Set up an authenticator app from the activation page (confirming the password
    first, as django-allauth asks before any two-factor change); returns its secret.
    """
    page = client.get(reverse("mfa_activate_totp"))
    if page.status_code == 302 and page["Location"].startswith(reverse("account_reauthenticate")):
        confirmed = client.post(page["Location"], {"password": password})
        assert confirmed.status_code == 302, confirmed.content.decode()[:500]
        page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200, page.status_code
    secret = page.context["form"].secret
    done = client.post(reverse("mfa_activate_totp"), {"code": _code(secret)})
    assert done.status_code == 302, done.content.decode()[:500]
    return secret


def test_sign_in_with_a_username_or_an_address_and_land_by_role(client, world: World):
    assert _sign_in(client, "bob").status_code == 302
    assert client.get(reverse("home"))["Location"] == reverse(
        "contracts:portfolio", args=[world.org.slug]
    )
    client.logout()
    assert _sign_in(client, world.lena.email.upper()).status_code == 302  # the address
    assert client.get(reverse("home"))["Location"] == reverse(
        "escalations:leadership", args=[world.org.slug]
    )
    client.logout()
    _sign_in(client, "vic")
    assert client.get(reverse("home"))["Location"] == reverse(
        "metrics:submissions", args=[world.org.slug]
    )


def test_a_member_of_two_organisations_returns_to_the_one_last_opened(client, world: World):
    factories.MembershipFactory(organization=world.other_org, user=world.bob, role="leadership")
    _sign_in(client, "bob")
    assert client.get(reverse("home"))["Location"] == reverse("organizations")
    client.get(reverse("escalations:leadership", args=[world.other_org.slug]))
    client.post(reverse("logout"))  # signing out keeps the browser's other cookies
    _sign_in(client, "bob")  # the same browser, another day
    assert client.get(reverse("home"))["Location"] == reverse(
        "escalations:leadership", args=[world.other_org.slug]
    )


def test_a_wrong_password_and_an_unknown_user_read_the_same(client, world: World):
    wrong = _sign_in(client, "bob", "not the password").content.decode()
    unknown = _sign_in(client, "nobody-here", "not the password").content.decode()
    said = [re.findall(r'<ul class="errorlist" id="login-errors">(.*?)</ul>', t, re.S)
            for t in (wrong, unknown)]  # fmt: skip
    assert said[0]
    assert said[0] == said[1]


def test_password_reset_by_mail_says_nothing_about_which_addresses_exist(
    client, world: World, mailoutbox
):
    reset = reverse("account_reset_password")
    known = client.post(reset, {"email": world.bob.email})
    unknown = client.post(reset, {"email": "stranger@nowhere.example"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    # Through the outbox, like every e-mail: a row for a person, of no organisation.
    with scopes_disabled():
        (queued,) = Notification.objects.filter(kind="account", email=world.bob.email)
    assert queued.organization_id is None
    # What the worker does once the request commits (the unknown address is told too).
    assert notify.send_pending() == 2
    to_bob = [m for m in mailoutbox if m.to == [world.bob.email]]
    assert to_bob[0].extra_headers["Message-ID"] == notify.message_id(queued)
    assert notify.message_id(queued).startswith(f"<notification-account-{queued.pk}@")
    assert len(to_bob) == 1
    link = _link(to_bob[0])
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    form_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    phrase = "brand new phrase 77"
    done = client.post(form_url, {"password1": phrase, "password2": phrase})
    assert done.status_code == 302
    client.logout()
    assert _sign_in(client, "bob", factories.PASSWORD).status_code == 200  # the old one: no
    assert _sign_in(client, "bob", "brand new phrase 77").status_code == 302


def test_a_signed_in_person_changes_their_password_and_name(client, world: World):
    _sign_in(client, "bob")
    changed = client.post(reverse("account_change_password"), {
        "oldpassword": factories.PASSWORD, "password1": "another long one 5",
        "password2": "another long one 5"})  # fmt: skip
    assert changed.status_code == 302
    client.post(reverse("account"), {"first_name": "Robert", "last_name": "Brennan"})
    world.bob.refresh_from_db()
    assert world.bob.get_full_name() == "Robert Brennan"
    assert world.bob.check_password("another long one 5")


def test_a_new_address_is_used_only_once_its_owner_confirms_it(client, world: World, mailoutbox):
    _sign_in(client, "bob")
    client.post(reverse("account_email"), {"action_add": "", "email": "robert@new.example"})
    world.bob.refresh_from_db()
    assert world.bob.email != "robert@new.example"  # not yet
    notify.send_pending()
    (mail,) = [m for m in mailoutbox if m.to == ["robert@new.example"]]
    client.post(_link(mail))
    world.bob.refresh_from_db()
    assert world.bob.email == "robert@new.example"


def test_sign_up_is_closed_people_join_by_invitation(client):
    page = client.get(reverse("account_signup"))
    assert "closed" in page.content.decode().lower()
    assert not User.objects.filter(username="walkin").exists()


def test_two_factor_sign_in_with_an_app_and_with_a_recovery_code(client, world: World):
    _sign_in(client, "bob")
    secret = _enrol(client)
    codes = client.get(reverse("mfa_view_recovery_codes")).context["unused_codes"]
    assert len(codes) >= 8
    client.logout()
    first = _sign_in(client, "bob")
    assert first["Location"] == reverse("mfa_authenticate")  # the password alone is not enough
    assert client.get(reverse("contracts:portfolio", args=[world.org.slug])).status_code == 302
    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200
    assert client.post(reverse("mfa_authenticate"), {"code": _code(secret)}).status_code == 302
    assert client.get(reverse("contracts:portfolio", args=[world.org.slug])).status_code == 200
    client.logout()
    _sign_in(client, "bob")
    assert client.post(reverse("mfa_authenticate"), {"code": codes[0]}).status_code == 302
    client.logout()
    _sign_in(client, "bob")
    used = client.post(reverse("mfa_authenticate"), {"code": codes[0]})  # once only
    assert used.status_code == 200


def test_an_organisation_that_requires_two_factor_walks_its_admin_through_it(client, world):
    client.force_login(world.alice)
    client.post(reverse("organization_security", args=[world.org.slug]),
                {"mfa_required": "admins"})  # fmt: skip
    assert Organization.objects.get(pk=world.org.pk).mfa_required == "admins"
    client.force_login(world.bob)  # only an admin sets it
    assert client.post(reverse("organization_security", args=[world.org.slug]),
                       {"mfa_required": "nobody"}).status_code == 403  # fmt: skip
    client.logout()
    portfolio = reverse("contracts:portfolio", args=[world.org.slug])
    _sign_in(client, "bob")  # an account manager: not asked
    assert client.get(portfolio).status_code == 200
    client.logout()
    _sign_in(client, "alice")
    asked = client.get(portfolio)
    assert asked["Location"] == reverse("mfa_activate_totp")
    assert client.get(reverse("api-docs")).status_code == 302  # every page, until enrolled
    _enrol(client)
    assert client.get(portfolio).status_code == 200
    totp = Authenticator.objects.get(user=world.alice, type="totp")
    removed = client.post(reverse("mfa_deactivate_totp"))
    assert Authenticator.objects.filter(pk=totp.pk).exists()  # kept while required
    assert removed.status_code in {200, 302}
    Organization.objects.filter(pk=world.org.pk).update(mfa_required="all")
    client.logout()
    _sign_in(client, "lena")
    assert client.get(portfolio)["Location"] == reverse("mfa_activate_totp")


def test_a_person_sees_their_sessions_and_ends_the_others(client, world: World):
    other = type(client)()
    _sign_in(other, "bob")
    _sign_in(client, "bob")
    page = client.get(reverse("usersessions_list"))
    assert page.status_code == 200
    assert len(page.context["sessions"]) == 2
    client.post(reverse("usersessions_list"))  # "sign out the other sessions"
    assert other.get(reverse("contracts:portfolio", args=[world.org.slug])).status_code == 302
    assert client.get(reverse("contracts:portfolio", args=[world.org.slug])).status_code == 200


def test_a_code_typed_as_its_window_turns_over_still_signs_in_but_an_old_one_does_not(
    client, world: World
):
    _sign_in(client, "bob")
    secret = _enrol(client)
    now = current_counter()
    client.logout()
    _sign_in(client, "bob")
    stale = format_hotp_value(hotp_value(secret, now - 3))  # a minute and a half old
    assert client.post(reverse("mfa_authenticate"), {"code": stale}).status_code == 200
    previous = format_hotp_value(hotp_value(secret, now - 1))  # the window just gone
    assert client.post(reverse("mfa_authenticate"), {"code": previous}).status_code == 302
